"""Demo projects and studio flows (nodes, edges, snapshots, node configs)."""

from __future__ import annotations

import copy
from datetime import timedelta

from dashboard.core.scope import TENANT_ADMIN, AccessScope
from dashboard.core.seeding import SeedContext
from dashboard.flows.definition import type_label
from dashboard.flows.models import Flow, FlowEdge, FlowNode, FlowSnapshot, NodeConfig, Project
from dashboard.flows.services import flow_items

PROJECTS = ["Customer support", "Sales assistant", "Document search", "Fraud review", "Onboarding bot"]
FLOW_SHAPES = {
    "Support triage": ["prompt", "llm", "condition", "tool", "output"],
    "RAG answerer": ["prompt", "retriever", "llm", "output"],
    "Lead enrichment": ["http_request", "code", "llm", "output"],
    "Ticket summariser": ["prompt", "llm", "output"],
    "Invoice checker": ["retriever", "code", "condition", "llm", "output"],
}
# Saved configurations, valid against each type's schema (dashboard/flows/node_schemas.py).
CONFIGS = {
    "llm": [
        {"provider": "openai", "model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 1024},
        {
            "provider": "anthropic",
            "model": "claude-3-5-haiku",
            "temperature": 0.5,
            "max_tokens": 2048,
            "system_prompt": "You answer support questions briefly and politely.",
            "stop": ["###"],
            "api_key": "sk-demo-anthropic-0001",
            "retry": {"max_attempts": 3, "backoff_seconds": 2},
        },
    ],
    "prompt": [
        {
            "role": "system",
            "template": "You are a helpful assistant for {{company}}.",
            "variables": ["company"],
        },
        {
            "role": "user",
            "template": "Summarise: {{ticket}}",
            "variables": ["ticket"],
            "strip_whitespace": True,
        },
    ],
    "tool": [
        {"name": "lookup_order", "timeout_seconds": 10, "max_calls": 3},
        {
            "name": "create_ticket",
            "description": "Opens a ticket in the helpdesk.",
            "timeout_seconds": 20,
            "requires_approval": True,
            "auth": {"scheme": "bearer", "token": "tok-demo-helpdesk-42"},
        },
    ],
    "http_request": [
        {"method": "GET", "url": "https://api.example.com/v1/leads", "timeout_seconds": 15},
        {
            "method": "POST",
            "url": "https://crm.example.com/api/enrich",
            "headers": ["Accept: application/json"],
            "timeout_seconds": 30,
            "retry": {"max_attempts": 2, "backoff_seconds": 1.5},
            "auth": {"scheme": "bearer", "token": "tok-demo-crm-7788"},
        },
    ],
    "retriever": [
        {"index": "kb-articles", "top_k": 5, "min_score": 0.5},
        {
            "index": "invoices-2024",
            "search_type": "hybrid",
            "top_k": 8,
            "min_score": 0.3,
            "filters": ["lang=en"],
        },
    ],
    "condition": [
        {"expression": "output.confidence > 0.7", "true_label": "confident", "false_label": "escalate"},
        {"expression": "output.amount < 1000"},
    ],
    "code": [
        {"language": "python", "source": "def run(inputs):\n    return inputs\n", "memory_mb": 256},
        {
            "language": "javascript",
            "source": "export function run(inputs) { return inputs; }",
            "timeout_seconds": 5,
        },
    ],
    "output": [
        {"format": "markdown"},
        {"format": "json", "include_metadata": True, "webhook_url": "https://hooks.example.com/flows"},
    ],
}
# One broken setting per type, so the demo shows nodes whose saved configuration is invalid.
BREAKAGES = {
    "llm": ("temperature", 3.5),
    "prompt": ("variables", ["1st"]),
    "tool": ("timeout_seconds", 900),
    "http_request": ("url", "ftp://files.example.com"),
    "retriever": ("top_k", 0),
    "condition": ("expression", ""),
    "code": ("memory_mb", 300),
    "output": ("format", "pdf"),
}


def node_config(node_type: str, rng) -> dict | None:
    """A saved configuration for a seeded node: mostly valid, sometimes broken, None = left at defaults."""
    roll = rng.random()
    if roll < 0.2:
        return None
    config = copy.deepcopy(rng.choice(CONFIGS[node_type]))
    if roll > 0.88:
        key, value = BREAKAGES[node_type]
        config[key] = value
    return config


def flow_definition(node_types: list[str]) -> dict:
    nodes = [
        {
            "id": f"n{i + 1}",
            "type": node_type,
            "label": type_label(node_type),
            "position": {"x": 120 + i * 220, "y": 160},
        }
        for i, node_type in enumerate(node_types)
    ]
    edges = [
        {"id": f"e{i + 1}", "source": nodes[i]["id"], "target": nodes[i + 1]["id"]}
        for i in range(len(nodes) - 1)
    ]
    return {"nodes": nodes, "edges": edges}


def seed(ctx: SeedContext) -> None:
    projects, flows, nodes, edges, snapshots, configs = [], [], [], [], [], []
    for tenant in ctx.tenants:
        tenant_id = tenant.tenant_id
        author = ctx.admins[tenant_id][0]
        scope = AccessScope(
            role=TENANT_ADMIN, actor_id=author.user_id, actor_label=author.email, tenant_id=tenant_id
        )
        for p_index, name in enumerate(PROJECTS[: 3 + ctx.rng.randrange(3)]):
            created = ctx.now - timedelta(days=ctx.rng.randrange(60, 120))
            project = Project(
                project_id=f"prj_{tenant_id}_{p_index + 1}",
                tenant_id=tenant_id,
                name=name,
                description=f"{name} work for {tenant.name}",
                created_by=author.user_id,
                created_at=created,
                updated_at=ctx.now - timedelta(hours=ctx.rng.randrange(1, 500)),
            )
            projects.append(project)
            ctx.projects.setdefault(tenant_id, []).append(project)
            for f_index, (flow_name, shape) in enumerate(ctx.rng.sample(sorted(FLOW_SHAPES.items()), 2)):
                updated = ctx.now - timedelta(hours=ctx.rng.randrange(1, 700))
                items = flow_items(
                    scope,
                    project,
                    flow_name,
                    flow_definition(shape),
                    "Saved version 1",
                    description=f"{flow_name} for {name.lower()}",
                    flow_id=f"flw_{tenant_id}_{p_index + 1}_{f_index + 1}",
                    at=updated,
                )
                items.flow.created_at = created
                items.snapshot.created_at = updated - timedelta(days=2)
                flows.append(items.flow)
                ctx.flows.setdefault(tenant_id, []).append(items.flow)
                nodes.extend(items.nodes)
                edges.extend(items.edges)
                # A second saved version, so the demo shows a flow's history.
                later = FlowSnapshot(
                    flow_id=items.flow.flow_id,
                    version=2,
                    tenant_id=tenant_id,
                    definition=items.snapshot.definition,
                    note="Saved version 2",
                    created_by=author.user_id,
                    created_at=updated - timedelta(days=1),
                )
                snapshots += [items.snapshot, later]
                for node in items.nodes:
                    config = node_config(node.node_type, ctx.rng)
                    if config is not None:
                        configs.append(
                            NodeConfig(
                                flow_id=node.flow_id,
                                node_id=node.node_id,
                                tenant_id=tenant_id,
                                node_type=node.node_type,
                                config=config,
                                updated_by=author.email,
                                updated_at=updated,
                                version=1,
                            )
                        )
    for model, items in (
        (Project, projects),
        (Flow, flows),
        (FlowNode, nodes),
        (FlowEdge, edges),
        (FlowSnapshot, snapshots),
        (NodeConfig, configs),
    ):
        ctx.write_all(model, items)
