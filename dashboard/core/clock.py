"""Time in one place, so tests can move it (rate-limit windows, TTLs, forecasts), and its stored form.

Timestamps are stored as ISO-8601 UTC with milliseconds and `Z`, so strings sort like times.
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def now() -> datetime:
    return datetime.now(UTC)


def epoch_ms(moment: datetime | None = None) -> int:
    return int((moment or now()).timestamp() * 1000)


def iso_ms(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """ISO-8601 with an offset or `Z`; naive times are taken as UTC. ValueError for anything else,
    including times whose UTC value falls outside what a datetime holds (year 1 at +14:00)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("time out of range") from None


def day_start(day: date) -> str:
    return f"{day.isoformat()}T00:00:00.000Z"


def day_end(day: date) -> str:
    return f"{day.isoformat()}T23:59:59.999Z~"
