"""What a window's email says about a source that refused us during the window.

A source that was resting (see `adapters/host_health.py`) while the window ran may have held
filings back, and an email that only said "no alerts" would read as "no filings". So the email
names each such source, how long it was blocked within the window, and how many announcement
batches still wait for attachments.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from handlers.domain.windows import Window, to_wib


def blocked_lines(states: Mapping[str, Mapping[str, Any]], window: Window, now: datetime,
                  waiting_batches: int) -> list[str]:
    lines = []
    for host, state in states.items():
        minutes = _blocked_minutes(state, window, now)
        if minutes is not None:
            since = _block_start(state)
            lines.append(f"{host} refused us and was rested for {minutes} min of this window "
                         f"(blocked since {to_wib(since):%Y-%m-%d %H:%M} WIB); "
                         f"{waiting_batches} announcement batch(es) still wait for attachments.")
    return lines


def _block_start(state: Mapping[str, Any]) -> datetime:
    last = state.get("last_block") or {}
    return datetime.fromisoformat(str(state.get("blocked_since") or last.get("since")))


def _blocked_minutes(state: Mapping[str, Any], window: Window, now: datetime) -> int | None:
    """Minutes of the window the source was blocked, or None when it was not."""
    last = state.get("last_block") if isinstance(state.get("last_block"), Mapping) else {}
    if state.get("blocked_since"):
        start, end = datetime.fromisoformat(str(state["blocked_since"])), now
    elif last and last.get("since") and last.get("until"):
        start, end = datetime.fromisoformat(last["since"]), datetime.fromisoformat(last["until"])
    else:
        return None
    overlap_s = (min(end, window.end) - max(start, window.start)).total_seconds()
    return max(1, round(overlap_s / 60)) if overlap_s > 0 else None
