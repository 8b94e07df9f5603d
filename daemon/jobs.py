"""Running the application's timer jobs off the main loop, one at a time.

A job (a fetch from a remote service, an email) may wait on the network for a while; it runs
on its own thread so file handling never waits for it. A job still running when its next
period comes is skipped rather than stacked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import structlog

from daemon.logs import get_logger
from daemon.retry import Interrupted
from daemon.stages import TimerJob

log = get_logger()


class JobRunner:
    def __init__(self, jobs: Sequence[TimerJob[Any, Any]], ctx: Any, on_done: Callable[[str],
                 None]):
        self._jobs = {job.name: job for job in jobs}
        self._ctx, self._on_done = ctx, on_done
        self.running: set[str] = set()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="idxd-timer")

    def start(self, name: str) -> None:
        if name in self.running:
            log.info("timer.skipped", job=name, reason="still running")
            return
        self.running.add(name)
        self._pool.submit(self._run, self._jobs[name])

    def finished(self, name: str) -> None:
        """Called from the owner's loop once `on_done` has reported `name`."""
        self.running.discard(name)

    def shutdown(self, wait: bool) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def _run(self, job: TimerJob[Any, Any]) -> None:
        started = time.monotonic()
        try:
            with structlog.contextvars.bound_contextvars(job=job.name):
                job.run(self._ctx, datetime.now(UTC))
            log.debug("timer.ran", job=job.name,
                      duration_ms=round((time.monotonic() - started) * 1e3))
        except Interrupted:
            log.info("timer.interrupted", job=job.name)
        except Exception:
            log.exception("timer.failed", job=job.name)
        finally:
            self._on_done(job.name)
