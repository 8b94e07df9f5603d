"""When is a file ready? Immediately on close-after-write or a rename into the inbox; otherwise
once its size and mtime have not changed for `settle_ms`.

Files seen only as created or modified (copied in from another filesystem, moved in from an
unwatched directory, or any file under the polling observer) wait here until they are stable.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Candidate:
    size: int
    mtime_ns: int
    stable_since: float


class Settler:
    def __init__(self, settle_ms: int, clock: Callable[[], float] = time.monotonic):
        self.settle_s = settle_ms / 1000
        self._clock = clock
        self._candidates: dict[str, _Candidate] = {}
        self._lock = threading.Lock()

    def observe(self, path: str) -> None:
        """A created/modified event: (re)start the stability clock for `path`."""
        signature = _signature(path)
        with self._lock:
            if signature is None:
                self._candidates.pop(path, None)
            else:
                self._candidates[path] = _Candidate(*signature, self._clock())

    def forget(self, path: str) -> None:
        """`path` became ready by another route (close or rename)."""
        with self._lock:
            self._candidates.pop(path, None)

    def due(self) -> list[str]:
        """Paths stable for `settle_ms`, removed from the watch list."""
        now, ready = self._clock(), []
        with self._lock:
            for path, candidate in list(self._candidates.items()):
                signature = _signature(path)
                if signature is None:
                    del self._candidates[path]
                elif signature != (candidate.size, candidate.mtime_ns):
                    self._candidates[path] = _Candidate(*signature, now)
                elif now - candidate.stable_since >= self.settle_s:
                    del self._candidates[path]
                    ready.append(path)
        return ready

    def seconds_to_next(self) -> float | None:
        """How long until the earliest candidate could be ready (None: nothing waits)."""
        with self._lock:
            if not self._candidates:
                return None
            earliest = min(c.stable_since for c in self._candidates.values())
        return max(0.0, earliest + self.settle_s - self._clock())

    def __len__(self) -> int:
        return len(self._candidates)


def _signature(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns
