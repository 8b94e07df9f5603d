"""Dispatch: per-stage queues served by a fixed set of worker threads.

Each stage runs at most its concurrency limit of files at once, and the workers at most
`workers` in all. A path already queued or running is not queued twice; if it changes while
running it is looked at again when its run ends. Workers take their next run themselves, under
one lock with the queues: a finished run is followed by the next without a hop through the
loop, so the loop wakes only for what it must act on. `on_done` hears of each run's end, with
whether nothing is left queued or running, inside the lock (so it must not call back): a drain
never sees the dispatcher idle before the last run's outcomes are known. A path in
`solo` (one the process died on) runs first and alone, nothing else beside it, so that a second
death is clearly its own. Nothing new starts while `paused()` (a full disk) or once `stopping`
is set.

Every file a run hands off with `daemon.files.write_atomic` goes straight to the stage whose
inbox takes it (`route`), in the same lock as the run's end, so the chain never waits for the
watcher and a drain never sees a gap between a file's stage and the next. The watcher knows
those hand-offs by their temporary name and does not report them again (`daemon.emitter`).

Under a backlog a worker takes a run of files of one stage (`batch_size`) and handles them one
after another: one file at a time still runs per worker, but the take and the report are paid
once per run rather than once per file. A run is kept to about `RUN_S` of the stage's recent
time per file, so only quick stages take runs at all (a download or a parse goes alone), and
with few files queued every file goes alone: no file waits behind another while a worker is
free. A run stops between files once `stopping` is set; the files it did not reach are
reported as not run, for the next start's sweep.

Quick stages (their files lately took less than `QUICK_S` each, or not measured yet) run one
run at a time, all of them together. Such work holds the interpreter throughout, so a second
thread of it gains nothing in one process and costs much: the two hand the interpreter lock to
each other at every system call, each time with a switch of threads (measured: one worker
moved the no-op chain twice as fast as four). Slow stages (a download, a parse: waiting on the
network or a child process) keep the other workers. A quick run whose file under way has
taken longer than `QUICK_HOLD_S` (a retry's wait, a database lock) stops holding the others
back; a long run of quick files, on a slow or busy host, does not.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon.files import routing_hand_offs
from daemon.outcomes import Outcome
from daemon.stages import Stage

MAX_BATCH = 16  # files one worker takes in a row, at most
BACKLOG_PER_WORKER = 2  # queued files per free worker before any worker takes more than one
RUN_S = 0.005  # about how long a run may last, from the stage's recent time per file
RECENT = 0.2  # the weight of the newest run in a stage's time per file
QUICK_S = RUN_S  # a stage whose files lately took less than this each is quick
QUICK_HOLD_S = 0.02  # how long one file of a quick run keeps the other quick runs waiting


@dataclass(eq=False)  # each run is itself: the quick runs under way are told apart by identity
class Ran:
    """What one worker's run of files of `stage` did, in the order they ran."""

    stage: Stage[Any]
    results: list[tuple[str, Outcome | BaseException]] = field(default_factory=list)
    unrun: list[str] = field(default_factory=list)  # not reached: the daemon began to stop
    seconds: float = 0.0  # how long the files that ran took, together
    handed_off: list[Path] = field(default_factory=list)  # every file its handlers wrote
    quick: bool = False  # its stage was quick when it started: it holds the other quick runs
    file_since: float = 0.0  # when its file under way started


Work = Callable[[Stage[Any], str, "str | None"], Outcome]  # a file, and the run's next one
DoneCallback = Callable[[Ran, bool], None]  # the run, and whether nothing is left to do
Route = Callable[[Path], "tuple[Stage[Any], str] | None"]  # a hand-off's stage and path


def batch_size(queued: int, free_workers: int, seconds_per_file: float | None) -> int:
    """How many files of a queue of `queued` the next worker takes: one unless the backlog
    would keep every free worker busy for several files anyway, and only as many as take
    about `RUN_S` together (one while the stage's time per file is not known yet)."""
    if seconds_per_file is None:
        return 1
    quick = int(RUN_S / max(seconds_per_file, 1e-6))
    backlog = queued // (BACKLOG_PER_WORKER * max(1, free_workers))
    return max(1, min(MAX_BATCH, backlog, quick))


def _unrouted(path: Path) -> None:
    return None


