"""An experiment's log lines across its runs (the `experiment_id + sk` GSI), for the JSON API."""

from __future__ import annotations

from dashboard.accounts.scope import AccessScope
from dashboard.dynamo.paging import Page, decode_cursor, encode_cursor
from dashboard.logs import lines, reading
from dashboard.logs.models import RunLogLine
from dashboard.logs.reading import LogFilters
from dashboard.logs.services import get_experiment, get_run

KEY_NAMES = ("experiment_key", "run_key", "sk")


def _condition(filters: LogFilters):
    conditions = []
    if filters.severity:
        conditions.append(RunLogLine.severity.is_in(*lines.severities_at_or_above(filters.severity)))
    if filters.component:
        conditions.append(RunLogLine.component == filters.component)
    if filters.text:
        conditions.append(lines.text_matches(filters.text))
    combined = None
    for condition in conditions:
        combined = condition if combined is None else combined & condition
    return combined


def list_lines(
    scope: AccessScope,
    experiment_id: str,
    filters: LogFilters,
    *,
    run_id: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Page[RunLogLine]:
    """Oldest first. With `run_id`, the run's own keys and GSIs serve the filters; across runs the
    experiment GSI is read with the filters applied by DynamoDB, at most `MAX_PAGES` pages a call."""
    if run_id:
        run = get_run(scope, experiment_id, run_id)
        purpose = f"logs:run:{run.run_key}:{sorted(filters.as_params().items())}"
        start = decode_cursor(cursor, purpose)
        window = reading.tail(run.run_key, filters, start["after"] if start else None, limit=limit)
        next_cursor = None if window.complete else encode_cursor({"after": window.position}, purpose)
        return Page(items=window.lines, next_cursor=next_cursor)

    experiment = get_experiment(scope, experiment_id)
    purpose = f"logs:experiment:{experiment.experiment_key}:{sorted(filters.as_params().items())}"
    condition = _condition(filters)
    results = RunLogLine.by_experiment.query(
        experiment.experiment_key,
        RunLogLine.sk > lines.live_floor(),
        filter_condition=condition,
        page_size=reading.SEARCH_PAGE if condition is not None else limit,
        last_evaluated_key=decode_cursor(cursor, purpose),
    )
    found: list[RunLogLine] = []
    for _page_number in range(reading.MAX_PAGES):
        try:
            page = next(results.page_iter)
        except StopIteration:
            return Page(items=found, next_cursor=None)
        for raw in page.get("Items", []):
            found.append(RunLogLine.from_raw_data(raw))
            if len(found) == limit:
                key = {name: raw[name] for name in KEY_NAMES}
                return Page(items=found, next_cursor=encode_cursor(key, purpose))
        if results.page_iter.last_evaluated_key is None:
            return Page(items=found, next_cursor=None)
    return Page(items=found, next_cursor=encode_cursor(results.page_iter.last_evaluated_key, purpose))
