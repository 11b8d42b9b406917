"""The node configuration page: a form generated from the schema, inline validation, versioned saves."""

import html
import json
import re

from dashboard.audit.models import AuditEvent
from dashboard.flows.models import FlowNode, NodeConfig
from dashboard.flows.node_types import SECRET_MASK
from tests.flows.conftest import build_flow

LLM = {
    "provider": "anthropic",
    "model": "claude-3-5-haiku",
    "temperature": 0.3,
    "max_tokens": 800,
    "api_key": "sk-live-very-secret-4242",
    "retry": {"max_attempts": 1},
}


def llm_form(**changes) -> dict:
    data = {
        "_version": "0",
        "_editor": "form",
        "provider": "openai",
        "model": "gpt-4o",
        "temperature": "0.5",
        "max_tokens": "256",
        "top_p": "1",
        "stop": "",
        "api_key": "",
        "retry.max_attempts": "2",
        "retry.backoff_seconds": "1",
    }
    data.update(changes)
    return data


def stored(built, node_type: str) -> NodeConfig | None:
    try:
        return NodeConfig.get(built.flow_id, built.node_id(node_type), consistent_read=True)
    except NodeConfig.DoesNotExist:
        return None


def field_html(body: str, name: str) -> str:
    return re.search(rf'<(input|select|textarea)[^>]*name="{re.escape(name)}"[^>]*>', body).group(0)


def test_the_form_is_generated_from_the_schema_with_defaults_filled(acme_admin, acme_flow):
    body = acme_admin.get(acme_flow.config_url("llm")).content.decode()
    assert '<select name="provider"' in body and '<option value="openai" selected>' in body
    temperature = field_html(body, "temperature")
    assert 'type="number"' in temperature and 'min="0"' in temperature and 'max="2"' in temperature
    assert 'value="0.7"' in temperature
    assert 'type="checkbox"' in field_html(body, "stream")
    assert "<textarea" in field_html(body, "stop")
    assert 'type="password"' in field_html(body, "api_key")
    assert 'value="2"' in field_html(body, "retry.max_attempts")  # nested objects flatten to dotted names
    assert "<legend>Retries</legend>" in body
    assert (
        'hx-trigger="input changed delay:400ms"' in temperature
        and 'hx-post="/flows/node-types/llm/validate/"' in temperature
    )
    assert 'name="_version" value="0"' in body


def test_each_node_type_gets_a_form(acme_admin, acme_flow):
    for node_type in acme_flow.nodes:
        response = acme_admin.get(acme_flow.config_url(node_type))
        assert response.status_code == 200, node_type
        assert "Save configuration" in response.content.decode()


def test_arrays_show_one_value_per_line_and_integer_enums_as_select(acme_admin):
    built = build_flow(
        "acme",
        configs={
            "code": {
                "language": "python",
                "source": "x",
                "memory_mb": 512,
                "packages": ["requests", "attrs==23.2"],
            }
        },
    )
    body = acme_admin.get(built.config_url("code")).content.decode()
    assert ">\nrequests\nattrs==23.2</textarea>" in body
    assert '<option value="512" selected>' in body


def test_secrets_are_never_rendered_in_clear(acme_admin):
    built = build_flow("acme", configs={"llm": LLM})
    for url in (built.config_url("llm"), built.config_url("llm") + "?view=json"):
        body = acme_admin.get(url).content.decode()
        assert "sk-live-very-secret-4242" not in body
        assert SECRET_MASK in body


def test_a_stored_invalid_config_shows_its_errors_next_to_the_fields(acme_admin):
    built = build_flow("acme", configs={"tool": {"name": "lookup", "timeout_seconds": 900}})
    body = acme_admin.get(built.config_url("tool")).content.decode()
    assert re.search(r'id="err-timeout_seconds"[^>]*>Must be at most 300\.<', body)


def test_inline_validation_answers_each_fields_error_out_of_band(acme_admin, acme_flow):
    response = acme_admin.post(
        "/flows/node-types/llm/validate/", llm_form(temperature="5", model=""), HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'id="err-temperature"[^>]*hx-swap-oob="true">Must be at most 2\.<', body)
    assert re.search(r'id="err-model"[^>]*hx-swap-oob="true">This setting is required\.<', body)
    assert re.search(r'id="err-max_tokens"[^>]*hx-swap-oob="true"><', body)  # cleared


