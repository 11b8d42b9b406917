"""Only the static files pages use are published: no node_modules, source maps or manifest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from dashboard.core import vendor

NODE_MODULES = settings.BASE_DIR / "node_modules"


def test_the_vendor_build_holds_only_what_pages_use(tmp_path):
    names = vendor.build(NODE_MODULES, tmp_path / "vendor")
    assert names == ["chart.js/dist/chart.umd.min.js"]
    published = sorted(
        str(path.relative_to(tmp_path / "vendor")) for path in (tmp_path / "vendor").rglob("*")
    )
    assert published == ["chart.js", "chart.js/dist", "chart.js/dist/chart.umd.min.js"]
    assert b"sourceMappingURL" not in (tmp_path / "vendor" / names[0]).read_bytes()


def test_the_test_build_adds_axe_core(tmp_path):
    assert "axe-core/axe.min.js" in vendor.build(NODE_MODULES, tmp_path / "vendor", for_tests=True)


def test_production_collects_no_package_files_maps_or_manifest(tmp_path):
    vendor_root = tmp_path / "vendor"
    vendor.build(NODE_MODULES, vendor_root)
    static_root = tmp_path / "static"
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "a-long-random-production-secret-0123456789-ABCDEFGHIJ",
        "STATIC_ROOT": str(static_root),
        "VENDOR_ROOT": str(vendor_root),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    files = [path.relative_to(static_root).as_posix() for path in static_root.rglob("*") if path.is_file()]
    assert any(name.startswith("vendor/chart.js/dist/chart.umd.min.") for name in files)
    assert not [name for name in files if name.startswith("vendor/axe-core")]
    assert not [name for name in files if name.endswith((".map", ".map.gz", ".map.br", "package.json"))]
    assert not [name for name in files if Path(name).name.startswith("staticfiles.json")]
    assert (tmp_path / "static-manifest" / "staticfiles.json").is_file()  # kept, but not served
