"""Log volume counters: how many lines of each severity a run (and its experiment) wrote per minute and
per hour, kept at ingestion so a histogram never reads the lines.

Rows (table `experiment-log-stats`, model `LogStat`):
- an hour row `h#<hour start>` holds 60 × 5 counters (minute × severity);
- a day row `d#<day start>` holds 24 × 5 counters (hour × severity);
each under pk `vol#<run key>` and, for the whole experiment, `vol#<experiment key>`. Ingestion adds to
both rows of both keys with atomic ADDs in the very transaction that writes the lines, so a retried
line (already stored, its put refused) is never counted twice.

Why these two sizes: a histogram shows at most `MAX_BARS` bars whatever the run's size. A window of
up to `MINUTE_VIEW_HOURS` hours is drawn per minute from its hour rows (at most 7 rows, ~2.5 KB each);
anything longer per hour or per day from its day rows (at most 31: lines live 30 days). So a view is
one Query of at most 31 small items (≤ 80 KB, ≤ 10 read units eventually consistent), for 10 lines or
10 million: the count of lines never enters the cost, only the window's length.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from dashboard.experiments.models import SEVERITIES, SEVERITY_LETTERS

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
MINUTE_VIEW_HOURS = 6  # windows up to this long are drawn per minute (≤ 360 bars)
HOUR_VIEW_DAYS = 10  # then per hour up to this long (≤ 240 bars), then per day
MAX_BARS = 360


def pk(key: str) -> str:
    """The volume rows' partition of a run key or an experiment key."""
    return f"vol#{key}"


def hour_sk(ts_ms: int) -> str:
    return f"h#{ts_ms - ts_ms % HOUR_MS:013d}"


def day_sk(ts_ms: int) -> str:
    return f"d#{ts_ms - ts_ms % DAY_MS:013d}"


def counter(slot: int, severity: str) -> str:
    return f"c{slot:02d}{SEVERITY_LETTERS[severity]}"


def row_start(sk: str) -> int:
    return int(sk[2:])


@dataclass
class Increments:
    """The ADDs one transaction makes: {(pk, sk): {attribute: count}}."""

    rows: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)

    def add(self, keys: Iterable[str], ts_ms: int, severity: str) -> None:
        minute = (ts_ms % HOUR_MS) // MINUTE_MS
        hour = (ts_ms % DAY_MS) // HOUR_MS
        for key in keys:
            for sk, slot in ((hour_sk(ts_ms), minute), (day_sk(ts_ms), hour)):
                counts = self.rows.setdefault((pk(key), sk), {})
                name = counter(slot, severity)
                counts[name] = counts.get(name, 0) + 1


def rows_touched(keys: Iterable[str], ts_ms: int) -> set[tuple[str, str]]:
    """The rows one line adds to (to size a transaction before building it)."""
    return {(pk(key), sk) for key in keys for sk in (hour_sk(ts_ms), day_sk(ts_ms))}


@dataclass
class Histogram:
    """Bars of `bucket_ms` from `start_ms`: each {"start": ms, "counts": {severity: n}}."""

    start_ms: int
    end_ms: int
    bucket_ms: int
    bars: list[dict] = field(default_factory=list)
    total: int = 0
    queries: int = 0

    @property
    def resolution(self) -> str:
        return {MINUTE_MS: "minute", HOUR_MS: "hour", DAY_MS: "day"}[self.bucket_ms]

    def series(self) -> dict:
        """The chart's figures: bar starts and one list of counts per severity."""
        return {
            "starts": [bar["start"] for bar in self.bars],
            "bucket_ms": self.bucket_ms,
            "severities": {sev: [bar["counts"].get(sev, 0) for bar in self.bars] for sev in SEVERITIES},
        }


def bucket_for(span_ms: int) -> int:
    if span_ms <= MINUTE_VIEW_HOURS * HOUR_MS:
        return MINUTE_MS
    if span_ms <= HOUR_VIEW_DAYS * DAY_MS:
        return HOUR_MS
    return DAY_MS


def bars_from_rows(rows: list[dict], start_ms: int, end_ms: int, bucket_ms: int) -> list[dict]:
    """Bars of `bucket_ms` over [start_ms, end_ms) from hour rows (minute bars) or day rows (hour and
    day bars); `rows` are raw items ({"sk": {"S": …}, "c07e": {"N": …}})."""
    start = start_ms - start_ms % bucket_ms
    totals: dict[int, dict[str, int]] = {}
    slot_ms = MINUTE_MS if bucket_ms == MINUTE_MS else HOUR_MS
    for row in rows:
        row_ms = row_start(row["sk"]["S"])
        for name, value in row.items():
            if not (name.startswith("c") and len(name) == 4 and name[1:3].isdigit()):
                continue
            at = row_ms + int(name[1:3]) * slot_ms
            if not start_ms - slot_ms < at < end_ms:
                continue
            severity = next(sev for sev, letter in SEVERITY_LETTERS.items() if letter == name[3])
            bar = at - at % bucket_ms
            counts = totals.setdefault(bar, {})
            counts[severity] = counts.get(severity, 0) + int(value["N"])
    bars = []
    at = start
    while at < end_ms and len(bars) < MAX_BARS + 1:
        bars.append({"start": at, "counts": totals.get(at, {})})
        at += bucket_ms
    return bars
