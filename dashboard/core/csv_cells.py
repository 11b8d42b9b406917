"""CSV cells a spreadsheet would run as a formula, neutralised (OWASP's CSV injection advice)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def safe_cell(value: Any) -> Any:
    """`value`, with a leading single quote when it is text a spreadsheet would evaluate.

    Numbers stay numbers (`-12.5` is not a formula); names such as `=HYPERLINK(…)` or `@SUM(…)`
    that a tenant stored become inert text.
    """
    if not isinstance(value, str) or _PLAIN_NUMBER.fullmatch(value):
        return value
    # Spreadsheets skip leading spaces and line breaks before a formula (` =1+1`, `\n@SUM(…)`).
    if value.startswith(FORMULA_STARTS) or value.lstrip().startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_rows(rows: Iterable[Iterable[Any]]) -> list[list[Any]]:
    return [[safe_cell(cell) for cell in row] for row in rows]
