"""Front-end files taken from npm packages (package.json): only the ones pages use are published.

`manage.py vendor_static` (run by `make install`, before collectstatic) copies them from node_modules
into VENDOR_ROOT, which settings add to STATICFILES_DIRS as `vendor/`. Nothing else of node_modules
(manifests, source maps, other builds, test tools) becomes a static file. The source-map comment is
dropped: the maps are not published, and the manifest storage would look for them.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

# name under static/vendor/  ->  file in node_modules
PAGE_FILES = {
    "chart.js/dist/chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
}
# Only the test session's VENDOR_ROOT holds these (the accessibility tests inject axe-core).
TEST_FILES = {
    "axe-core/axe.min.js": "axe-core/axe.min.js",
}
_SOURCE_MAP = re.compile(rb"\n?//# sourceMappingURL=\S+\s*$")


def build(node_modules: Path, target: Path, *, for_tests: bool = False) -> list[str]:
    """Copy the vendor files into `target` (emptied first); the names written."""
    files = {**PAGE_FILES, **(TEST_FILES if for_tests else {})}
    missing = [source for source in files.values() if not (node_modules / source).is_file()]
    if missing:
        raise FileNotFoundError(f"Not in {node_modules}: {', '.join(missing)} (run `npm ci`).")
    staging = target.with_name(target.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    for name, source in files.items():
        destination = staging / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(_SOURCE_MAP.sub(b"\n", (node_modules / source).read_bytes()))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return sorted(files)
