"""A sweep over every page and endpoint that takes an id: another tenant's id answers 404, never data.

It runs on the full demo data set (seeded small into tables of its own), so every area's real items
are tried, with a tenant admin's session and with an API key of the other tenant.
"""

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from dashboard.accounts.access import scope_for_user
from dashboard.accounts.models import Invitation, User
from dashboard.accounts.queries import get_passkey
from dashboard.accounts.services import RelyingParty, add_passkey, passkey_registration_options
from dashboard.analytics.models import Execution
from dashboard.apikeys.services import create_key
from dashboard.experiments.models import Experiment, ExperimentRun
from dashboard.flows.models import Flow, FlowNode, Project
from dashboard.marketplace.models import AgentTemplate
from dashboard.operations import erasure
from dashboard.registry.models import ChangeRequest, Dataset, RegistryVersion
from tests.accounts.softkey import SoftKey
from tests.conftest import client_for, tables_of_their_own
from tests.marketplace.conftest import DEFINITION


@pytest.fixture(scope="module")
def acme(dynamodb_local):
    with tables_of_their_own("iso"):
        yield _seeded()


def _seeded() -> dict:
    """The demo data, with one of each kind of item of acme's that a page or endpoint names by id."""
    call_command(
        "seed_demo",
        "--executions",
        "300",
        "--templates",
        "20",
        "--models",
        "2",
        "--log-lines",
        "30",
        "--quiet",
        stdout=StringIO(),
    )
    template = next(t for t in AgentTemplate.by_tenant.query("acme") if t.listing is None)  # not public
    version = next(iter(RegistryVersion.by_tenant.query("acme", limit=1)))
    execution = next(e for e in Execution.by_tenant.query("acme", limit=20) if e.session_id)
    experiment = next(iter(Experiment.by_tenant.query("acme", limit=1)))
    run = next(iter(ExperimentRun.query(experiment.experiment_key, limit=1)))
    flow = next(iter(Flow.by_tenant.query("acme", limit=1)))
    node = next(iter(FlowNode.query(flow.flow_id, limit=1)))
    projects = [project.project_id for project in Project.by_tenant.query("acme")]
    dataset = next(d for project_id in projects for d in Dataset.by_project.query(project_id, limit=1))
    change_request = next(iter(ChangeRequest.query("acme", limit=1)))
    invitation = next(iter(Invitation.by_owner.query("acme", limit=1)))  # the demo's pending one
    globex_admin = next(iter(User.by_tenant.query("globex", limit=1)))
    staff = next(iter(User.by_role.query("staff", limit=1)))
    acme_person = next(iter(User.by_tenant.query("acme", limit=1)))
    key = SoftKey()
    _options, challenge = passkey_registration_options(acme_person, SOFTKEY_RP)
    add_passkey(acme_person, SOFTKEY_RP, challenge, key.create(challenge), "Acme laptop")
    return {
        "template": template.template_id,
        "model": version.model_id,
        "version": version.version,
        "execution": execution.execution_id,
        "agent": execution.agent_id,
        "session": execution.session_id,
        "person": execution.user_id,
        "experiment": experiment.experiment_id,
        "run": run.run_id,
        "flow": flow.flow_id,
        "node": node.node_id,
        "dataset": dataset.dataset_id,
        "request": change_request.request_id,
        "invitation": invitation.invitation_id,
        "passkey": key.id,
        "passkey_owner": acme_person.user_id,
        "globex_admin": globex_admin,
        "globex_key": create_key(scope_for_user(staff), "globex", "isolation sweep").token,
        # Staff's export-and-erase job of acme (never run here: nothing is exported or erased).
        "erase_job": erasure.start(scope_for_user(staff), "acme", export_only=True).job_id,
    }


