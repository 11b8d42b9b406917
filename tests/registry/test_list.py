"""The registry list page: scoped to the tenant, filtered, paginated, polling while deploying."""

from dashboard.registry import services
from tests.conftest import client_for
from tests.registry.conftest import make_project


def test_a_tenant_admin_sees_their_models_with_latest_version_and_environments(acme_admin, register, scopes):
    model = register(versions=("1.0.0", "1.2.0", "1.10.0"))
    services.change_status(scopes["acme"], model.model_id, "1.2.0", "deploying", "staging")
    services.change_status(scopes["acme"], model.model_id, "1.2.0", "deployed")
    response = acme_admin.get("/models/")
    assert response.status_code == 200
    row = response.content.decode().split(f'data-model="{model.model_id}"')[1].split("</tr>")[0]
    assert model.name in row and "<code>1.10.0</code>" in row
    staging = row.split('data-env="staging"')[1].split("</td>")[0]
    assert "1.2.0" in staging and "deployed" in staging


def test_other_tenants_models_never_show(globex_admin, register):
    model = register()
    assert model.name not in globex_admin.get("/models/").content.decode()


def test_staff_see_every_tenant_and_can_narrow_to_one(people, register, scopes):
    acme_model = register()
    globex_model = register(scope=scopes["globex"], project=make_project("globex"))
    everyone = client_for(people["staff"]).get("/models/").content.decode()
    assert acme_model.name in everyone and globex_model.name in everyone
    focused = client_for(people["staff"], _tenant_focus="globex").get("/models/").content.decode()
    assert globex_model.name in focused and acme_model.name not in focused


def test_moderators_have_no_access(moderator):
    assert moderator.get("/models/").status_code == 403


def test_it_filters_by_project_and_by_status(acme_admin, register, scopes):
    other_project = make_project("acme", "Forecasting")
    in_project = register(project=other_project)
    elsewhere = register()
    deploying = register(project=other_project)
    services.change_status(scopes["acme"], deploying.model_id, "1.0.0", "deploying", "dev")
    page = acme_admin.get(f"/models/?project={other_project.project_id}").content.decode()
    assert in_project.name in page and deploying.name in page and elsewhere.name not in page
    page = acme_admin.get(f"/models/?project={other_project.project_id}&status=deploying").content.decode()
    assert deploying.name in page and in_project.name not in page
    page = acme_admin.get("/models/?status=registered").content.decode()
    assert in_project.name in page and deploying.name not in page


def test_another_tenants_project_in_the_filter_is_not_found(globex_admin, acme_project):
    assert globex_admin.get(f"/models/?project={acme_project.project_id}").status_code == 404


def test_a_bad_status_filter_is_a_clear_error_not_a_crash(acme_admin):
    response = acme_admin.get("/models/?status=exploded")
    assert response.status_code == 422
    assert "not a status" in response.content.decode()


def test_it_paginates_with_a_cursor(people, register, scopes):
    project = make_project("globex", "Paging")
    names = {register(scope=scopes["globex"], project=project).name for _ in range(27)}
    client = client_for(people["admin of globex"])
    first = client.get(f"/models/?project={project.project_id}").content.decode()
    assert "Next page" in first
    cursor = first.split("cursor=")[1].split('"')[0].replace("&amp;", "&")
    second = client.get(f"/models/?project={project.project_id}&cursor={cursor}").content.decode()
    shown = {name for name in names if name in first} | {name for name in names if name in second}
    assert shown == names
    assert not {name for name in names if name in first} & {name for name in names if name in second}


def test_a_forged_cursor_is_refused_clearly(acme_admin):
    response = acme_admin.get("/models/?cursor=forged")
    assert response.status_code == 400


def test_the_list_polls_only_while_a_deployment_is_in_progress(acme_admin, register, scopes):
    model = register(project=make_project("acme", "Polling"))
    url = f"/models/?project={model.project_id}"
    assert 'hx-trigger="every 2s"' not in acme_admin.get(url).content.decode()
    services.change_status(scopes["acme"], model.model_id, "1.0.0", "deploying", "dev")
    assert 'hx-trigger="every 2s"' in acme_admin.get(url).content.decode()
    poll = acme_admin.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="models")
    assert poll.status_code == 200 and "deploying" in poll.content.decode()
    services.change_status(scopes["acme"], model.model_id, "1.0.0", "deployed")
    poll = acme_admin.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="models")
    assert poll.status_code == 286
    assert 'hx-trigger="every 2s"' not in poll.content.decode() and "deployed" in poll.content.decode()


def test_a_filter_change_answers_the_partial_not_a_stop(acme_admin, register):
    register()
    response = acme_admin.get("/models/?status=registered", HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="filters")
    assert response.status_code == 200
    assert "<html" not in response.content.decode() and 'id="models"' in response.content.decode()


def test_staff_filter_every_tenant_by_status(people, register, scopes):
    acme_model = register()
    globex_model = register(scope=scopes["globex"], project=make_project("globex"))
    services.change_status(scopes["globex"], globex_model.model_id, "1.0.0", "deploying", "dev")
    page = client_for(people["staff"]).get("/models/?status=deploying").content.decode()
    assert globex_model.name in page and acme_model.name not in page
