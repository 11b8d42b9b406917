import re

import pytest

from dashboard.marketplace import queries, services
from dashboard.marketplace.inputs import BrowseFilters
from tests.conftest import assert_fragment, client_for, element_by_id
from tests.marketplace.conftest import word


def shown_ids(html: str) -> list[str]:
    return re.findall(r'data-template-id="([^"]+)"', html)


def test_it_lists_public_templates_of_every_tenant_and_the_viewers_private_ones(acme_admin, make_template):
    token = word()
    mine = make_template("acme", state="draft", name=f"Mine {token}")
    theirs_public = make_template("globex", state="approved", name=f"Theirs {token}")
    theirs_private = make_template("globex", state="draft", name=f"Secret {token}")
    ids = shown_ids(acme_admin.get("/templates/", {"sort": "newest"}).content.decode())
    assert mine.template_id in ids and theirs_public.template_id in ids
    assert theirs_private.template_id not in ids


def test_a_rejected_template_never_appears_in_the_public_catalogue(
    acme_admin, globex_admin, moderator, make_template
):
    token = word()
    rejected = make_template("acme", state="rejected", name=f"Rejected {token}")
    for client in (acme_admin, globex_admin, moderator):
        for params in ({"sort": "newest", "visibility": "public"}, {"q": token, "visibility": "public"}):
            assert rejected.template_id not in shown_ids(client.get("/templates/", params).content.decode())
    for client in (globex_admin, moderator):
        for params in ({"sort": "newest"}, {"q": token}):
            assert rejected.template_id not in shown_ids(client.get("/templates/", params).content.decode())


def test_a_pending_template_is_not_listed_before_approval(globex_admin, make_template):
    token = word()
    pending = make_template("acme", state="pending", name=f"Pending {token}")
    assert pending.template_id not in shown_ids(
        globex_admin.get("/templates/", {"q": token}).content.decode()
    )


def test_the_category_filter_keeps_only_that_category(acme_admin, make_template):
    token = word()
    finance = make_template("acme", state="approved", category="finance", name=f"Ledger {token}")
    sales = make_template("acme", state="approved", category="sales", name=f"Leads {token}")
    ids = shown_ids(acme_admin.get("/templates/", {"category": "finance", "sort": "newest"}).content.decode())
    assert finance.template_id in ids and sales.template_id not in ids


def test_the_visibility_filter_splits_public_and_private(acme_admin, make_template):
    public = make_template("acme", state="approved")
    private = make_template("acme", state="draft")
    public_ids = shown_ids(
        acme_admin.get("/templates/", {"visibility": "public", "sort": "newest"}).content.decode()
    )
    private_ids = shown_ids(
        acme_admin.get("/templates/", {"visibility": "private", "sort": "newest"}).content.decode()
    )
    assert public.template_id in public_ids and private.template_id not in public_ids
    assert private.template_id in private_ids and public.template_id not in private_ids


def test_popular_sort_puts_the_most_used_first(scopes, make_template, project_of):
    category = "research"
    templates = [make_template("acme", state="approved", category=category) for _ in range(3)]
    project = project_of("acme")
    for uses, template in zip((1, 3, 2), templates, strict=True):
        for _ in range(uses):
            services.use_template(scopes["acme"], template.template_id, project.project_id)
    page = queries.browse(scopes["acme"], BrowseFilters(category=category, sort="popular"), limit=100)
    ids = [t.template_id for t in page]
    assert (
        ids.index(templates[1].template_id)
        < ids.index(templates[2].template_id)
        < ids.index(templates[0].template_id)
    )
    counts = [t.usage_count for t in page]
    assert counts == sorted(counts, reverse=True)


def test_rating_sort_puts_the_best_rated_first(scopes, make_template):
    token = word()
    low = make_template("globex", state="approved", category="marketing", name=f"Low {token}")
    high = make_template("globex", state="approved", category="marketing", name=f"High {token}")
    services.rate_template(scopes["acme"], low.template_id, 2)
    services.rate_template(scopes["acme"], high.template_id, 5)
    page = queries.browse(scopes["acme"], BrowseFilters(category="marketing", sort="rating"), limit=100)
    ids = [t.template_id for t in page]
    assert ids.index(high.template_id) < ids.index(low.template_id)
    averages = [t.rating_avg for t in page]
    assert averages == sorted(averages, reverse=True)


def test_pages_of_the_merged_list_never_repeat_and_keep_the_order(scopes, make_template):
    category = "operations"
    created = {
        make_template("acme", state=s, category=category).template_id for s in ("approved", "draft") * 4
    }
    seen, cursor, dates = [], None, []
    for _ in range(100):
        page = queries.browse(
            scopes["acme"], BrowseFilters(category=category, sort="newest"), cursor, limit=3
        )
        seen += [t.template_id for t in page]
        dates += [t.created_at for t in page]
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(seen) == len(set(seen))
    assert created <= set(seen)
    assert dates == sorted(dates, reverse=True)


