"""Template hygiene, checked: a template used only through `{% include %}` lives in a `partials/`
folder (the shared `templates/partials/`, or an area's `templates/<area>/partials/`), and a template in
one is never rendered on its own; lines stay readable; links carry their queries through a tag.

Pure file checks (no DynamoDB, no rendering); every area follows them.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
INCLUDE = re.compile(r"""\{%\s*include\s+["']([^"']+)["']""")
# A template name in Python (views, tags, middleware) or in `{% extends %}`: rendered on its own.
NAMED = re.compile(r"""["']([\w/.-]+\.html)["']""")
EXTENDS = re.compile(r"""\{%\s*extends\s+["']([^"']+)["']""")
MAX_LINE = 200
# A query built by hand around a value: `?page={{ … }}`, `&sort={{ … }}`, `…%}?tab=…`.
HAND_BUILT_QUERY = re.compile(r"""(?:[?&]|&amp;)[\w-]+=\{\{|[%}]\}\?[\w-]+=|["']\?[\w-]+=""")


def _templates() -> dict[str, str]:
    return {path.relative_to(TEMPLATES).as_posix(): path.read_text() for path in TEMPLATES.rglob("*.html")}


def _rendered_on_their_own(templates: dict[str, str]) -> set[str]:
    names = set()
    for path in (ROOT / "dashboard").rglob("*.py"):
        names.update(NAMED.findall(path.read_text()))
    for text in templates.values():
        names.update(EXTENDS.findall(text))
    return names & set(templates)


def include_only(templates: dict[str, str]) -> set[str]:
    included = {name for text in templates.values() for name in INCLUDE.findall(text)}
    return included - _rendered_on_their_own(templates)


def naming_problems(templates: dict[str, str]) -> list[str]:
    only = include_only(templates)
    rendered = _rendered_on_their_own(templates)
    problems = [
        f"{name} is only included: move it to a partials/ folder"
        for name in sorted(only)
        if "partials" not in name.split("/")[:-1]
    ]
    problems += [
        f"{name} is in a partials/ folder but rendered on its own"
        for name in sorted(rendered)
        if "partials" in name.split("/")[:-1]
    ]
    return problems


def test_include_only_templates_live_in_a_partials_folder():
    assert naming_problems(_templates()) == []


def test_the_naming_rule_catches_an_include_only_template_outside_partials():
    """The check itself, on a made-up tree: it must fail for a misplaced include-only template."""
    tree = {
        "marketplace/browse.html": '{% include "marketplace/card.html" %}{% include "partials/pager.html" %}',
        "marketplace/card.html": "<article></article>",
        "partials/pager.html": "<nav></nav>",
    }
    assert naming_problems(tree) == ["marketplace/card.html is only included: move it to a partials/ folder"]


def test_template_lines_stay_readable():
    long = [
        f"{name}:{number} has {len(line)} characters"
        for name, text in _templates().items()
        for number, line in enumerate(text.splitlines(), start=1)
        if len(line) > MAX_LINE
    ]
    assert long == []


def test_links_build_their_queries_with_a_tag():
    """`{% url_with 'view' name=value %}` for another page, `{% querystring %}` for this one: values
    are encoded, and the other parameters kept."""
    by_hand = [
        f"{name}:{number}: {match.group()}"
        for name, text in _templates().items()
        for number, line in enumerate(text.splitlines(), start=1)
        for match in HAND_BUILT_QUERY.finditer(line)
    ]
    assert by_hand == []


def test_url_with_encodes_each_value_and_leaves_out_empty_ones():
    from django.template import Context, Template

    link = Template(
        "{% load dashboard %}{% url_with 'marketplace:browse' q=tag visibility='' category=none %}"
    ).render(Context({"tag": "r&d #1", "none": None}))
    assert link == "/templates/?q=r%26d+%231"
    both = Template("{% load dashboard %}{% url_with 'flows:list' project='p 1' cursor='c' %}").render(
        Context()
    )
    assert both == "/flows/?project=p+1&amp;cursor=c"  # an HTML attribute's &, escaped


def test_url_with_takes_a_views_arguments_and_repeats_a_parameter_given_a_list():
    from django.template import Context, Template

    link = Template(
        "{% load dashboard %}{% url_with 'experiments:compare' experiment run=runs metric='' %}"
    ).render(Context({"experiment": "exp 1", "runs": ["r/1", "", "r&2"]}))
    assert link == "/experiments/exp%201/compare/?run=r%2F1&amp;run=r%262"
    none = Template("{% load dashboard %}{% url_with 'experiments:compare' 'e' run=runs %}").render(
        Context({"runs": []})
    )
    assert none == "/experiments/e/compare/"
