"""The tenant list is read once per request, and a tenant created during the request shows at once."""

from dashboard.accounts.queries import list_tenants
from dashboard.accounts.services import create_tenant
from dashboard.core.request_cache import request_scope
from dashboard.dynamo import metrics
from tests.conftest import unique


def test_one_read_per_request_and_a_new_tenant_shows_at_once():
    with request_scope(), metrics.track() as stats:
        first = list_tenants()
        assert list_tenants() == first
        assert stats.operations == {"Query": 1}
        tenant_id = unique("t").replace("_", "-").lower()[:40]
        create_tenant(tenant_id, "Zeta Corp")
        assert tenant_id in {t.tenant_id for t in list_tenants()}


def test_outside_a_request_every_call_reads_afresh():
    with metrics.track() as stats:
        list_tenants()
        list_tenants()
    assert stats.operations == {"Query": 2}
