"""The audit trail: one item per action, in its tenant's partition (`platform` outside any tenant)."""

from pynamodb.attributes import JSONAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from dashboard.dynamo.base import DynamoModel, table_meta


class AuditByActor(GlobalSecondaryIndex):
    class Meta:
        index_name = "actor_id-sk-index"
        projection = AllProjection()

    actor_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class AuditByMonth(GlobalSecondaryIndex):
    """Staff read every tenant's events month by month without a scan."""

    class Meta:
        index_name = "month-sk-index"
        projection = AllProjection()

    month = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class AuditEvent(DynamoModel):
    Meta = table_meta("audit-events")
    tenant_id = UnicodeAttribute(hash_key=True)  # "platform" for actions outside any tenant
    sk = UnicodeAttribute(range_key=True)  # ts#event_id
    event_id = UnicodeAttribute()
    ts = UTCDateTimeAttribute()
    month = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    actor_label = UnicodeAttribute()
    action = UnicodeAttribute()
    target_type = UnicodeAttribute()
    target_id = UnicodeAttribute()
    changes = JSONAttribute(null=True)
    by_actor = AuditByActor()
    by_month = AuditByMonth()
