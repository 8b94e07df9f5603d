"""When is a file ready? When it is complete: closed after writing, or renamed into the inbox;
otherwise once its size and mtime have not changed for `settle_ms`.

Under inotify a file created in place is opened by its writer, and that open is seen: such a
file waits for its close-after-write (which the watcher reports as "ready now"), however long
it looks stable, because a writer that pauses with the file open is not done. Files with no
open seen (moved in from an unwatched directory, copied from another filesystem, found by a
sweep with no event, or any file under the polling observer, which reports no opens) are ready
once stable for `settle_ms`. So that a close event lost in a kernel queue overflow never
strands a file, one still open by that account is taken anyway once it has been stable for
`OPEN_STABLE_S`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Five minutes unchanged with a writer still counted: far beyond any pause of a live writer
# (a slow download writes every few seconds), and a bounded delay for the rare file whose close
# was lost in an inotify overflow, of the order of `failed_retry_s`.
OPEN_STABLE_S = 300.0


@dataclass
class _Candidate:
    size: int
    mtime_ns: int
    stable_since: float
    open_count: int = 0  # opens seen and not yet closed without writing


class Settler:
    def __init__(self, settle_ms: int, clock: Callable[[], float] = time.monotonic,
                 open_stable_s: float = OPEN_STABLE_S):
        self.settle_s = settle_ms / 1000
        self.open_stable_s = open_stable_s
        self._clock = clock
        self._candidates: dict[str, _Candidate] = {}
        self._lock = threading.Lock()

    def observe(self, path: str) -> None:
        """A created/modified event or a sweep: (re)start the stability clock for `path`,
        keeping what is known of its writers."""
        signature = _signature(path)
        with self._lock:
            known = self._candidates.get(path)
            if signature is None:
                self._candidates.pop(path, None)
            elif known is None or (known.size, known.mtime_ns) != signature:
                opens = known.open_count if known else 0
                self._candidates[path] = _Candidate(*signature, self._clock(), opens)

    def opened(self, path: str) -> None:
        """An open of a file being settled: its writer may still be at work."""
        with self._lock:
            candidate = self._candidates.get(path)
            if candidate is not None:
                candidate.open_count += 1

    def closed_unwritten(self, path: str) -> None:
        """A reader closed `path`: that open was not a writer's."""
        with self._lock:
            candidate = self._candidates.get(path)
            if candidate is not None and candidate.open_count > 0:
                candidate.open_count -= 1

    def waiting(self, path: str) -> bool:
        """`path` is being settled here (a sweep must leave it to the settler). Asked for
        every open the watcher sees: one dict lookup, which needs no lock."""
        return path in self._candidates

    def forget(self, path: str) -> None:
        """`path` became ready by another route (close or rename)."""
        with self._lock:
            self._candidates.pop(path, None)

    def due(self) -> list[str]:
        """Paths ready by their stability, removed from the watch list."""
        now, ready = self._clock(), []
        with self._lock:
            for path, candidate in list(self._candidates.items()):
                signature = _signature(path)
                if signature is None:
                    del self._candidates[path]
                elif signature != (candidate.size, candidate.mtime_ns):
                    self._candidates[path] = _Candidate(*signature, now, candidate.open_count)
                elif now - candidate.stable_since >= self._needed_s(candidate):
                    del self._candidates[path]
                    ready.append(path)
        return ready

    def seconds_to_next(self) -> float | None:
        """How long until the earliest candidate could be ready (None: nothing waits)."""
        with self._lock:
            if not self._candidates:
                return None
            earliest = min(c.stable_since + self._needed_s(c) for c in self._candidates.values())
        return max(0.0, earliest - self._clock())

    def __len__(self) -> int:
        return len(self._candidates)

    def _needed_s(self, candidate: _Candidate) -> float:
        """How long a candidate must stay unchanged: a writer still counted waits for its
        close, or for the generous bound."""
        if candidate.open_count:
            return max(self.settle_s, self.open_stable_s)
        return self.settle_s


def _signature(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns
