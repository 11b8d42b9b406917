"""Flows pages and node-config endpoints over the seeded demo data, plus one tenant with many flows
and one flow with many nodes: latency and DynamoDB calls stay flat however much data there is."""

import json
import random

from dashboard.accounts import demo as account_seed
from dashboard.accounts.access import scope_for_user
from dashboard.apikeys import services as api_keys
from dashboard.core import clock
from dashboard.core.seeding import SeedContext
from dashboard.flows import demo as flow_seed
from dashboard.flows.models import Flow, FlowNode, FlowSnapshot, NodeConfig
from dashboard.flows.node_schemas import NODE_TYPES
from dashboard.flows.services import flow_items

EXTRA_FLOWS = 2000  # in one extra project of acme
BIG_FLOW_NODES = 400


def _volume(ctx: SeedContext) -> tuple[str, str]:
    """Many flows for acme, and one flow with hundreds of configured nodes. Returns (project, big flow)."""
    project = ctx.projects["acme"][0]
    scope = scope_for_user(ctx.admins["acme"][0])
    now = ctx.now
    big_definition = {
        "nodes": [
            {"id": f"n{index:04d}", "type": NODE_TYPES[index % len(NODE_TYPES)]}
            for index in range(BIG_FLOW_NODES)
        ],
        "edges": [],
    }
    built = [
        flow_items(
            scope,
            project,
            f"Bench flow {index}",
            big_definition if index == 0 else {"nodes": [], "edges": []},
            "Bench",
            flow_id=f"flw_bench_{index:05d}",
            at=now.replace(microsecond=index % 1_000_000),
        )
        for index in range(EXTRA_FLOWS)
    ]
    ctx.write(Flow, [items.flow for items in built])
    ctx.write(FlowSnapshot, [items.snapshot for items in built])
    big = built[0].flow.flow_id
    configs = []
    for node in built[0].nodes:
        config = flow_seed.node_config(node.node_type, ctx.rng)
        if config is not None:
            configs.append(
                NodeConfig(
                    flow_id=big,
                    node_id=node.node_id,
                    tenant_id="acme",
                    node_type=node.node_type,
                    config=config,
                    updated_at=now,
                    version=1,
                )
            )
    ctx.write(FlowNode, built[0].nodes)
    ctx.write(NodeConfig, configs)
    return project.project_id, big


def calls_of(response) -> str:
    """measure_call's own counter cannot see inside a request; the middleware's header can."""
    return f"{'':<46} DynamoDB calls per request: {response['X-DynamoDB-Calls']}"


def run(bench) -> None:
    ctx = SeedContext(rng=random.Random(7), now=clock.now(), options={}, quiet=True)
    account_seed.seed(ctx)
    flow_seed.seed(ctx)
    project_id, big_flow = _volume(ctx)
    admin = ctx.admins["acme"][0]
    client = bench.client_for(admin)
    flow = ctx.flows["acme"][1]
    node = FlowNode.query(flow.flow_id, limit=1).next()

    bench.measure(f"flows list · tenant admin ({EXTRA_FLOWS}+ flows)", client, "/flows/")
    bench.measure(
        "flows list · one project (htmx)", client, f"/flows/?project={project_id}", HTTP_HX_REQUEST="true"
    )
    bench.measure(
        "flows list · staff, one tenant", bench.client_for(ctx.staff[0], _tenant_focus="acme"), "/flows/"
    )
    bench.measure("flow page · seeded flow", client, f"/flows/{flow.flow_id}/")
    bench.measure(f"flow page · {BIG_FLOW_NODES}-node flow", client, f"/flows/{big_flow}/")
    config_url = f"/flows/{flow.flow_id}/nodes/{node.node_id}/"
    bench.measure(f"node config page · {node.node_type} form", client, config_url)
    bench.measure("node config page · raw JSON", client, f"{config_url}?view=json")

    validate_url = "/flows/node-types/llm/validate/"
    draft = {
        "_version": "0",
        "_editor": "form",
        "provider": "openai",
        "model": "",
        "temperature": "5",
        "max_tokens": "100",
    }
    bench.measure_call(
        "inline validate (htmx POST)", lambda: client.post(validate_url, draft, HTTP_HX_REQUEST="true")
    )
    print(calls_of(client.post(validate_url, draft, HTTP_HX_REQUEST="true")))

    token = api_keys.create_key(scope_for_user(ctx.staff[0]), "acme", "bench").token
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    api_url = f"/api/flows/{flow.flow_id}/nodes/{node.node_id}/config"
    bench.measure("API GET node config", bench.client_for(admin), api_url, **auth)
    body = json.dumps({"provider": "openai", "model": "m", "temperature": 9, "max_tokens": 1})
    bench.measure_call(
        "API POST validate (invalid llm)",
        lambda: client.post("/api/nodes/types/llm/validate", body, content_type="application/json", **auth),
    )
    print(
        calls_of(client.post("/api/nodes/types/llm/validate", body, content_type="application/json", **auth))
    )

    def save():
        current = client.get(api_url, **auth).json()
        response = client.put(
            api_url,
            json.dumps({"version": current["version"], "config": current["config"]}),
            content_type="application/json",
            **auth,
        )
        if response.status_code not in (200, 422):
            raise SystemExit(f"save answered {response.status_code}: {response.content[:200]}")
        return response

    bench.measure_call("API GET + PUT node config (versioned save)", save, runs=20)
    print(calls_of(save()) + " (the PUT alone)")
