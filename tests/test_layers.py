"""The house plan, checked: an area's tables are touched only by its own code.

`dashboard.<area>.models` may be imported by modules of that area, by demo data (`demo.py`, the
`seed_demo` command) and by tests and benchmarks; anyone else goes through the area's services and
queries. Imports under `if TYPE_CHECKING:` (type hints only) do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard"
AREAS = sorted(path.name for path in DASHBOARD.iterdir() if (path / "models.py").exists())
DEMO = {"demo.py", "seed_demo.py"}


def _runtime_imports(tree: ast.Module) -> list[str]:
    """Modules imported outside `if TYPE_CHECKING:` blocks, with `from x import y` also as `x.y`."""
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
                found.append(child.module)
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
            if is_models and parts[1] in AREAS and parts[1] != _owner(path):
                offenders.append(f"{path.relative_to(DASHBOARD)} imports {'.'.join(parts[:3])}")
    assert sorted(set(offenders)) == []