def test_search_finds_words_of_name_description_and_tags(acme_admin, make_template):
    token = word()
    by_name = make_template("acme", name=f"Invoice {token} checker")
    by_description = make_template("acme", state="approved", description=f"Reads {token} receipts")
    by_tag = make_template("globex", state="approved", tags=[token])
    ids = shown_ids(acme_admin.get("/templates/", {"q": token.upper()}).content.decode())
    assert {by_name.template_id, by_description.template_id, by_tag.template_id} <= set(ids)


def test_search_needs_every_word(acme_admin, make_template):
    token = word()
    both = make_template("acme", name=f"Refund {token}", description="Handles refunds politely.")
    one = make_template("acme", name=f"Shipping {token}")
    ids = shown_ids(acme_admin.get("/templates/", {"q": f"{token} refunds"}).content.decode())
    assert both.template_id in ids and one.template_id not in ids


def test_search_without_matches_says_so(acme_admin):
    html = acme_admin.get("/templates/", {"q": word()}).content.decode()
    assert "No template matches" in html


def test_search_keeps_other_tenants_private_templates_out(globex_admin, make_template):
    token = word()
    private = make_template("acme", name=f"Private {token}")
    assert private.template_id not in shown_ids(
        globex_admin.get("/templates/", {"q": token}).content.decode()
    )


def test_an_edit_moves_the_search_words(scopes, acme_admin, make_template):
    old, new = word(), word()
    template = make_template("acme", name=f"Report {old}")
    data = {**template.to_dict(), "name": f"Report {new}", "tags": ",".join(template.tag_list)}
    services.update_template(scopes["acme"], template.template_id, data, template.version)
    assert template.template_id not in shown_ids(acme_admin.get("/templates/", {"q": old}).content.decode())
    assert template.template_id in shown_ids(acme_admin.get("/templates/", {"q": new}).content.decode())


def test_featured_templates_stand_out_at_the_top(acme_admin, make_template):
    featured = make_template("globex", state="featured")
    html = acme_admin.get("/templates/").content.decode()
    strip = html[html.index("tpl-featured-strip") : html.index('id="template-list"')]
    assert featured.template_id in strip


def test_htmx_gets_only_the_results_and_the_filters_push_the_url(acme_admin):
    full = acme_admin.get("/templates/").content.decode()
    assert 'hx-push-url="true"' in full and 'id="template-filters"' in full
    partial = acme_admin.get("/templates/", {"category": "sales"}, HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="results">') and "<html" not in partial


def test_the_next_page_link_keeps_the_filters(acme_admin, make_template):
    for _ in range(25):
        make_template("acme", category="engineering")
    html = acme_admin.get("/templates/", {"category": "engineering", "sort": "newest"}).content.decode()
    link = re.search(r'class="btn btn-ghost" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "category=engineering" in link and "sort=newest" in link and "cursor=" in link
    first = set(shown_ids(html))
    second = set(shown_ids(acme_admin.get("/templates/" + link).content.decode()))
    assert second and not first & second


@pytest.mark.parametrize("cursor", ["garbage", "eyJ4IjoxfQ:bad:sig"])
def test_a_forged_cursor_is_a_clear_400(acme_admin, cursor):
    response = acme_admin.get("/templates/", {"cursor": cursor})
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_unknown_filter_values_fall_back_to_defaults(acme_admin):
    response = acme_admin.get("/templates/", {"category": "nope", "sort": "weird", "visibility": "?"})
    assert response.status_code == 200
    assert response.context["filters"] == BrowseFilters()
    filters = element_by_id(response.content.decode(), "template-filters")
    assert re.findall(r'<option value="([^"]*)" selected>', filters) == ["all", "popular"]
    fragment = acme_admin.get(
        "/templates/", {"category": "nope", "sort": "weird"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results"
    )
    assert_fragment(fragment, id="results")
    assert fragment.context["filters"] == BrowseFilters()


def test_a_moderator_browses_only_the_public_catalogue(moderator, make_template):
    private = make_template("acme")
    public = make_template("acme", state="approved")
    ids = shown_ids(moderator.get("/templates/", {"sort": "newest"}).content.decode())
    assert public.template_id in ids and private.template_id not in ids


def test_staff_see_private_templates_of_every_tenant_or_of_the_one_chosen(people, make_template):
    acme_private = make_template("acme")
    globex_private = make_template("globex")
    everything = shown_ids(
        client_for(people["staff"]).get("/templates/", {"sort": "newest"}).content.decode()
    )
    assert {acme_private.template_id, globex_private.template_id} <= set(everything)
    only_globex = client_for(people["staff"]).get("/templates/", {"sort": "newest", "tenant": "globex"})
    ids = shown_ids(only_globex.content.decode())
    assert globex_private.template_id in ids and acme_private.template_id not in ids
