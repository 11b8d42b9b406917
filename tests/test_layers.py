"""The house plan, checked: an area's tables are touched only by its own code.

`dashboard.<area>.models` may be imported by modules of that area, by demo data (`demo.py`, the
`seed_demo` command) and by tests and benchmarks; anyone else goes through the area's services and
queries. Imports under `if TYPE_CHECKING:` (type hints only) do not count.

One table is shared on purpose: `rate-limits` (accounts' `RateLimitCounter`) holds accounts'
sign-in counters and, under its own keys, each API key's token bucket and requests per day, which
the apikeys area keeps. SHARED names that one model and the one area allowed to import it.
"""

from __future__ import annotations

import ast
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard"
AREAS = sorted(path.name for path in DASHBOARD.iterdir() if (path / "models.py").exists())
DEMO = {"demo.py", "seed_demo.py"}
SHARED = {"dashboard.accounts.models.RateLimitCounter": {"apikeys"}}


def _runtime_imports(tree: ast.Module) -> list[str]:
    """Modules imported outside `if TYPE_CHECKING:` blocks; `from x import y` as `x.y`."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and getattr(child.test, "id", None) == "TYPE_CHECKING":
                for orelse in child.orelse:
                    visit(orelse)
                continue
            if isinstance(child, ast.Import):
                found.extend(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module:
                found.extend(f"{child.module}.{alias.name}" for alias in child.names)
            visit(child)

    visit(tree)
    return found


def _owner(path: Path) -> str:
    return path.relative_to(DASHBOARD).parts[0]


def test_every_area_has_the_same_files_for_the_same_roles():
    for area in AREAS:
        assert (DASHBOARD / area / "models.py").exists()
        assert (DASHBOARD / area / "services.py").exists() or (DASHBOARD / area / "queries.py").exists(), area


def test_an_areas_models_are_imported_only_by_that_area_its_demo_data_and_tests():
    offenders = []
    for path in sorted(DASHBOARD.rglob("*.py")):
        if path.name in DEMO:
            continue
        for module in _runtime_imports(ast.parse(path.read_text())):
            parts = module.split(".")
            is_models = len(parts) >= 3 and parts[0] == "dashboard" and parts[2] == "models"
            shared_with = SHARED.get(".".join(parts[:4]), set())
            if (
                is_models
                and parts[1] in AREAS
                and parts[1] != _owner(path)
                and _owner(path) not in shared_with
            ):
                offenders.append(f"{path.relative_to(DASHBOARD)} imports {'.'.join(parts[:3])}")
    assert sorted(set(offenders)) == []


def test_every_area_with_tables_is_an_installed_app():
    """An area's models register their tables (create_tables, infra) only once Django imports them."""
    from django.conf import settings

    assert {"accounts", "apikeys", "audit"} <= set(AREAS)
    assert {f"dashboard.{area}" for area in AREAS} <= set(settings.INSTALLED_APPS)


def test_shared_models_exist():
    import importlib

    for name in SHARED:
        module, _dot, model = name.rpartition(".")
        assert hasattr(importlib.import_module(module), model), name
