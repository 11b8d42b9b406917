"""The house plan, checked: an area's tables are touched only by its own code, in an area with a
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
READS_IN_SERVICES_FOR_NOW = {"analytics"}


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


# --- the arrows between layers ------------------------------------------------------------------
#
# `core` (what every area shares) and `dynamo` (DynamoDB plumbing) sit below the areas: they import
# none. An area may call another's services, queries, inputs and pure modules, never its pages
# (`forms`, `views`). The composition level (`dashboard/urls.py`, the `demo` app) knows every area.
BELOW_THE_AREAS = ("core", "dynamo")
COMPOSITION = {"demo"}
# Page pieces still shared across areas (the API's query-string parsing): the check skips them and
# fails once one goes, so this list only shrinks.
PAGES_SHARED_FOR_NOW: set[tuple[str, str]] = set()


def _packages() -> list[str]:
    return sorted(
        path.name for path in DASHBOARD.iterdir() if path.is_dir() and (path / "__init__.py").exists()
    )


def _all_imports(tree: ast.Module) -> list[str]:
    """Every module imported anywhere in the file, deferred imports inside functions included."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _imported_packages(path: Path) -> set[str]:
    return {
        module.split(".")[1]
        for module in _all_imports(ast.parse(path.read_text()))
        if module.startswith("dashboard.") and len(module.split(".")) > 1
    }


def test_core_and_dynamo_import_no_area():
    offenders = {
        str(path.relative_to(DASHBOARD)): sorted(_imported_packages(path) - set(BELOW_THE_AREAS))
        for base in BELOW_THE_AREAS
        for path in sorted((DASHBOARD / base).rglob("*.py"))
    }
    assert {path: found for path, found in offenders.items() if found} == {}


def test_no_area_imports_another_areas_forms_or_views():
    offenders = set()
    for package in set(_packages()) - set(BELOW_THE_AREAS) - COMPOSITION:
        for path in sorted((DASHBOARD / package).rglob("*.py")):
            for module in _all_imports(ast.parse(path.read_text())):
                parts = module.split(".")
                if (
                    len(parts) >= 3
                    and parts[0] == "dashboard"
                    and parts[1] not in (package, *BELOW_THE_AREAS)
                    and parts[2] in ("forms", "views")
                ):
                    offenders.add((package, ".".join(parts[:3])))
    assert offenders - PAGES_SHARED_FOR_NOW == set()
    assert PAGES_SHARED_FOR_NOW - offenders == set(), "no longer shared: take it off PAGES_SHARED_FOR_NOW"


def test_every_area_has_the_files_of_its_roles():
    """An area with tables has its writes in services and its reads in queries; an area with pages
    has its URLs beside its views (README "Layout")."""
    for area in AREAS:
        assert (DASHBOARD / area / "services.py").exists(), area
        assert (DASHBOARD / area / "queries.py").exists() or (DASHBOARD / area / "queries").is_dir(), area
    for views in DASHBOARD.glob("*/views.py"):
        if views.parent.name != "core":  # error pages, wired by handler403/404/500
            assert (views.parent / "urls.py").exists(), views.parent.name


METHOD_DECORATORS = {"require_GET", "require_POST", "require_safe", "require_http_methods", "api_view"}


def test_every_view_names_the_methods_it_answers():
    """A method decorator on every view (django-htmx's example, radiofeed): anything else is 405."""
    missing = []
    for views in sorted(DASHBOARD.glob("*/views.py")):
        if views.parent.name == "core":
            continue
        for node in ast.parse(views.read_text()).body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            if not node.args.args or node.args.args[0].arg != "request":
                continue
            names = {ast.unparse(d).split("(")[0].split(".")[-1] for d in node.decorator_list}
            if not names & METHOD_DECORATORS:
                missing.append(f"{views.parent.name}.{node.name}")
    assert missing == []


def _other_areas_reads(tree: ast.Module, area: str) -> set[str]:
    """Names this module imported from another area's queries (its reads, or the module itself).
    What another area's services build for the caller's own transaction (an audit event) is not a read."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dashboard."):
            parts = node.module.split(".")
            if parts[1] not in AREAS or parts[1] == area:
                continue
            if len(parts) >= 3 and parts[2] == "queries":
                names.update(alias.asname or alias.name for alias in node.names)
            elif len(parts) == 2:
                names.update(alias.asname or alias.name for alias in node.names if alias.name == "queries")
    return names


def _foreign_writes(tree: ast.Module, area: str) -> list[str]:
    """`x.save()` / `x.update(…)` / `x.delete()` or `save_together([x, …])` where `x` came from a call
    into another area (`x = get_tenant(…)`, `x = accounts.get_tenant(…)`): a write to its table."""
    foreign = _other_areas_reads(tree, area)
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        obtained = set()
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                callee = node.value.func
                root = callee
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id in foreign:
                    obtained.update(t.id for t in node.targets if isinstance(t, ast.Name))
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in ("save", "update", "delete")
                and isinstance(func.value, ast.Name)
                and func.value.id in obtained
            ):
                found.append(f"line {node.lineno}: {ast.unparse(func)}")
            if isinstance(func, ast.Name | ast.Attribute) and ast.unparse(func).endswith("save_together"):
                written = {n.id for arg in node.args for n in ast.walk(arg) if isinstance(n, ast.Name)}
                if written & obtained:
                    found.append(f"line {node.lineno}: save_together of {sorted(written & obtained)}")
    return found


def test_only_an_areas_own_code_writes_its_items():
    """An item read through another area's queries is written back only through that area's
    services (analytics' budget goes through accounts.set_monthly_budget, not `tenant.save()`)."""
    offenders = {}
    for area in AREAS + ["home", "api"]:
        for path in sorted((DASHBOARD / area).rglob("*.py")):
            if path.name in DEMO:
                continue
            found = _foreign_writes(ast.parse(path.read_text()), area)
            if found:
                offenders[str(path.relative_to(DASHBOARD))] = found
    assert offenders == {}


def test_the_write_check_sees_an_item_of_another_area_saved():
    tree = ast.parse(
        "from dashboard.accounts.queries import get_tenant\n"
        "def set_budget(tenant_id):\n"
        "    tenant = get_tenant(tenant_id)\n"
        "    tenant.monthly_budget_micro_usd = 1\n"
        "    save_together([tenant, event], '')\n"
        "    tenant.save()\n"
    )
    assert _foreign_writes(tree, "analytics") == [
        "line 5: save_together of ['tenant']",
        "line 6: tenant.save",
    ]


def test_the_api_package_has_no_import_circle():
    """`operations` (the vocabulary every endpoint speaks) imports no other API module, and the
    document builder (`openapi`) imports only it: it finds the endpoints by walking the URLconf."""
    api = DASHBOARD / "api"

    def api_imports(name: str) -> set[str]:
        return {
            module.split(".")[2]
            for module in _all_imports(ast.parse((api / f"{name}.py").read_text()))
            if module.startswith("dashboard.api.")
        }

    assert api_imports("operations") == set()
    assert api_imports("openapi") == {"operations"}
