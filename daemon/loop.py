"""The daemon's loop and what it owns: start-up, hints, dispatch, timer jobs, signals, reload.

`Daemon.start` opens the state (`daemon.startup`, waiting for space if the disk is full), sweeps
every inbox, starts the observer, tells systemd READY=1; `Daemon.loop` then turns hints into
ready files for the workers (`daemon.dispatch`), counts what their runs did, ticks the timer and
beats the watchdog. The workers take their runs and queue what those hand off by themselves;
they wake the loop only when it must act at once (a crash, a full disk, nothing left to do).
Signal handlers only set flags; the loop acts on them. A write that fails for want of space
holds new files back (`daemon.holdback`) until a probe finds room. Draining and closing are
`daemon.runner`'s.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from daemon.config import EngineSettings, Settings, load_settings
from daemon.dispatch import Dispatcher, Ran
from daemon.errors import ConfigError, ExitCode
from daemon.heartbeat import Heartbeat
from daemon.holdback import HeldFiles
from daemon.jobs import JobRunner
from daemon.logs import get_logger, set_level
from daemon.metrics import open_metrics
from daemon.outcomes import SUCCESSES, Outcome, OutcomeState
from daemon.reload import ReloadPlan, plan_reload
from daemon.settle import Settler
from daemon.space import SpaceGate
from daemon.stages import App, Stage, TimerJob
from daemon.startup import open_state, until_space
from daemon.sweep import sweep_inboxes
from daemon.systemd import Notifier
from daemon.timer import Timer
from daemon.watch import (
    CLOSED_UNWRITTEN,
    OPENED,
    OVERFLOW,
    READY,
    OverflowDetector,
    observer_kind,
    start_observer,
)
from daemon.worker import FileProcessor

log = get_logger()
MAX_WAIT_S = 0.25  # how long the loop sleeps at most, so signal flags are seen promptly
RESCAN_JOB = "rescan"
# A hint that only wakes the loop. A signal handler puts it: Python's SimpleQueue.get, once a
# signal interrupts its timed wait, waits again with what is left of the timeout, and a
# deadline passed meanwhile makes that wait endless, so the loop would not see the flag.
WAKE = "wake"


@dataclass(frozen=True)
class DrainResult:
    """What a run until idle did: how many files ended in each outcome."""

    outcomes: Mapping[OutcomeState, int]

    @property
    def failures(self) -> int:
        return sum(n for state, n in self.outcomes.items() if state not in SUCCESSES)

    @property
    def ok(self) -> bool:
        """Every file succeeded: a crash, an interruption or a failure of any kind is not ok."""
        return self.failures == 0


class Daemon:
    def __init__(self, settings: Settings[Any], app: App[Any, Any],
                 env: dict[str, str] | None = None, *, until_idle: bool = False,
                 timer_jobs: bool = True):
        self.settings, self.app = settings, app
        self.until_idle, self.with_timer_jobs = until_idle, timer_jobs
        self.outcomes: Counter[OutcomeState] = Counter()
        self.root = settings.engine.root
        self.stopping = threading.Event()
        self.reload_requested = threading.Event()
        self.hints: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.settler = Settler(settings.engine.settle_ms)
        self.timer = Timer()
        self.notifier = Notifier(env)
        self.space = SpaceGate()
        self.held = HeldFiles(self.root, self.space, until_idle)  # files a full disk stopped
        self._completed: deque[Ran] = deque()  # runs the workers ended, not counted yet
        self._signals_seen = 0

    # --- start-up -----------------------------------------------------------------------

    def start(self) -> bool:
        """Open everything and start watching; False if a stop came while waiting for space."""
        self.inboxes = {stage.name: self.root / stage.inbox for stage in self.app.stages}
        self._real_inboxes = {os.path.realpath(self.root / stage.inbox): stage.inbox
                              for stage in self.app.stages}
        if not self.until_space("start", self._open_state):
            return False
        self.ledger, self.ctx = self.opened.ledger, self.opened.ctx
        self.processor = FileProcessor(self.app, self.ctx, self.ledger, lambda: self.settings,
                                       self.stopping)
        engine = self.settings.engine
        self.metrics = open_metrics(engine.metrics_port, self.inboxes)
        work = self.processor.process
        if self.metrics is not None:
            work = self.metrics.timed(work)
            self.processor.on_retry = self.metrics.retried
        self.dispatcher = Dispatcher(list(self.app.stages), self._limits(engine), engine.workers,
                                     work, self._on_done, self.stopping, route=self._stage_of,
                                     paused=lambda: self.space.full)
        self.dispatcher.solo = self.ledger.suspects()
        if self.dispatcher.solo:
            log.warning("files.suspected", count=len(self.dispatcher.solo),
                        paths=sorted(self.dispatcher.solo)[:20],
                        action="the process died while they ran: each runs alone first")
        self.jobs = JobRunner(self.app.timer_jobs, self.ctx,
                              lambda name: self._hint("job_done", name))
        self.heartbeat = Heartbeat(self.app, lambda: self.settings, self.notifier, self.ledger,
                                   self.dispatcher, self.settler, self.metrics,
                                   len(self.inboxes), self.held.disk_full)
        queued = self._sweep("start")
        self._start_watching(engine)
        self._schedule_jobs()
        self.notifier.ready(self.heartbeat.status_line())
        log.info("daemon.started", root=str(self.root), pid=os.getpid(),
                 recovered=self.opened.recovered, queued=queued,
                 stale_temp_files_removed=self.opened.stale, observer=self.observer_kind,
                 stages=[stage.name for stage in self.app.stages])
        return True

    def _open_state(self) -> None:
        self.opened = open_state(self.root, self.inboxes.values(), self.app, self.settings,
                                 self.stopping)

    def until_space(self, where: str, action: Callable[[], None]) -> bool:
        """Run `action`, waiting for room as long as the disk is full (`daemon.startup`)."""
        return until_space(where, action, self.space, self.notifier, self.stopping)

    def _limits(self, engine: EngineSettings) -> dict[str, int]:
        return {stage.name: engine.stage_concurrency.get(stage.name, stage.concurrency)
                for stage in self.app.stages}

    def _start_watching(self, engine: EngineSettings) -> None:
        self.observer_kind = observer_kind(engine.observer, self.root)
        self.overflow = OverflowDetector(self._hint)
        self.overflow.install()
        self.observer = start_observer(self.observer_kind, list(self.inboxes.values()),
                                       self._hint, engine.poll_interval_s, self.settler.waiting,
                                       self.dispatcher.has_queued)

    def _schedule_jobs(self) -> None:
        now = time.monotonic()
        self.timer.add(RESCAN_JOB, lambda: self.settings.engine.rescan_s, now, run_at_start=False)
        for job in self.app.timer_jobs if self.with_timer_jobs else ():  # `once` runs none
            self.timer.add(job.name, self._period_of(job), now)

    def _period_of(self, job: TimerJob[Any, Any]) -> Callable[[], float]:
        """Read each time, so a reloaded setting changes the period."""
        return lambda: job.period_s(self.settings.app)

    # --- the loop -----------------------------------------------------------------------

    def loop(self) -> None:
        while not self.stopping.is_set():
            self.take_hints(self._wait_s())
            self.count_completed()
            if self.reload_requested.is_set():
                self.reload_requested.clear()
                self.reload()
            for path in self.settler.due():
                self._ready(path)
            self._run_due_jobs()
            self.held.check(self.ledger, self.dispatcher.submit)
            if not self.space.full:  # a full disk takes no new file
                self.dispatcher.pump()
            self.heartbeat.beat()
            self._commit_progress()
            if self.until_idle and self.idle():
                self.stopping.set()

    def idle(self) -> bool:
        """Nothing queued, running, settling or announced: the chain has drained."""
        return (self.dispatcher.idle() and not self._completed and not len(self.settler)
                and self.hints.empty() and not self.jobs.running and not self.held
                and not self.space.full)

    def _wait_s(self) -> float:
        now = time.monotonic()
        waits = [MAX_WAIT_S, self.settler.seconds_to_next(), self.timer.seconds_to_next(now),
                 self.space.seconds_to_probe()]
        return max(0.0, min(wait for wait in waits if wait is not None))

    def take_hints(self, timeout_s: float) -> None:
        try:
            kind, payload = self.hints.get(timeout=timeout_s)
        except queue.Empty:
            return
        self._handle_hint(kind, payload)
        while True:
            try:
                kind, payload = self.hints.get_nowait()
            except queue.Empty:
                return
            self._handle_hint(kind, payload)

    def _hint(self, kind: str, payload: Any) -> None:
        """Called from observer and worker threads: only enqueues."""
        self.hints.put((kind, payload))

    def _handle_hint(self, kind: str, payload: Any) -> None:
        if kind == READY:
            self.settler.forget(payload)
            self._ready(payload)
        elif kind == OVERFLOW:
            log.warning("watch.overflowed", action="rescanning every inbox")
            self.timer.run_soon(RESCAN_JOB, time.monotonic())
        elif kind == WAKE:
            pass  # the turn of the loop that follows sees the flag the signal set
        elif kind == "done":
            self.count_completed()
        elif kind == "job_done":
            self.jobs.finished(payload)
        elif kind == OPENED:
            self.settler.opened(payload)
        elif kind == CLOSED_UNWRITTEN:
            self.settler.closed_unwritten(payload)
        else:
            self.settler.observe(payload)

    def _ready(self, absolute_path: str) -> None:
        found = self._stage_of(absolute_path)
        if found is not None:
            self.dispatcher.submit(*found)

    def _on_done(self, ran: Ran, idle: bool) -> None:
        """In a worker, inside the dispatcher's lock: keep the run for the loop to count, and
        wake the loop when it must act now (a crash, a full disk, a drain that may be over)."""
        self._completed.append(ran)
        if idle or any(isinstance(result, BaseException) or result.no_space
                       for _path, result in ran.results):
            self._hint("done", None)

    def _stage_of(self, path: str | Path) -> tuple[Stage[Any], str] | None:
        """The stage whose inbox takes the file at `path` (one the watcher saw, or one a run
        handed off), and its root-relative path; None for a file no stage takes."""
        text = os.fspath(path)
        relative = self._relative(text)
        if not relative:  # written by another spelling of the root (a symlink)
            directory, _, name = text.rpartition("/")
            inbox = self._real_inboxes.get(os.path.realpath(directory))
            relative = f"{inbox}/{name}" if inbox is not None else ""
        stage = self.app.stage_for(relative) if relative else None
        return None if stage is None else (stage, relative)

    def result(self) -> DrainResult:
        return DrainResult(dict(self.outcomes))

    def count_completed(self) -> None:
        while self._completed:
            ran = self._completed.popleft()
            for relative, result in ran.results:
                self._count(ran.stage, relative, result)

    def _count(self, stage: Stage[Any], relative: str, result: Outcome | BaseException) -> None:
        if isinstance(result, BaseException):
            log.error("file.crashed", stage=stage.name, path=relative, error=repr(result))
            self.outcomes[OutcomeState.CRASHED] += 1
            return
        self.outcomes[result.state] += 1
        self.held.note(stage, relative, result)

    def _commit_progress(self) -> None:
        """The progress notes of handlers still at work (`daemon.crashes`): only a hint for
        crash blame, so a ledger that cannot take them now does not stop the loop."""
        try:
            self.ledger.commit_progress()
        except Exception:
            log.debug("ledger.progress_unrecorded", exc_info=True)

    def _run_due_jobs(self) -> None:
        for name in self.timer.due(time.monotonic()):
            if name == RESCAN_JOB:
                self._sweep("rescan")
            else:
                self.jobs.start(name)

    def _sweep(self, reason: str) -> int:
        engine = self.settings.engine
        found = sweep_inboxes(self.root, self.app.stages, self.ledger, self.settler,
                              engine.settle_ms, engine.failed_retry_s)
        for stage, relative in found:
            self.dispatcher.submit(stage, relative)
        if found or reason == "start":
            log.info("inbox.swept", reason=reason, queued=len(found))
        return len(found)

    # --- signals, reload, shutdown ------------------------------------------------------

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGINT, self._on_stop_signal)
        signal.signal(signal.SIGHUP, self._on_reload_signal)

    def _on_stop_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals_seen += 1
        if self._signals_seen > 1:
            os.write(2, b"idxd: second signal, exiting now\n")
            os._exit(ExitCode.INTERRUPTED)
        self.stopping.set()
        self.hints.put((WAKE, None))  # SimpleQueue.put may be called from a signal handler

    def _on_reload_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self.reload_requested.set()
        self.hints.put((WAKE, None))

    def reload(self) -> None:
        self.notifier.reloading()
        try:
            new = load_settings(self.settings.config_path, root_override=str(self.root),
                                env=None)
        except ConfigError as error:
            log.error("config.reload_failed", error=str(error))
            self.notifier.ready(self.heartbeat.status_line())
            return
        self._apply(plan_reload(self.settings, new))
        self.notifier.ready(self.heartbeat.status_line())

    def _apply(self, plan: ReloadPlan) -> None:
        self.settings = plan.settings
        engine = plan.settings.engine
        set_level(engine.log_level)
        self.settler.settle_s = engine.settle_ms / 1000
        self.dispatcher.limits = self._limits(engine)
        if hasattr(self.ctx, "reload"):
            self.ctx.reload(self.settings)
        log.info("config.reloaded", applied=plan.applied)
        if plan.needs_restart:
            log.warning("config.restart_required", settings=plan.needs_restart)

    def _relative(self, absolute_path: str) -> str:
        root = str(self.root)
        return absolute_path[len(root) + 1:] if absolute_path.startswith(root + "/") else ""
