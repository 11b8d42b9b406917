"""Model registry at volume: 2,000 models × 20 versions; list and detail pages, JSON API, a write."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from itertools import count

from dashboard.accounts import demo as account_seed
from dashboard.accounts.access import scope_for_user
from dashboard.apikeys import services as api_keys
from dashboard.core import clock
from dashboard.core.seeding import SeedContext
from dashboard.flows import demo as flow_seed
from dashboard.registry import queries, services
from dashboard.registry.demo import MODEL_NAMES, People, simulate_model
from dashboard.registry.models import MlModel, RegistryVersion

MODELS = 2_000
VERSIONS = 20
THREADS = 4
TENANTS = {"acme": 0.8, "globex": 0.2}  # share of the models


def _write(model_cls, items: list) -> None:
    """Batch writes (25 per request) from a few threads: seeding speed, not a request path."""

    def write(chunk: list) -> None:
        with model_cls.batch_write() as batch:
            for item in chunk:
                batch.save(item)

    size = max(1, len(items) // (THREADS * 4))
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(write, [items[i : i + size] for i in range(0, len(items), size)]))


def _seed(ctx: SeedContext) -> dict[str, list[MlModel]]:
    rng = random.Random(11)
    numbers = count(1)
    made: dict[str, list[MlModel]] = {}
    started = time.monotonic()
    people_of = {
        tenant: People(admin=ctx.admins[tenant][0].email, staff=ctx.staff[0].email) for tenant in TENANTS
    }
    for tenant, share in TENANTS.items():
        projects = ctx.projects[tenant]
        models, versions = [], []
        for index in range(int(MODELS * share)):
            number = next(numbers)
            name, task, framework = MODEL_NAMES[index % len(MODEL_NAMES)]
            project = projects[index % len(projects)]
            model, items = simulate_model(
                rng,
                model_id=f"mdl_bench_{number:05d}",
                name=f"{name}-{number}",
                task=task,
                framework=framework,
                tenant_id=tenant,
                project_id=project.project_id,
                dataset_ids=[],
                people=people_of[tenant],
                count=VERSIONS,
                start=ctx.now - timedelta(days=rng.randrange(100, 400)),
                end=ctx.now - timedelta(minutes=rng.randrange(1, 60 * 24 * 30)),
                integer_versions=index % 7 == 3,
                leave_deploying=index % 150 == 0,
            )
            models.append(model)
            versions.extend(items)
        _write(MlModel, models)
        _write(RegistryVersion, versions)
        made[tenant] = models
    total = sum(len(models) for models in made.values())
    print(f"seeded {total} models × {VERSIONS} versions in {time.monotonic() - started:.0f} s", flush=True)
    return made


def run(bench) -> None:
    ctx = SeedContext(rng=random.Random(7), now=clock.now(), options={}, quiet=True)
    account_seed.seed(ctx)
    flow_seed.seed(ctx)
    made = _seed(ctx)

    admin = ctx.admins["acme"][0]
    client = bench.client_for(admin)
    staff_all = bench.client_for(ctx.staff[0])
    project = ctx.projects["acme"][0].project_id
    model = made["acme"][len(made["acme"]) // 2]
    first = queries.list_models(scope_for_user(admin))

    bench.measure("registry list · tenant admin, page 1", client, "/models/")
    bench.measure("registry list · page 2 (cursor)", client, f"/models/?cursor={first.next_cursor}")
    bench.measure("registry list · one project", client, f"/models/?project={project}")
    bench.measure("registry list · status deploying", client, "/models/?status=deploying")
    bench.measure(
        "registry list · project + status deployed", client, f"/models/?project={project}&status=deployed"
    )
    bench.measure("registry list · staff, every tenant", staff_all, "/models/")
    bench.measure(
        "registry list · htmx poll partial",
        client,
        "/models/?status=deploying",
        ok=(200, 286),  # 286: nothing deploying any more, the poll stops
        HTTP_HX_REQUEST="true",
        HTTP_HX_TRIGGER="models",
    )
    bench.measure(f"model detail · {VERSIONS} versions", client, f"/models/{model.model_id}/")
    bench.measure(
        "model detail · chart partial",
        client,
        f"/models/{model.model_id}/?metric=latency_p95_ms",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="chart",
    )

    token = api_keys.create_key(scope_for_user(ctx.staff[0]), "acme", "bench").token
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    bench.measure("API GET /api/models/registry", client, "/api/models/registry", **auth)
    bench.measure("API GET /api/models/{id}/metrics", client, f"/api/models/{model.model_id}/metrics", **auth)

    scope = scope_for_user(admin)
    target = made["acme"][0]
    counter = count(1)
    scheme_integer = target.version_scheme == "integer"

    def register_version() -> None:
        n = next(counter)
        services.register_version(
            scope,
            target.model_id,
            {
                "version": str(1000 + n) if scheme_integer else f"99.0.{n}",
                "framework": "pytorch",
                "artifact_uri": f"s3://bench/{n}/model.pt",
                "metrics": {"accuracy": 0.9},
            },
        )

    bench.measure_call("write · register a version (transaction)", register_version)

    restartable = ("registered", "failed", "rolled_back", "superseded")
    movable = [
        m for m in made["acme"][1:] if m.latest_status in restartable and not m.environments["dev"].pending
    ]
    movable = movable[:60]
    moves = iter(movable)

    def deploy_cycle() -> None:
        item = next(moves)
        version = item.latest_version
        services.change_status(scope, item.model_id, version, "deploying", "dev")
        services.change_status(scope, item.model_id, version, "deployed")

    bench.measure_call("write · deploy + go live (2 transactions)", deploy_cycle)