def test_inline_validation_of_a_valid_draft_clears_every_error(acme_admin):
    body = acme_admin.post(
        "/flows/node-types/llm/validate/", llm_form(), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert body.count('hx-swap-oob="true"></div>') == body.count("hx-swap-oob") > 5


def test_inline_validation_of_raw_json_lists_paths(acme_admin):
    draft = {"format": "pdf", "max_length": 0}
    response = acme_admin.post(
        "/flows/node-types/output/validate/",
        {"_editor": "json", "_version": "0", "config_json": json.dumps(draft)},
    )
    body = response.content.decode()
    assert "<code>$.format</code> Choose one of: text, markdown, json." in body
    assert "<code>$.max_length</code> Must be at least 1." in body
    broken = acme_admin.post(
        "/flows/node-types/output/validate/",
        {"_editor": "json", "_version": "0", "config_json": '{"format": '},
    ).content.decode()
    assert "Not valid JSON" in broken


def test_validating_an_unknown_type_is_a_clear_404(acme_admin):
    response = acme_admin.post("/flows/node-types/teleport/validate/", {})
    assert response.status_code == 404 and "Unknown node type" in response.content.decode()


def test_saving_a_valid_form_stores_version_1_and_audits_it(acme_admin, acme_flow):
    response = acme_admin.post(acme_flow.config_url("llm"), llm_form(temperature="1.2", stop="###\nEND"))
    assert response.status_code == 302
    item = stored(acme_flow, "llm")
    assert item.version == 1 and item.updated_by == "admin@acme.test"
    assert item.config["temperature"] == 1.2 and item.config["stop"] == ["###", "END"]
    assert item.config["retry"] == {"max_attempts": 2, "backoff_seconds": 1.0}
    page = acme_admin.get(response["Location"]).content.decode()
    assert "Saved version 1" in page
    events = AuditEvent.query("acme", scan_index_forward=False, limit=20)
    event = next(e for e in events if e.target_id == f"{acme_flow.flow_id}/{acme_flow.node_id('llm')}")
    assert event.action == "node_config.save" and event.changes["temperature"] == "0.7 → 1.2"


def test_an_invalid_save_shows_errors_next_to_fields_and_writes_nothing(acme_admin, acme_flow):
    response = acme_admin.post(acme_flow.config_url("llm"), llm_form(max_tokens="0", temperature="abc"))
    body = response.content.decode()
    assert response.status_code == 422
    assert re.search(r'id="err-max_tokens"[^>]*>Must be at least 1\.<', body)
    assert re.search(r'id="err-temperature"[^>]*>Must be a number\.<', body)
    assert stored(acme_flow, "llm") is None


def test_a_blank_secret_keeps_the_stored_one_and_a_new_one_replaces_it(acme_admin):
    built = build_flow("acme", configs={"llm": LLM})
    url = built.config_url("llm")
    assert acme_admin.post(url, llm_form(_version="1", api_key="")).status_code == 302
    assert stored(built, "llm").config["api_key"] == "sk-live-very-secret-4242"
    assert acme_admin.post(url, llm_form(_version="2", api_key=SECRET_MASK)).status_code == 302
    assert stored(built, "llm").config["api_key"] == "sk-live-very-secret-4242"
    assert acme_admin.post(url, llm_form(_version="3", api_key="sk-new-key-0000")).status_code == 302
    item = stored(built, "llm")
    assert item.config["api_key"] == "sk-new-key-0000" and item.version == 4
    events = [
        e
        for e in AuditEvent.query("acme", scan_index_forward=False, limit=20)
        if e.target_id.startswith(built.flow_id)
    ]
    assert events[0].changes["api_key"] == "secret changed"
    assert "sk-" not in json.dumps([e.changes for e in events])


def test_the_remove_box_drops_a_stored_secret(acme_admin):
    built = build_flow("acme", configs={"llm": LLM})
    url = built.config_url("llm")
    assert "Remove the stored secret" in acme_admin.get(url).content.decode()
    assert (
        acme_admin.post(url, llm_form(_version="1", api_key=SECRET_MASK, api_key__clear="on")).status_code
        == 302
    )
    assert "api_key" not in stored(built, "llm").config
    events = [
        e
        for e in AuditEvent.query("acme", scan_index_forward=False, limit=20)
        if e.target_id.startswith(built.flow_id)
    ]
    assert events[0].changes["api_key"] == "secret removed"
    # Nothing stored, nothing to remove: the box is gone.
    assert "Remove the stored secret" not in acme_admin.get(url).content.decode()


def test_a_typed_secret_wins_over_the_remove_box(acme_admin):
    built = build_flow("acme", configs={"llm": LLM})
    url = built.config_url("llm")
    assert (
        acme_admin.post(url, llm_form(_version="1", api_key="sk-new-1", api_key__clear="on")).status_code
        == 302
    )
    assert stored(built, "llm").config["api_key"] == "sk-new-1"


def test_the_second_of_two_conflicting_saves_is_refused(acme_admin, acme_flow):
    url = acme_flow.config_url("llm")
    assert acme_admin.post(url, llm_form(model="first-model")).status_code == 302
    response = acme_admin.post(url, llm_form(model="second-model"))  # also edited version 0
    assert response.status_code == 409
    assert "Someone else saved this node's configuration first" in html.unescape(response.content.decode())
    assert f'href="{url}">Load their version</a>' in response.content.decode()
    item = stored(acme_flow, "llm")
    assert item.config["model"] == "first-model" and item.version == 1


def test_the_raw_json_editor_saves_with_the_same_rules(acme_admin, acme_flow):
    url = acme_flow.config_url("retriever")
    body = html.unescape(acme_admin.get(url + "?view=json").content.decode())
    assert '"top_k": 5' in body and 'name="config_json"' in body
    bad = acme_admin.post(
        url, {"_editor": "json", "_version": "0", "config_json": '{"index": "Docs!", "top_k": 99}'}
    )
    assert bad.status_code == 422
    assert "<code>$.index</code> Use lower-case letters, digits and dashes." in bad.content.decode()
    assert "Docs!" in bad.content.decode()  # the draft stays in the editor
    assert stored(acme_flow, "retriever") is None
    good = acme_admin.post(
        url, {"_editor": "json", "_version": "0", "config_json": '{"index": "docs", "top_k": 9}'}
    )
    assert good.status_code == 302 and good["Location"].endswith("?view=json")
    assert stored(acme_flow, "retriever").config == {"index": "docs", "top_k": 9}
    late = acme_admin.post(
        url, {"_editor": "json", "_version": "0", "config_json": '{"index": "late", "top_k": 1}'}
    )
    assert late.status_code == 409 and stored(acme_flow, "retriever").config["index"] == "docs"


def test_the_editor_tabs_swap_as_htmx_partials(acme_admin, acme_flow):
    body = acme_admin.get(
        acme_flow.config_url("code") + "?view=json", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert body.lstrip().startswith('<div id="editor" data-editor="json">') and "<aside" not in body


def test_another_tenants_node_is_not_found_and_cannot_be_saved(acme_admin, globex_flow):
    url = globex_flow.config_url("llm")
    assert acme_admin.get(url).status_code == 404
    assert acme_admin.post(url, llm_form()).status_code == 404
    assert acme_admin.post(url.replace("/nodes/n01/", "/nodes/n99/"), llm_form()).status_code == 404
    assert stored(globex_flow, "llm") is None


def test_an_unknown_node_is_not_found(acme_admin, acme_flow):
    assert acme_admin.get(f"/flows/{acme_flow.flow_id}/nodes/n99/").status_code == 404


def test_moderators_may_not_edit_configs(moderator, acme_flow):
    assert moderator.get(acme_flow.config_url("llm")).status_code == 403
    assert moderator.post(acme_flow.config_url("llm"), llm_form()).status_code == 403
    assert moderator.post("/flows/node-types/llm/validate/", llm_form()).status_code == 403


def test_a_stored_value_the_schema_forbids_stays_visible_and_flagged(acme_admin):
    built = build_flow("acme", configs={"code": {"language": "cobol", "source": "x", "extra": 1}})
    body = acme_admin.get(built.config_url("code")).content.decode()
    assert '<option value="cobol" selected>cobol (not allowed)</option>' in body
    assert re.search(r'id="err-language"[^>]*>Choose one of: python, javascript\.<', body)
    assert "$.extra: Not a setting of this node type. Saving this form leaves it out." in body
    assert 'value="10"' in field_html(body, "timeout_seconds")  # unsaved settings show their default


def test_a_tampered_version_is_reported_not_ignored(acme_admin, acme_flow):
    response = acme_admin.post(acme_flow.config_url("llm"), llm_form(_version="abc"))
    assert response.status_code == 422 and "_version: Enter a whole number." in response.content.decode()
    assert stored(acme_flow, "llm") is None


def test_a_node_of_an_unknown_type_cannot_be_configured(acme_admin, acme_flow):
    FlowNode(flow_id=acme_flow.flow_id, node_id="n77", tenant_id="acme", node_type="teleport").save()
    response = acme_admin.get(f"/flows/{acme_flow.flow_id}/nodes/n77/")
    assert response.status_code == 404 and "Unknown node type" in response.content.decode()


def test_staff_may_save_any_tenants_node_and_the_audit_lands_in_that_tenant(people, globex_flow):
    from tests.conftest import client_for

    response = client_for(people["staff"]).post(globex_flow.config_url("llm"), llm_form(model="staff-pick"))
    assert response.status_code == 302
    assert stored(globex_flow, "llm").config["model"] == "staff-pick"
    events = AuditEvent.query("globex", scan_index_forward=False, limit=20)
    event = next(e for e in events if e.target_id.startswith(globex_flow.flow_id))
    assert event.actor_label == "staff@diatonic.test"
