"""The house plan, checked: an area's tables are touched only by its own code, and in an area with a
`queries.py` its reads are there, not in `services.py`.

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
# PynamoDB's reads, as called on a model class or one of its indexes (`Model.get`, `Model.by_x.query`).
READS = {"get", "query", "scan", "batch_get", "count"}
# Areas whose services.py still reads (issue 26 moved registry's and flows' reads first). The check
# skips them, and fails once one of them no longer reads, so this list only shrinks.
READS_IN_SERVICES_FOR_NOW = {"accounts", "alerts", "analytics", "apikeys", "experiments", "marketplace"}


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


def _model_reads(tree: ast.Module) -> list[str]:
    """`Model.get(…)`, `Model.index.query(…)`, … calls on names imported from any area's models."""
    models: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dashboard."):
            if node.module.endswith(".models"):
                models.update(alias.asname or alias.name for alias in node.names)
            else:
                models.update(alias.asname or alias.name for alias in node.names if alias.name == "models")
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in READS:
            root = node.func.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in models:
                found.append(f"line {node.lineno}: {ast.unparse(node.func)}")
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


def test_services_hold_no_reads_where_the_area_has_queries():
    """Whoever is told "any read is in queries.py" finds it there: services call the queries."""
    with_queries = sorted(  # a queries.py, or a queries/ package of one module a topic
        {path.parent.name for path in DASHBOARD.glob("*/queries.py")}
        | {path.parent.parent.name for path in DASHBOARD.glob("*/queries/__init__.py")}
    )
    assert {"registry", "flows"} <= set(with_queries)
    reads = {
        area: _model_reads(ast.parse((DASHBOARD / area / "services.py").read_text()))
        for area in with_queries
        if (DASHBOARD / area / "services.py").exists()
    }
    offenders = {
        area: found for area, found in reads.items() if found and area not in READS_IN_SERVICES_FOR_NOW
    }
    assert offenders == {}
    no_longer = sorted(area for area in READS_IN_SERVICES_FOR_NOW if not reads.get(area))
    assert no_longer == [], "these areas' services no longer read: take them off READS_IN_SERVICES_FOR_NOW"


def test_the_read_check_sees_a_read_through_an_index_and_ignores_other_gets():
    tree = ast.parse(
        "from dashboard.registry.models import MlModel\nMlModel.by_tenant.query('acme')\noptions.get('x')\n"
    )
    assert _model_reads(tree) == ["line 2: MlModel.by_tenant.query"]
