"""Dispatch: per-stage queues feeding a bounded worker pool.

Each stage runs at most its concurrency limit of files at once, and the pool at most `workers`
in all. A path already queued or running is not queued twice; if it changes while running it
is looked at again when its run ends. Completions come back to the owner's loop through
`on_done`, so all scheduling state is touched by one thread only. A path in `solo` (one the
process died on) runs first and alone, nothing else beside it, so that a second death is
clearly its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from daemon.outcomes import Outcome
from daemon.stages import Stage

Work = Callable[[Stage[Any], str], Outcome]
DoneCallback = Callable[[Stage[Any], str, Outcome | BaseException], None]


class Dispatcher:
    def __init__(self, stages: list[Stage[Any]], limits: dict[str, int], workers: int, work: Work,
                 on_done: DoneCallback):
        self._stages = stages
        self.limits = limits
        self._workers = workers
        self._work, self._on_done = work, on_done
        self._queues: dict[str, deque[str]] = {stage.name: deque() for stage in stages}
        self._queued: set[str] = set()
        self._running: dict[str, int] = {stage.name: 0 for stage in stages}
        self._running_paths: set[str] = set()
        self._recheck: set[str] = set()
        self.solo: set[str] = set()
        self._solo_queue: deque[tuple[Stage[Any], str]] = deque()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="idxd-worker")

    def submit(self, stage: Stage[Any], relative_path: str) -> None:
        if relative_path in self._running_paths:
            self._recheck.add(relative_path)
        elif relative_path not in self._queued:
            self._queued.add(relative_path)
            if relative_path in self.solo:
                self._solo_queue.append((stage, relative_path))
            else:
                self._queues[stage.name].append(relative_path)

    def pump(self) -> None:
        """Start as much queued work as the limits allow, taking stages in turn."""
        if self._solo_queue or self._running_paths & self.solo:
            self._pump_solo()
            return
        started = True
        while started and self.running_total() < self._workers:
            started = False
            for stage in self._stages:
                if self._can_start(stage):
                    self._start(stage, self._queues[stage.name].popleft())
                    started = True

    def finished(self, stage: Stage[Any], relative_path: str) -> bool:
        """Book-keeping when a run ends; True if the path changed meanwhile and needs a look."""
        self._running[stage.name] -= 1
        self._running_paths.discard(relative_path)
        self.solo.discard(relative_path)
        if relative_path in self._recheck:
            self._recheck.discard(relative_path)
            return True
        return False

    def queued(self) -> dict[str, int]:
        counts = {name: len(queue) for name, queue in self._queues.items()}
        for stage, _path in self._solo_queue:
            counts[stage.name] += 1
        return counts

    def running(self) -> dict[str, int]:
        return dict(self._running)

    def running_total(self) -> int:
        return sum(self._running.values())

    def idle(self) -> bool:
        return not self._queued and self.running_total() == 0

    def drop_queued(self) -> int:
        """Forget queued work (shutdown): the sweep at the next start finds it again."""
        dropped = len(self._queued)
        for queue in self._queues.values():
            queue.clear()
        self._solo_queue.clear()
        self._queued.clear()
        return dropped

    def shutdown(self, wait: bool) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def _pump_solo(self) -> None:
        """One suspect at a time, once everything else has finished."""
        if self.running_total() == 0 and self._solo_queue:
            self._start(*self._solo_queue.popleft())

    def _can_start(self, stage: Stage[Any]) -> bool:
        return (bool(self._queues[stage.name]) and self.running_total() < self._workers
                and self._running[stage.name] < self.limits.get(stage.name, stage.concurrency))

    def _start(self, stage: Stage[Any], relative_path: str) -> None:
        self._queued.discard(relative_path)
        self._running[stage.name] += 1
        self._running_paths.add(relative_path)
        future = self._pool.submit(self._work, stage, relative_path)
        future.add_done_callback(lambda done: self._report(stage, relative_path, done))

    def _report(self, stage: Stage[Any], relative_path: str, future: Future[Outcome]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        self._on_done(stage, relative_path, error if error is not None else future.result())
