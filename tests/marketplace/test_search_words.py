"""Template search finds word beginnings and either spelling of the usual British/American pairs."""

import re

from tests.marketplace.conftest import word


def shown_ids(html: str) -> list[str]:
    return re.findall(r'data-template-id="([^"]+)"', html)


def test_the_start_of_a_word_finds_the_template(acme_admin, make_template):
    token = word()
    refund = make_template("acme", name=f"Refund assistant {token}")
    ids = shown_ids(acme_admin.get("/templates/", {"q": "refu " + token[:6]}).content.decode())
    assert refund.template_id in ids


def test_a_british_spelling_finds_the_american_one_and_back(acme_admin, make_template):
    token = word()
    american = make_template("acme", name=f"Ticket summarizer {token}", description="Optimizes replies.")
    british = make_template("acme", name=f"Colour picker {token}")
    for query, expected in (
        ("summariser", american),
        ("optimise", american),
        ("color", british),
        ("colours", british),
    ):
        ids = shown_ids(acme_admin.get("/templates/", {"q": f"{query} {token}"}).content.decode())
        assert expected.template_id in ids, query


def test_a_prefix_of_no_word_finds_nothing(acme_admin, make_template):
    token = word()
    template = make_template("acme", name=f"Refund assistant {token}")
    ids = shown_ids(acme_admin.get("/templates/", {"q": f"refx {token}"}).content.decode())
    assert template.template_id not in ids
