"""The analytics operations, one import away (each lives in the module that names it)."""

from dashboard.analytics.budgets import budget_status, set_budget
from dashboard.analytics.history import ExecutionFilters, get_execution, list_executions
from dashboard.analytics.ingestion import record_runs
from dashboard.analytics.overview import build as build_overview

__all__ = [
    "ExecutionFilters",
    "budget_status",
    "build_overview",
    "get_execution",
    "list_executions",
    "record_runs",
    "set_budget",
]