PAGES = [
    ("get", "/templates/{template}/"),
    ("get", "/templates/{template}/edit/"),
    ("post", "/templates/{template}/edit/"),
    ("post", "/templates/{template}/delete/"),
    ("post", "/templates/{template}/use/"),
    ("post", "/templates/{template}/rate/"),
    ("post", "/templates/{template}/submit/"),
    ("post", "/templates/{template}/withdraw/"),
    ("get", "/models/{model}/"),
    ("get", "/models/{model}/versions/new/"),
    ("post", "/models/{model}/versions/new/"),
    ("post", "/models/{model}/versions/{version}/status/"),
    ("get", "/models/{model}/versions/{version}/confirm/?status=retired"),
    ("post", "/models/{model}/aliases/"),
    ("post", "/models/approvals/{request}/"),
    ("get", "/models/{model}/timeline/"),
    ("get", "/models/{model}/timeline/?environment=production&format=csv"),
    ("get", "/analytics/executions/{execution}/"),
    # A conversation and an end user are the tenant's own ids: another tenant's read nothing.
    ("get", "/analytics/sessions/{session}/"),
    ("get", "/analytics/people/{person}/"),
    # The overview's filters read the named tenant's sub-scope (`tenant@environment`): never another's.
    ("get", "/analytics/?tenant=acme&environment=production"),
    ("get", "/analytics/?tenant=acme&tag=checkout"),
    ("get", "/analytics/export.csv?tenant=acme&environment=production"),
    ("get", "/analytics/?tenant=acme%40production"),
    ("get", "/analytics/dimensions/?tenant=acme"),
    ("post", "/analytics/dimensions/?tenant=acme"),
    ("get", "/experiments/{experiment}/"),
    ("get", "/experiments/{experiment}/card/"),
    ("get", "/experiments/{experiment}/compare/?run=a&run=b"),
    ("get", "/experiments/{experiment}/runs/{run}/logs/"),
    ("get", "/experiments/{experiment}/runs/{run}/logs/tail/?after="),
    ("get", "/experiments/{experiment}/runs/{run}/logs/earlier/?before=1733000000000%230000000000"),
    ("get", "/experiments/{experiment}/runs/{run}/logs/lines/1733000000000%230000000000/"),
    ("get", "/experiments/{experiment}/runs/{run}/logs/errors/first/"),
    ("get", "/experiments/{experiment}/runs/{run}/logs/download/?format=ndjson"),
    ("get", "/experiments/{experiment}/runs/{run}/logs/volume/"),
    ("get", "/experiments/{experiment}/runs/{run}/logs/patterns/"),
    ("post", "/experiments/{experiment}/runs/{run}/logs/views/"),
    ("post", "/experiments/{experiment}/runs/{run}/logs/columns/"),
    ("get", "/experiments/{experiment}/logs/compare/?a=a&b=b"),
    ("get", "/flows/{flow}/"),
    ("get", "/flows/{flow}/nodes/{node}/"),
    ("post", "/flows/{flow}/nodes/{node}/"),
    ("get", "/flows/{flow}/template/"),
    ("post", "/flows/{flow}/template/"),
    ("post", "/flows/{flow}/template/update/"),
    ("get", "/datasets/{dataset}/"),
    ("post", "/account/invitations/{invitation}/revoke/"),
    # Passkeys are keyed by their owner: naming another person's finds nothing.
    ("post", "/account/me/passkeys/{passkey}/remove/"),
    # The link's secret, not the signed-in tenant, guards an invitation: without it, nothing.
    ("get", "/invite/{invitation}/not-the-secret/"),
    ("post", "/invite/{invitation}/not-the-secret/"),
    ("get", "/invite/{invitation}/not-the-secret/sso/"),
]

SOFTKEY_RP = RelyingParty(rp_id="testserver", origin="http://testserver")
# Staff's pages about one tenant's export and erase: no tenant admin reaches them, whoever the tenant.
STAFF_ONLY = [
    ("get", "/account/operations/erase/"),
    ("post", "/account/operations/erase/"),
    ("get", "/account/operations/erase/{erase_job}/"),
    ("post", "/account/operations/erase/{erase_job}/erase/"),
    ("get", "/account/operations/erase/{erase_job}/files/manifest/"),
    ("get", "/account/operations/erase/{erase_job}/files/executions/"),
]

# Bodies are valid, so tenancy is the only reason left to refuse.
API = [
    ("get", "/api/templates/{template}", None),
    ("get", "/api/analytics/sessions/{session}", None),
    (
        "put",
        "/api/templates/{template}",
        {"name": "Mine now", "category": "customer-support", "definition": DEFINITION, "version": 1},
    ),
    ("delete", "/api/templates/{template}", None),
    ("post", "/api/templates/{template}/use", {"project_id": "prj_mine", "name": "Mine"}),
    ("get", "/api/models/{model}/metrics", None),
    ("get", "/api/models/{model}/aliases/champion", None),
    ("put", "/api/models/{model}/aliases/champion", {"version": "{version}"}),
    ("post", "/api/models/approvals/{request}", {"decision": "approve", "reason": "sweep"}),
    ("get", "/api/experiments/{experiment}/runs/{run}/metrics", None),
    (
        "post",
        "/api/experiments/{experiment}/runs/{run}/metrics",
        {"points": [{"step": 1, "name": "loss", "value": 0.5}]},
    ),
    (
        "put",
        "/api/models/{model}/deploy",
        {"version": "{version}", "environment": "dev", "status": "deploying"},
    ),
    ("get", "/api/experiments/{experiment}/logs", None),
    (
        "post",
        "/api/experiments/{experiment}/logs",
        {
            "run_id": "{run}",
            "ts": "2026-11-26T00:00:00Z",
            "severity": "info",
            "component": "x",
            "message": "hi",
        },
    ),
    ("get", "/api/experiments/{experiment}/runs/{run}/logs", None),
    ("get", "/api/experiments/{experiment}/runs/{run}/logs/volume", None),
    ("get", "/api/experiments/{experiment}/runs/{run}/logs/patterns", None),
    ("get", "/api/flows/{flow}/nodes/{node}/config", None),
    ("put", "/api/flows/{flow}/nodes/{node}/config", {"version": 1, "config": {}}),
    ("post", "/api/flows/{flow}/template", {"name": "Mine now", "category": "sales"}),
]


