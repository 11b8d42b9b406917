"""Projects, studio flows with their nodes, edges and snapshots, and node configurations."""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from dashboard.dynamo.base import DynamoModel, table_meta


class ProjectsByTenant(GlobalSecondaryIndex):
    class Meta:
        index_name = "tenant_id-updated_at-index"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class Project(DynamoModel):
    Meta = table_meta("projects")
    project_id = UnicodeAttribute(hash_key=True)
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    created_by = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    by_tenant = ProjectsByTenant()


class FlowsByProject(GlobalSecondaryIndex):
    class Meta:
        index_name = "project_id-updated_at-index"
        projection = AllProjection()

    project_id = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class FlowsByTenant(GlobalSecondaryIndex):
    class Meta:
        index_name = "tenant_id-updated_at-index"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class Flow(DynamoModel):
    Meta = table_meta("studio-flows")
    flow_id = UnicodeAttribute(hash_key=True)
    project_id = UnicodeAttribute()
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    source_template_id = UnicodeAttribute(null=True)
    # The template's edit version the flow was made from (or last updated to): "update available" compares it.
    source_template_version = NumberAttribute(null=True)
    node_count = NumberAttribute(default=0)
    edge_count = NumberAttribute(default=0)
    created_by = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()
    by_project = FlowsByProject()
    by_tenant = FlowsByTenant()


class FlowNode(DynamoModel):
    Meta = table_meta("studio-nodes")
    flow_id = UnicodeAttribute(hash_key=True)
    node_id = UnicodeAttribute(range_key=True)
    tenant_id = UnicodeAttribute()
    node_type = UnicodeAttribute()
    label = UnicodeAttribute(default="")
    position_x = NumberAttribute(default=0)
    position_y = NumberAttribute(default=0)


class FlowEdge(DynamoModel):
    Meta = table_meta("studio-edges")
    flow_id = UnicodeAttribute(hash_key=True)
    edge_id = UnicodeAttribute(range_key=True)
    tenant_id = UnicodeAttribute()
    source = UnicodeAttribute()
    target = UnicodeAttribute()
    label = UnicodeAttribute(default="")

    @classmethod
    def from_definition(cls, flow_id: str, tenant_id: str, edge: dict) -> FlowEdge:
        """The item of one edge of a flow definition (`{"id", "source", "target", "label"?}`)."""
        return cls(
            flow_id=flow_id,
            edge_id=edge["id"],
            tenant_id=tenant_id,
            source=edge["source"],
            target=edge["target"],
            label=edge.get("label", ""),
        )


class FlowSnapshot(DynamoModel):
    Meta = table_meta("studio-snapshots")
    flow_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(range_key=True)
    tenant_id = UnicodeAttribute()
    definition = JSONAttribute()  # {"nodes": [...], "edges": [...]}
    note = UnicodeAttribute(default="")
    created_by = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class NodeConfigsByType(GlobalSecondaryIndex):
    class Meta:
        index_name = "node_type-updated_at-index"
        projection = AllProjection()

    node_type = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class NodeConfigsByTenant(GlobalSecondaryIndex):
    class Meta:
        index_name = "tenant_id-updated_at-index"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class NodeConfig(DynamoModel):
    Meta = table_meta("flow-node-configs")
    flow_id = UnicodeAttribute(hash_key=True)
    node_id = UnicodeAttribute(range_key=True)
    tenant_id = UnicodeAttribute()
    node_type = UnicodeAttribute()
    config = JSONAttribute()
    updated_by = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()
    by_type = NodeConfigsByType()
    by_tenant = NodeConfigsByTenant()
