"""Issue 35, point 8: a flow made from a template carries its settings (API too); settings that break
their node type's JSON Schema are shown to the author and to the moderator in the queue; a template
waiting for review says so; node settings read as indented rows, not `variables[0]`."""

from __future__ import annotations

import copy
import html
import json
import re

from dashboard.flows.models import NodeConfig
from dashboard.marketplace.models import AgentTemplate
from tests.conftest import element_by_id
from tests.flows.conftest import build_flow
from tests.marketplace.conftest import DEFINITION, word

LLM = {"provider": "anthropic", "model": "claude-3-5-haiku", "temperature": 0.2, "max_tokens": 512}
PROMPT = {
    "role": "user",
    "template": "Answer {{question}} about {{topic}}.",
    "variables": ["question", "topic"],
}


def save_from_flow(client, flow, visibility="public") -> AgentTemplate:
    response = client.post(
        f"/flows/{flow.flow_id}/template/",
        {"name": f"From flow {word()}", "category": "engineering", "visibility": visibility},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return AgentTemplate.get(response["Location"].strip("/").split("/")[-1], consistent_read=True)


def test_a_flow_used_through_the_api_carries_the_templates_settings_and_own_secrets(
    acme_admin, moderator, api_client, project_of
):
    flow = build_flow(
        "acme",
        name=f"Configured {word()}",
        configs={"llm": {**LLM, "api_key": "sk-acme-secret-key-1"}, "prompt": PROMPT},
    )
    template = save_from_flow(acme_admin, flow)
    moderator.post(f"/templates/{template.template_id}/moderate/approve/", {"version": template.version})
    project = project_of("globex")
    (item,) = api_client("globex").get(f"/api/templates/{template.template_id}").json()["inputs"]
    response = api_client("globex").post(
        f"/api/templates/{template.template_id}/use",
        json.dumps({"project_id": project.project_id, "inputs": {item["field"]: "sk-globex-own-key-2"}}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    flow_id = response.json()["flow_id"]
    assert NodeConfig.get(flow_id, flow.node_id("llm")).config == {**LLM, "api_key": "sk-globex-own-key-2"}
    assert NodeConfig.get(flow_id, flow.node_id("prompt")).config == PROMPT


def test_using_a_template_without_settings_does_not_claim_its_settings(acme_admin, make_template, project_of):
    template = make_template("globex", state="approved")
    response = acme_admin.post(
        f"/templates/{template.template_id}/use/", {"project_id": project_of("acme").project_id}, follow=True
    )
    page = response.content.decode()
    assert "with its settings" not in page and "run on their types" in page


def _queue_page_holding(moderator, template_id: str) -> str:
    """The queue page (oldest first) holding the template, following "Next" as a moderator would:
    the session's other tests leave templates waiting too."""
    url = "/templates/moderation/"
    for _ in range(100):
        page = moderator.get(url).content.decode()
        if template_id in page:
            return page
        following = re.search(r'<a class="btn btn-ghost" href="([^"]+)" rel="next"', page)
        assert following, "the template is on no page of the queue"
        url = "/templates/moderation/" + html.unescape(following.group(1))
    raise AssertionError("the queue has more pages than a moderator would read")


def test_invalid_settings_are_shown_to_the_author_and_in_the_moderators_queue(acme_admin, moderator):
    flow = build_flow("acme", name=f"Broken {word()}", configs={"output": {"format": "pdf"}, "llm": LLM})
    response = acme_admin.post(
        f"/flows/{flow.flow_id}/template/",
        {"name": f"Broken {word()}", "category": "engineering", "visibility": "public"},
        follow=True,
    )
    page = response.content.decode()
    assert "break" in page and "its node type" in page  # the flash, right after saving
    problems = element_by_id(page, "setting-problems")
    assert problems and "Output step" in problems and "<code>format</code>" in problems
    template = AgentTemplate.get(response.redirect_chain[-1][0].strip("/").split("/")[-1])
    assert [(p["node_id"], p["path"]) for p in template.setting_problems] == [
        (flow.node_id("output"), "format")
    ]

    queue = _queue_page_holding(moderator, template.template_id)
    row = queue[queue.index(template.template_id) :]
    row = row[: row.index("</tr>")]
    assert "1 invalid setting" in row and "<code>format</code>" in row
    assert "setting-problems" in moderator.get(f"/templates/{template.template_id}/").content.decode()


def test_a_template_waiting_for_review_is_badged_in_review_not_private(acme_admin, make_template):
    template = make_template("acme", state="pending")
    page = acme_admin.get(f"/templates/{template.template_id}/").content.decode()
    badges = page[page.index('class="tpl-badges"') :][:800]
    assert "In review" in badges and "Private" not in badges
    browse = acme_admin.get("/templates/", {"visibility": "private", "q": template.name.split()[-1]})
    card = browse.content.decode()
    assert "In review" in card[card.index(template.template_id) - 1500 :][:3000]


def test_node_settings_read_as_indented_rows_not_list_indexes(acme_admin, make_template):
    definition = copy.deepcopy(DEFINITION)
    definition["nodes"][0]["config"] = PROMPT
    definition["nodes"][2]["config"] = {**LLM, "retry": {"max_attempts": 3, "backoff_seconds": 2}}
    template = make_template("acme", definition=definition)
    settings = element_by_id(
        acme_admin.get(f"/templates/{template.template_id}/").content.decode(), "node-settings"
    )
    assert "variables[0]" not in settings and "[1]" not in settings
    assert "question\ntopic" in settings
    assert '<dt class="depth-0 group" title="retry">retry</dt>' in settings
    assert '<dt class="depth-1" title="retry.max_attempts">max_attempts</dt>' in settings