@pytest.mark.parametrize(("method", "url"), PAGES)
def test_a_tenant_admin_gets_404_for_another_tenants_item(acme, method, url):
    client = client_for(acme["globex_admin"])
    response = getattr(client, method)(url.format(**acme))
    assert response.status_code == 404
    body = response.content.decode()
    for key in ("template", "execution", "run"):
        assert acme[key] not in body


@pytest.mark.parametrize(("method", "url", "body"), API)
def test_an_api_key_gets_404_for_another_tenants_item(acme, method, url, body):
    extra = {}
    if body is not None:
        filled = {
            key: value.format(**acme) if isinstance(value, str) else value for key, value in body.items()
        }
        extra = {"data": json.dumps(filled), "content_type": "application/json"}
    auth = f"Bearer {acme['globex_key']}"
    response = getattr(Client(), method)(url.format(**acme), HTTP_AUTHORIZATION=auth, **extra)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("method", "url"), STAFF_ONLY)
@pytest.mark.parametrize("admin_of", ["acme", "globex"])
def test_no_tenant_admin_reaches_a_tenants_export_and_erase(acme, method, url, admin_of):
    admin = (
        acme["globex_admin"] if admin_of == "globex" else next(iter(User.by_tenant.query("acme", limit=1)))
    )
    data = {"tenant_id": admin_of, "confirm": admin_of}
    response = getattr(client_for(admin), method)(
        url.format(**acme), **({"data": data} if method == "post" else {})
    )
    assert response.status_code in (403, 404)
    assert acme["erase_job"] not in response.content.decode()
    assert [job.status for job in erasure.list_jobs()] == ["exporting"]  # nothing started or moved on


def test_the_session_and_person_pages_answer_their_own_tenant(acme):
    """The 404s above are tenancy, not broken pages: acme's admin reads the same two pages."""
    acme_admin = client_for(next(iter(User.by_tenant.query("acme", limit=1))))
    for url, shown in (
        ("/analytics/sessions/{session}/", "agent"),
        ("/analytics/people/{person}/", "person"),
    ):
        response = acme_admin.get(url.format(**acme))
        assert response.status_code == 200, url
        assert acme[shown] in response.content.decode()


def test_a_tenant_admin_never_sees_another_tenants_invitations(acme):
    html = client_for(acme["globex_admin"]).get("/account/invitations/").content.decode()
    assert "colleague@acme.test" not in html and acme["invitation"] not in html
    assert Invitation.get(acme["invitation"]).status == "pending"  # the revoke attempts above changed nothing


def test_an_api_key_never_lists_another_tenants_executions_of_the_same_agent(acme):
    response = Client().get(
        f"/api/agents/{acme['agent']}/runs", HTTP_AUTHORIZATION=f"Bearer {acme['globex_key']}"
    )
    # Agents belong to their tenant: globex's agent of the same name is its own (with no runs here).
    assert response.status_code == 200 and response.json()["runs"] == []
    assert acme["execution"] not in response.content.decode()


def test_the_timeline_across_models_shows_only_the_tenants_own(acme):
    """A list without an id: acme's models, with stretches in every environment, stay out of
    globex's timeline, its pages and its CSV; acme's own admin sees them."""
    globex = client_for(acme["globex_admin"])
    acme_admin = client_for(next(iter(User.by_tenant.query("acme", limit=1))))
    theirs = set()
    for environment in ("dev", "staging", "production"):
        own = acme_admin.get(f"/models/timeline/?environment={environment}").content.decode()
        theirs |= set(re.findall(r'<tr data-model="([^"]+)"', own))
    assert theirs, "the demo deploys acme's models: its timeline has rows"
    for environment in ("dev", "staging", "production"):
        for extra in ("", "&format=csv"):
            response = globex.get(f"/models/timeline/?environment={environment}{extra}")
            assert response.status_code == 200
            body = response.content.decode()
            assert not [model_id for model_id in theirs | {acme["model"]} if model_id in body]
    forged = globex.get("/models/timeline/?cursor=x")
    assert forged.status_code == 400


