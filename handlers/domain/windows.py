"""WIB time windows: which announcements an ingest run asks for, and how files are named.

A window is `[start, end]` in WIB (Asia/Jakarta, UTC+7, no DST), inclusive on both ends as in
the original system. It can be the last N minutes or hours, an explicit date with HH:MM bounds
(an end before the start crosses midnight), a range of whole days, or automatic: from the last
ingested end minus an overlap. The stub `YYYYmmdd_HHMM_YYYYmmdd_HHMM` names files. Email
windows (rollover) are different: aligned WIB periods, half-open `[start, end)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

WIB = timezone(timedelta(hours=7), "WIB")
DEFAULT_LOOKBACK_MIN = 120
DEFAULT_OVERLAP_MIN = 5
DAY_END = time(23, 59, 59)


@dataclass(frozen=True)
class Window:
    start: datetime  # aware, WIB
    end: datetime  # aware, WIB

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if self.end < self.start:
            raise ValueError(f"window end {self.end} is before its start {self.start}")

    @property
    def stub(self) -> str:
        return f"{_stamp(self.start)}_{_stamp(self.end)}"

    def days(self) -> list[date]:
        """Every WIB calendar day the window touches, in order (one exchange query each)."""
        first, last = self.start.astimezone(WIB).date(), self.end.astimezone(WIB).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def contains(self, instant: datetime) -> bool:
        """Inclusive on both ends, like the original's filter."""
        return self.start <= instant <= self.end

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.start.astimezone(WIB).date().isoformat(),
            "start": to_wib(self.start).isoformat(),
            "end": to_wib(self.end).isoformat(),
            "stub": self.stub,
            "days": [day.isoformat() for day in self.days()],
        }


def to_wib(instant: datetime) -> datetime:
    """An aware instant in WIB; a naive one is taken to be WIB already (the exchange's way)."""
    if instant.tzinfo is None:
        return instant.replace(tzinfo=WIB)
    return instant.astimezone(WIB)


def last_minutes(now: datetime, minutes: float) -> Window:
    end = to_wib(now)
    return Window(end - timedelta(minutes=minutes), end)


def last_hours(now: datetime, hours: float) -> Window:
    return last_minutes(now, hours * 60)


def explicit(day: date, start_hhmm: str, end_hhmm: str) -> Window:
    """`day` from `start_hhmm` to `end_hhmm`; an end earlier than the start is on the next day."""
    start = datetime.combine(day, parse_hhmm(start_hhmm), WIB)
    end = datetime.combine(day, parse_hhmm(end_hhmm), WIB)
    if end < start:
        end += timedelta(days=1)
    return Window(start, end)


def whole_days(first: date, last: date) -> Window:
    if last < first:
        raise ValueError(f"the last day {last} is before the first day {first}")
    return Window(datetime.combine(first, time(0, 0), WIB), datetime.combine(last, DAY_END, WIB))


def auto(now: datetime, last_end: datetime | None, *, overlap_min: float = DEFAULT_OVERLAP_MIN,
         lookback_min: float = DEFAULT_LOOKBACK_MIN) -> Window:
    """From the last ingested end minus the overlap to now; the last 2 h with no state yet."""
    end = to_wib(now)
    if last_end is None:
        return Window(end - timedelta(minutes=lookback_min), end)
    start = min(to_wib(last_end) - timedelta(minutes=overlap_min), end)
    return Window(start, end)


def aligned_window(instant: datetime, period_s: int = 7200) -> Window:
    """The email window containing `instant`: WIB periods aligned on midnight, `[start, end)`."""
    if period_s <= 0 or 86400 % period_s:
        raise ValueError(f"an email window of {period_s} s does not divide a day")
    local = to_wib(instant)
    midnight = datetime.combine(local.date(), time(0, 0), WIB)
    elapsed_s = (local - midnight).total_seconds()
    start = midnight + timedelta(seconds=int(elapsed_s // period_s) * period_s)
    return Window(start, start + timedelta(seconds=period_s))


def parse_hhmm(text: str) -> time:
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day as HH:MM") from None


def parse_day(text: str) -> date:
    """`YYYYMMDD` or `YYYY-MM-DD`."""
    cleaned = text.strip()
    for layout in ("%Y%m%d", "%Y-%m-%d"):
        try:
            return datetime.strptime(cleaned, layout).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date as YYYYMMDD or YYYY-MM-DD")


def parse_instant(text: str) -> datetime:
    """ISO-8601 (with `Z` or an offset) or a naive WIB time; returned in WIB."""
    return to_wib(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))


def _stamp(instant: datetime) -> str:
    return to_wib(instant).strftime("%Y%m%d_%H%M")
