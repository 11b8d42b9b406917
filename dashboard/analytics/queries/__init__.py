"""The analytics reads, one module a topic (each states its DynamoDB call budgets):

- `rollup_reads`: rollup reads whose cost does not grow with the number of executions, days or distinct
  values (daily rows, exact top lists, kept first pages of settled buckets, figures of given values);
- `history`: the execution history (filtered pages, totals of the filtered set, CSV rows, one
  execution) and recent errors;
- `budget`: the month against its budget;
- `prices`: staff prices as the pages read them, and models that have none;
- `traces`: a trace's stored items, and the step view of an execution recorded from one;
- `people`: one conversation (the session page) and one end user (the person page);
- `windows`: figures of a window of whole days or hours per tenant, model, agent, user, environment or
  tag (alert rules);
- `template_costs`: marketplace templates' 30-day figures across tenants, a page of cards in one call.

The names callers use are re-exported here (`queries.top`, `queries.list_executions`, …).
"""

from dashboard.analytics.queries.budget import BudgetStatus, budget_status, budget_window, forecast
from dashboard.analytics.queries.history import (
    EXPORT_ROWS,
    PAGE_SIZE,
    SORT_WINDOW,
    SORTS,
    ExecutionPage,
    ExecutionView,
    Export,
    FilteredTotals,
    execution_page,
    export_rows,
    filter_suggestions,
    filtered_totals,
    get_execution,
    list_executions,
    recent_errors,
    sort_rows,
)
from dashboard.analytics.queries.people import PersonView, SessionView, person_page, session_page
from dashboard.analytics.queries.prices import (
    PricesPage,
    Unpriced,
    all_staff_prices,
    changed_since_of,
    price_change_keys,
    prices_changed_since,
    prices_page,
    unpriced_models,
    unpriced_of,
)
from dashboard.analytics.queries.rollup_reads import (
    FIRST_PAGE,
    SETTLED_SECONDS,
    Digest,
    Snapshot,
    TopPages,
    by_day,
    costliest_in,
    daily,
    digest_keys,
    figures,
    figures_of,
    page_keys,
    top,
)
from dashboard.analytics.queries.traces import EXECUTION_ID, TraceView, execution_steps, read_trace
from dashboard.analytics.queries.windows import window_every, window_top, window_totals

__all__ = [
    "EXPORT_ROWS",
    "FIRST_PAGE",
    "PAGE_SIZE",
    "SETTLED_SECONDS",
    "SORT_WINDOW",
    "SORTS",
    "BudgetStatus",
    "Digest",
    "EXECUTION_ID",
    "ExecutionPage",
    "Export",
    "ExecutionView",
    "FilteredTotals",
    "PersonView",
    "PricesPage",
    "SessionView",
    "Snapshot",
    "TopPages",
    "TraceView",
    "Unpriced",
    "all_staff_prices",
    "budget_status",
    "budget_window",
    "by_day",
    "costliest_in",
    "daily",
    "digest_keys",
    "execution_page",
    "execution_steps",
    "export_rows",
    "figures",
    "figures_of",
    "filter_suggestions",
    "filtered_totals",
    "forecast",
    "get_execution",
    "list_executions",
    "page_keys",
    "person_page",
    "changed_since_of",
    "price_change_keys",
    "prices_changed_since",
    "prices_page",
    "read_trace",
    "recent_errors",
    "session_page",
    "sort_rows",
    "top",
    "unpriced_models",
    "unpriced_of",
    "window_every",
    "window_top",
    "window_totals",
]