@pytest.mark.parametrize(("method", "url"), PAGES)
def test_an_absurd_id_is_a_404_not_a_server_error(acme, method, url):
    absurd = {key: "x" * 3000 if isinstance(value, str) else value for key, value in acme.items()}
    response = getattr(client_for(acme["globex_admin"]), method)(url.format(**absurd))
    assert response.status_code == 404


@pytest.mark.parametrize(("method", "url", "body"), API)
def test_an_absurd_id_is_a_json_404_for_the_api(acme, method, url, body):
    absurd = {key: "x" * 3000 if isinstance(value, str) else value for key, value in acme.items()}
    extra = {"data": json.dumps(body or {}), "content_type": "application/json"} if body is not None else {}
    auth = f"Bearer {acme['globex_key']}"
    response = getattr(Client(), method)(url.format(**absurd), HTTP_AUTHORIZATION=auth, **extra)
    assert response.status_code in (404, 422)


# --- the same client-chosen ids in two tenants --------------------------------------------------------
#
# Experiment, run and agent ids are chosen by clients. Acme and globex both get an experiment with the
# same id, each with a run of the same id; each tenant must see and change only its own, through every
# page, poll, download and endpoint.


class _Api:
    def __init__(self, token: str):
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def get(self, url: str, **params):
        return Client().get(url, params, **self.headers)

    def post(self, url: str, body):
        return Client().post(url, json.dumps(body), content_type="application/json", **self.headers)


@pytest.fixture(scope="module")
def twins(acme):
    """On the sweep's demo tables: the demo's own people of both tenants."""
    from dashboard.core import clock
    from dashboard.flows.models import Project
    from tests.conftest import unique

    staff = scope_for_user(next(iter(User.by_role.query("staff", limit=1))))
    admins = {"acme": next(iter(User.by_tenant.query("acme", limit=1))), "globex": acme["globex_admin"]}
    experiment_id, run_id = unique("exp-twin"), "run-1"
    sides = {}
    for tenant in ("acme", "globex"):
        api = _Api(create_key(staff, tenant, f"twins {tenant}").token)
        now = clock.now()
        project = Project(
            project_id=unique("prj"), tenant_id=tenant, name="P", created_at=now, updated_at=now
        )
        project.save()
        made = api.post(
            "/api/experiments",
            {"project_id": project.project_id, "name": tenant, "experiment_id": experiment_id},
        )
        assert made.status_code == 201
        assert api.post(f"/api/experiments/{experiment_id}/runs", {"run_id": run_id}).status_code == 201
        lines = [
            {
                "run_id": run_id,
                "ts": clock.epoch_ms() - 1000 + n,
                "severity": "info",
                "component": "c",
                "message": f"{tenant} line {n}",
                "seq": n,
            }
            for n in range(3)
        ]
        assert api.post(f"/api/experiments/{experiment_id}/logs", {"lines": lines}).status_code == 201
        sides[tenant] = {"api": api, "browser": client_for(admins[tenant])}
    return {"experiment": experiment_id, "run": run_id, **sides}


def _messages(response) -> list[str]:
    return [line["message"] for line in response.json()["lines"]]


def test_each_tenant_reads_only_its_own_lines_of_the_same_run_id_through_the_api(twins):
    base = f"/api/experiments/{twins['experiment']}"
    for tenant, other in (("acme", "globex"), ("globex", "acme")):
        api = twins[tenant]["api"]
        for url in (f"{base}/runs/{twins['run']}/logs", f"{base}/logs"):
            messages = _messages(api.get(url, limit=50))
            assert messages and all(m.startswith(tenant) for m in messages), url
        by_run = _messages(api.get(f"{base}/logs", run_id=twins["run"], limit=50))
        assert by_run and not any(m.startswith(other) for m in by_run)


