"""The periodic timer: monotonic deadlines, missed periods skipped.

After a stall (a suspended VM, a long job) a job runs once, not once per missed period. Time is
passed in, so tests drive the timer without patching the clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Entry:
    name: str
    period_s: Callable[[], float]
    deadline: float


class Timer:
    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def add(self, name: str, period_s: Callable[[], float], now: float, *,
            run_at_start: bool = True) -> None:
        first = now if run_at_start else now + period_s()
        self._entries[name] = _Entry(name, period_s, first)

    def due(self, now: float) -> list[str]:
        """Names of the jobs whose deadline has passed; their next deadline is set."""
        ready = []
        for entry in self._entries.values():
            if now >= entry.deadline:
                ready.append(entry.name)
                entry.deadline = _next_deadline(entry.deadline, entry.period_s(), now)
        return ready

    def seconds_to_next(self, now: float) -> float | None:
        if not self._entries:
            return None
        return max(0.0, min(entry.deadline for entry in self._entries.values()) - now)

    def run_soon(self, name: str, now: float) -> None:
        """Bring a job's deadline forward to now (an inotify overflow asks for a rescan)."""
        self._entries[name].deadline = now


def _next_deadline(deadline: float, period_s: float, now: float) -> float:
    """The first deadline on the job's grid strictly after `now`: missed periods are skipped."""
    missed = math.floor((now - deadline) / period_s) + 1
    return deadline + missed * period_s
