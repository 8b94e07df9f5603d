"""A one-line progress bar for a run until idle (`idxd once`), drawn only on a terminal.

It watches a running daemon from a side thread: files finished since the start (from the
ledger's counts) against files finished plus queued plus running. A cron job or a pipe gets no
bar at all, so its output stays clean.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, TextIO

from daemon.ledger import FileState

if TYPE_CHECKING:
    from daemon.runner import Daemon

WIDTH = 30
EVERY_S = 0.2


class ProgressBar:
    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = False

    def attach(self, daemon: Daemon) -> None:
        """The runner's `started` hook: start drawing once the daemon is up."""
        if not self.enabled:
            return
        baseline = _finished(daemon)
        self._thread = threading.Thread(target=self._draw_until_stopped,
                                        args=(daemon, baseline), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()

    def _draw_until_stopped(self, daemon: Daemon, baseline: int) -> None:
        while not self._stop.wait(EVERY_S):
            try:
                done = _finished(daemon) - baseline
                waiting = sum(daemon.dispatcher.queued().values())
                running = daemon.dispatcher.running_total()
            except Exception:  # the daemon is shutting down under us; stop drawing
                return
            if done + waiting + running == 0:
                continue  # nothing to do: a bar of 0/0 files says nothing
            self._drawn = True
            self.stream.write("\r" + render(done, done + waiting + running, running))
            self.stream.flush()


def render(done: int, total: int, running: int) -> str:
    filled = WIDTH if total == 0 else WIDTH * done // total
    return f"[{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total} files, {running} running "


def _finished(daemon: Daemon) -> int:
    counts = daemon.ledger.counts()
    return sum(states.get(state, 0) for states in counts.values()
               for state in (FileState.DONE, FileState.FAILED, FileState.QUARANTINED))
