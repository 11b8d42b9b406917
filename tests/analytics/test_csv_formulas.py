"""CSV cells a spreadsheet would run as formulas are neutralised (issue 12, section 2).

Ids that reach the export are pattern-checked at ingestion (they start with a letter or digit),
so the guard is tested at the writer: whatever text a future column carries is made inert.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from dashboard.analytics import csv_export
from tests.analytics.conftest import run, slug


def test_the_export_writes_formula_like_text_as_inert_text(tenant, monkeypatch):
    tenant.post(slug("agent"), run(ago=timedelta(days=1)))
    real_rows = csv_export.rows

    def rows_with_formulas(data):
        out = real_rows(data)
        return [*out, ["top_user", '=HYPERLINK("http://evil.test")', "@SUM(A1)", "-3", "+cmd|' /C calc'!A0"]]

    monkeypatch.setattr(csv_export, "rows", rows_with_formulas)
    response = tenant.client.get("/analytics/export.csv?period=7")
    last = list(csv.reader(io.StringIO(response.content.decode())))[-1]
    assert last[:5] == [
        "top_user",
        '\'=HYPERLINK("http://evil.test")',
        "'@SUM(A1)",
        "-3",
        "'+cmd|' /C calc'!A0",
    ]
    period = next(
        row for row in csv.DictReader(io.StringIO(response.content.decode())) if row["section"] == "period"
    )
    assert period["executions"] == "1"  # figures stay figures


def test_formulas_behind_leading_spaces_or_line_breaks_are_neutralised_too():
    from dashboard.core.csv_cells import safe_cell

    for text in (" =1+1", '\n=HYPERLINK("http://evil.test")', "  @SUM(A1)", "\r\n+cmd", " \t-2+3"):
        assert safe_cell(text) == "'" + text
    assert safe_cell("-3") == "-3" and safe_cell(" plain text") == " plain text"