class Dispatcher:
    """`submit` and `pump` are called by the loop (and `submit` by the workers, for what
    their runs hand off); everything else runs in the worker threads. All of the state below
    is guarded by `_lock`."""

    def __init__(self, stages: list[Stage[Any]], limits: dict[str, int], workers: int, work: Work,
                 on_done: DoneCallback, stopping: threading.Event | None = None, *,
                 route: Route = _unrouted, paused: Callable[[], bool] = lambda: False):
        self._stages = stages
        self.limits = limits
        self._workers = workers
        self._work, self._on_done, self._route, self._paused = work, on_done, route, paused
        self._stopping = stopping or threading.Event()
        self._lock = threading.Condition(threading.Lock())
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
        self._quick_runs: list[Ran] = []  # runs of quick stages under way
        self._waiting = 0  # workers waiting for a run
        self._timing_hold = 0  # of them, those waiting until a quick run's hold ends
        self._threads: list[threading.Thread] = []
        self._closed = False

    # --- the loop's side ----------------------------------------------------------------

    def submit(self, stage: Stage[Any], relative_path: str) -> None:
        with self._lock:
            self._submit(stage, relative_path)

    def pump(self) -> None:
        """Let a waiting worker start what is queued: the loop calls it once it has submitted
        what it found, so that the files it found together can be taken together."""
        with self._lock:
            if not self._threads:
                self._start_workers()
            self._wake_one_if_startable()

    def queued(self) -> dict[str, int]:
        """Files waiting per stage: in its queue, or in a worker's run behind the file that
        worker is handling."""
        with self._lock:
            counts = {name: len(queue) + self._held_by_runs[name] - self._running[name]
                      for name, queue in self._queues.items()}
            for stage, _path in self._solo_queue:
                counts[stage.name] += 1
        return counts

    def has_queued(self) -> bool:
        """Any file waits for a worker. Read without the lock: a moment's staleness is fine
        for what asks (the watcher, deciding whether to let events gather)."""
        return bool(self._queued)

    def running(self) -> dict[str, int]:
        with self._lock:
            return dict(self._running)

    def running_total(self) -> int:
        with self._lock:
            return self._running_total()

    def idle(self) -> bool:
        with self._lock:
            return not self._queued and self._running_total() == 0

    def drop_queued(self) -> int:
        """Forget queued work (shutdown): the sweep at the next start finds it again."""
        with self._lock:
            dropped = len(self._queued)
            for queue in self._queues.values():
                queue.clear()
            self._solo_queue.clear()
            self._queued.clear()
        return dropped

    def shutdown(self, wait: bool) -> None:
        """No run starts any more; with `wait`, until the runs under way have ended."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
            threads = list(self._threads)
        if wait:
            for thread in threads:
                thread.join()

    # --- the workers' side --------------------------------------------------------------

    def _start_workers(self) -> None:
        for number in range(self._workers):
            thread = threading.Thread(target=self._serve, name=f"idxd-worker-{number}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self) -> None:
        with self._lock:
            while not self._closed:
                taken = self._take_run()
                if taken is None:
                    self._wait_for_a_run()
                    continue
                self._wake_one_if_startable()  # more than this worker can take
                ran, paths = taken
                self._lock.release()
                try:
                    self._run(ran, paths)
                finally:
                    self._lock.acquire()
                self._finished(ran)
                self._on_done(ran, not self._queued and not self._running_total())

    def _wait_for_a_run(self) -> None:
        """Until woken, or until a quick run's hold ends (one waiting worker keeps that time:
        waking another for it at every start of a quick run would cost a thread switch)."""
        hold = self._quick_wait_s()
        self._waiting += 1
        self._timing_hold += hold > 0
        try:
            self._lock.wait(hold or None)
        finally:
            self._timing_hold -= hold > 0
            self._waiting -= 1

    def _run(self, ran: Ran, paths: list[str]) -> None:
        """Each file in turn, until the daemon begins to stop."""
        stage, started = ran.stage, time.monotonic()
        with routing_hand_offs(ran.handed_off.append):
            for index, relative_path in enumerate(paths):
                if index and self._stopping.is_set():
                    ran.unrun = paths[index:]
                    break
                ran.file_since = time.monotonic()  # read by the other workers: the hold
                upcoming = paths[index + 1] if index + 1 < len(paths) else None
                try:
                    ran.results.append((relative_path,
                                        self._work(stage, relative_path, upcoming)))
                except BaseException as error:  # reported as the file's crash, as alone
                    ran.results.append((relative_path, error))
        ran.seconds = time.monotonic() - started

    # --- under the lock -------------------------------------------------------------------

    def _submit(self, stage: Stage[Any], relative_path: str) -> None:
        if relative_path in self._running_paths:
            self._recheck.add(relative_path)
        elif relative_path not in self._queued:
            self._queued.add(relative_path)
            if relative_path in self.solo:
                self._solo_queue.append((stage, relative_path))
            else:
                self._queues[stage.name].append(relative_path)

    def _running_total(self) -> int:
        return sum(self._running.values())

    def _solo_mode(self) -> bool:
        return bool(self._solo_queue) or not self.solo.isdisjoint(self._running_paths)

    def _take_run(self) -> tuple[Ran, list[str]] | None:
        """The next run to start, booked as running, or None when nothing may start. Stages
        take turns: the turn goes on from where the last take left it, so that a stage whose
        limit allows every worker cannot keep them all while the stages after it wait."""
        if self._held_back():
            return None
        if self._solo_mode():  # one suspect at a time, once everything else has finished
            if self._running_total() or not self._solo_queue:
                return None
            stage, relative_path = self._solo_queue.popleft()
            return self._book(stage, [relative_path])
        for _ in range(len(self._stages)):
            stage = self._stages[self._turn]
            self._turn = (self._turn + 1) % len(self._stages)
            if self._can_start(stage):
                return self._book(stage, self._take(stage))
        return None

    def _held_back(self) -> bool:
        """Nothing may start: closed, stopping, or paused (a full disk)."""
        return self._closed or self._stopping.is_set() or self._paused()

    def _startable(self) -> bool:
        """`_take_run` would find a run, without taking it."""
        if self._held_back():
            return False
        if self._solo_mode():
            return not self._running_total() and bool(self._solo_queue)
        return any(self._can_start(stage) for stage in self._stages)

    def _wake_one_if_startable(self) -> None:
        """Wake a waiting worker if there is a run to start, or one that waits only for a quick
        run's hold to end and no worker is waiting for that moment yet (`_wait_for_a_run`)."""
        if not self._waiting:
            return
        if self._startable() or (self._queued and not self._timing_hold
                                 and self._quick_wait_s()):
            self._lock.notify()

    def _can_start(self, stage: Stage[Any]) -> bool:
        return (bool(self._queues[stage.name]) and self._running_total() < self._workers
                and self._running[stage.name] < self.limits.get(stage.name, stage.concurrency)
                and not (self._is_quick(stage) and self._quick_wait_s()))

    def _is_quick(self, stage: Stage[Any]) -> bool:
        """Quick, or not known yet: a stage's first run goes alone among the quick ones, so
        its time is measured without the others' contention."""
        seconds = self._seconds_per_file.get(stage.name)
        return seconds is None or seconds < QUICK_S

    def _quick_wait_s(self) -> float:
        """How long until a quick run may start: 0 unless a quick run under way has been on
        its file under way for less than `QUICK_HOLD_S` (a stage found slow since its run
        began holds none)."""
        holding = [ran.file_since for ran in self._quick_runs if self._is_quick(ran.stage)]
        if not holding:
            return 0.0
        return max(0.0, max(holding) + QUICK_HOLD_S - time.monotonic())

    def _take(self, stage: Stage[Any]) -> list[str]:
        queue = self._queues[stage.name]
        free = min(self._workers - self._running_total(),
                   self.limits.get(stage.name, stage.concurrency) - self._running[stage.name])
        size = batch_size(len(queue), free, self._seconds_per_file.get(stage.name))
        return [queue.popleft() for _ in range(min(len(queue), size))]

    def _book(self, stage: Stage[Any], paths: list[str]) -> tuple[Ran, list[str]]:
        self._queued.difference_update(paths)
        self._running[stage.name] += 1
        self._held_by_runs[stage.name] += len(paths)
        self._running_paths.update(paths)
        ran = Ran(stage)
        if self._is_quick(stage):
            ran.quick, ran.file_since = True, time.monotonic()
            self._quick_runs.append(ran)
        return ran, paths

    def _finished(self, ran: Ran) -> None:
        """A run ended: its files are no longer running, those that changed meanwhile are
        queued again, and what it handed off is queued for the stages that take it."""
        self._running[ran.stage.name] -= 1
        self._held_by_runs[ran.stage.name] -= len(ran.results) + len(ran.unrun)
        if ran.quick:
            self._quick_runs.remove(ran)
        self._note_time(ran)
        for relative_path in [path for path, _result in ran.results] + ran.unrun:
            self._running_paths.discard(relative_path)
            self.solo.discard(relative_path)
            if relative_path in self._recheck:
                self._recheck.discard(relative_path)
                self._submit(ran.stage, relative_path)
        for path in ran.handed_off:
            routed = self._route(path)
            if routed is not None:
                self._submit(*routed)

    def _note_time(self, ran: Ran) -> None:
        if not ran.results:
            return
        newest = ran.seconds / len(ran.results)
        known = self._seconds_per_file.get(ran.stage.name)
        self._seconds_per_file[ran.stage.name] = newest if known is None else \
            (1 - RECENT) * known + RECENT * newest
