"""Dispatch: per-stage queues feeding a bounded worker pool.

Each stage runs at most its concurrency limit of files at once, and the pool at most `workers`
in all. A path already queued or running is not queued twice; if it changes while running it
is looked at again when its run ends. Completions come back to the owner's loop through
`on_done`, so all scheduling state is touched by one thread only. A path in `solo` (one the
process died on) runs first and alone, nothing else beside it, so that a second death is
clearly its own.

Under a backlog a worker takes a run of files of one stage (`batch_size`) and handles them one
after another: one file at a time still runs per worker, but the hand-over to the pool and the
report back to the loop are paid once per run rather than once per file, which is what bounds
throughput when handlers are quick. A run is kept to about `RUN_S` of the stage's recent time
per file, so only quick stages take runs at all (a download or a parse goes alone), and with
few files queued every file goes alone: no file waits behind another while a worker is free.
A run stops between files once `stopping` is set; the files it did not reach are reported as
not run, for the next start's sweep.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from daemon.outcomes import Outcome
from daemon.stages import Stage

MAX_BATCH = 16  # files one worker takes in a row, at most
BACKLOG_PER_WORKER = 2  # queued files per free worker before any worker takes more than one
RUN_S = 0.005  # about how long a run may last, from the stage's recent time per file
RECENT = 0.2  # the weight of the newest run in a stage's time per file


@dataclass
class Ran:
    """What one worker's run of files of `stage` did, in the order they ran."""

    stage: Stage[Any]
    results: list[tuple[str, Outcome | BaseException]] = field(default_factory=list)
    unrun: list[str] = field(default_factory=list)  # not reached: the daemon began to stop
    seconds: float = 0.0  # how long the files that ran took, together


Work = Callable[[Stage[Any], str], Outcome]
DoneCallback = Callable[[Ran], None]


def batch_size(queued: int, free_workers: int, seconds_per_file: float | None) -> int:
    """How many files of a queue of `queued` the next worker takes: one unless the backlog
    would keep every free worker busy for several files anyway, and only as many as take
    about `RUN_S` together (one while the stage's time per file is not known yet)."""
    if seconds_per_file is None:
        return 1
    quick = int(RUN_S / max(seconds_per_file, 1e-6))
    backlog = queued // (BACKLOG_PER_WORKER * max(1, free_workers))
    return max(1, min(MAX_BATCH, backlog, quick))


class Dispatcher:
    def __init__(self, stages: list[Stage[Any]], limits: dict[str, int], workers: int, work: Work,
                 on_done: DoneCallback, stopping: threading.Event | None = None):
        self._stages = stages
        self.limits = limits
        self._workers = workers
        self._work, self._on_done = work, on_done
        self._stopping = stopping or threading.Event()
        self._queues: dict[str, deque[str]] = {stage.name: deque() for stage in stages}
        self._queued: set[str] = set()
        self._running: dict[str, int] = {stage.name: 0 for stage in stages}  # runs under way
        self._held_by_runs = {stage.name: 0 for stage in stages}  # files those runs hold
        self._seconds_per_file: dict[str, float] = {}  # recent, per stage
        self._running_paths: set[str] = set()
        self._recheck: set[str] = set()
        self.solo: set[str] = set()
        self._solo_queue: deque[tuple[Stage[Any], str]] = deque()
        self._turn = 0  # the stage whose turn it is to start a run
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
        """Start as much queued work as the limits allow, taking stages in turn: the turn
        goes on from where the last pump left it, so that a stage whose limit allows every
        worker cannot keep them all while the stages after it wait."""
        if self._solo_queue or self._running_paths & self.solo:
            self._pump_solo()
            return
        idle_turns = 0  # stages asked in a row that could start nothing
        while idle_turns < len(self._stages) and self.running_total() < self._workers:
            stage = self._stages[self._turn]
            self._turn = (self._turn + 1) % len(self._stages)
            if self._can_start(stage):
                self._start(stage, self._take(stage))
                idle_turns = 0
            else:
                idle_turns += 1

    def finished(self, ran: Ran) -> list[str]:
        """Book-keeping when a run ends; the paths that changed meanwhile and need a look."""
        self._running[ran.stage.name] -= 1
        self._held_by_runs[ran.stage.name] -= len(ran.results) + len(ran.unrun)
        self._note_time(ran)
        again = []
        for relative_path in [path for path, _result in ran.results] + ran.unrun:
            self._running_paths.discard(relative_path)
            self.solo.discard(relative_path)
            if relative_path in self._recheck:
                self._recheck.discard(relative_path)
                again.append(relative_path)
        return again

    def queued(self) -> dict[str, int]:
        """Files waiting per stage: in its queue, or in a worker's run behind the file that
        worker is handling."""
        counts = {name: len(queue) + self._held_by_runs[name] - self._running[name]
                  for name, queue in self._queues.items()}
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
            stage, relative_path = self._solo_queue.popleft()
            self._start(stage, [relative_path])

    def _take(self, stage: Stage[Any]) -> list[str]:
        queue = self._queues[stage.name]
        free = min(self._workers - self.running_total(),
                   self.limits.get(stage.name, stage.concurrency) - self._running[stage.name])
        size = batch_size(len(queue), free, self._seconds_per_file.get(stage.name))
        return [queue.popleft() for _ in range(min(len(queue), size))]

    def _note_time(self, ran: Ran) -> None:
        if not ran.results:
            return
        newest = ran.seconds / len(ran.results)
        known = self._seconds_per_file.get(ran.stage.name)
        self._seconds_per_file[ran.stage.name] = newest if known is None else \
            (1 - RECENT) * known + RECENT * newest

    def _can_start(self, stage: Stage[Any]) -> bool:
        return (bool(self._queues[stage.name]) and self.running_total() < self._workers
                and self._running[stage.name] < self.limits.get(stage.name, stage.concurrency))

    def _start(self, stage: Stage[Any], paths: list[str]) -> None:
        self._queued.difference_update(paths)
        self._running[stage.name] += 1
        self._held_by_runs[stage.name] += len(paths)
        self._running_paths.update(paths)
        future = self._pool.submit(self._run, stage, paths)
        future.add_done_callback(self._report)

    def _run(self, stage: Stage[Any], paths: list[str]) -> Ran:
        """In a worker thread: each file in turn, until the daemon begins to stop."""
        ran, started = Ran(stage), time.monotonic()
        for index, relative_path in enumerate(paths):
            if index and self._stopping.is_set():
                ran.unrun = paths[index:]
                break
            try:
                ran.results.append((relative_path, self._work(stage, relative_path)))
            except BaseException as error:  # reported as the file's crash, as it would be alone
                ran.results.append((relative_path, error))
        ran.seconds = time.monotonic() - started
        return ran

    def _report(self, future: Future[Ran]) -> None:
        if not future.cancelled():
            self._on_done(future.result())