def test_each_tenant_sees_only_its_own_lines_in_the_viewer_and_downloads(twins):
    base = f"/experiments/{twins['experiment']}/runs/{twins['run']}/logs/"
    for tenant, other in (("acme", "globex"), ("globex", "acme")):
        browser = twins[tenant]["browser"]
        page = browser.get(base).content.decode()
        assert f"{tenant} line 0" in page and f"{other} line" not in page
        for fmt in ("ndjson", "text"):
            download = b"".join(browser.get(base + "download/", {"format": fmt}).streaming_content).decode()
            assert download.count(f"{tenant} line") == 3 and f"{other} line" not in download
        experiment_page = browser.get(f"/experiments/{twins['experiment']}/").content.decode()
        assert f">{tenant}<" in experiment_page or tenant in experiment_page


def test_writing_and_finishing_a_run_changes_only_the_writers_tenant(twins):
    base = f"/api/experiments/{twins['experiment']}"
    globex, acme = twins["globex"]["api"], twins["acme"]["api"]
    from dashboard.core import clock

    line = {
        "run_id": twins["run"],
        "ts": clock.epoch_ms(),
        "severity": "error",
        "component": "c",
        "message": "globex injected",
        "seq": 99,
    }
    assert globex.post(f"{base}/logs", line).status_code == 201
    assert "globex injected" not in _messages(acme.get(f"{base}/runs/{twins['run']}/logs", limit=50))
    viewer = twins["acme"]["browser"].get(f"/experiments/{twins['experiment']}/runs/{twins['run']}/logs/")
    assert "globex injected" not in viewer.content.decode()

    finished = globex.post(f"{base}/runs/{twins['run']}", {"status": "failed"})
    assert finished.status_code == 200 and finished.json()["status"] == "failed"
    assert acme.get(f"{base}/runs/{twins['run']}/logs").json()["run"]["status"] == "running"
    # Acme's live viewer keeps polling: no closing line of globex's run reaches it.
    acme_browser = twins["acme"]["browser"]
    page = acme_browser.get(f"/experiments/{twins['experiment']}/runs/{twins['run']}/logs/")
    assert page.context["live"] is True
    tail_url = page.context["tail_url"]
    poll = acme_browser.get(tail_url, HTTP_HX_REQUEST="true")
    assert poll.status_code == 200 and "Run failed" not in poll.content.decode()


def test_a_viewer_token_of_one_tenant_does_not_open_the_others_run(twins):
    acme_browser = twins["acme"]["browser"]
    page = acme_browser.get(f"/experiments/{twins['experiment']}/runs/{twins['run']}/logs/")
    tail_url = page.context["tail_url"] or ""
    assert "t=" in tail_url
    stolen = twins["globex"]["browser"].get(tail_url, HTTP_HX_REQUEST="true")
    assert stolen.status_code == 404


def test_a_run_named_like_another_tenants_run_reads_nothing_of_it(acme):
    # The attack of issue 10: globex starts a run with acme's run id in a globex experiment.
    from dashboard.core import clock
    from dashboard.flows.models import Project
    from tests.conftest import unique

    api = _Api(acme["globex_key"])
    now = clock.now()
    project = Project(project_id=unique("prj"), tenant_id="globex", name="P", created_at=now, updated_at=now)
    project.save()
    experiment = api.post("/api/experiments", {"project_id": project.project_id, "name": "x"}).json()
    runs = f"/api/experiments/{experiment['experiment_id']}/runs"
    assert api.post(runs, {"run_id": acme["run"]}).status_code == 201
    assert _messages(api.get(f"{runs}/{acme['run']}/logs", limit=50)) == []


def test_both_tenants_record_and_list_their_own_executions_of_the_same_agent(acme):
    from dashboard.core import clock

    staff = next(iter(User.by_role.query("staff", limit=1)))
    acme_api = _Api(create_key(scope_for_user(staff), "acme", "agents twin").token)
    globex_api = _Api(acme["globex_key"])
    agent = "support-bot-twin"
    started = clock.now().isoformat()
    for api, tenant in ((globex_api, "globex"), (acme_api, "acme")):
        run = {
            "execution_id": f"ex-{tenant}",
            "user_id": "u1",
            "model": "gpt-4o",
            "status": "succeeded",
            "started_at": started,
            "duration_ms": 10,
            "cost_micro_usd": 5,
        }
        assert api.post(f"/api/agents/{agent}/runs", run).status_code == 201
    for api, tenant in ((globex_api, "globex"), (acme_api, "acme")):
        listed = api.get(f"/api/agents/{agent}/runs").json()["runs"]
        assert [r["execution_id"] for r in listed] == [f"ex-{tenant}"]


def test_another_persons_passkey_stays_after_the_sweep(acme):
    assert get_passkey(acme["passkey_owner"], acme["passkey"]) is not None  # the removals above did nothing
