"""The one owner of the loop: start-up, the main loop, reload and shutdown.

`run(settings)` takes the root's lock, opens the ledger and the application's context, sweeps
every inbox, starts the observer, tells systemd READY=1, and then loops: turn hints into ready
files, dispatch them, tick the timer, beat the watchdog. Signal handlers only set flags; the
loop acts on them. SIGTERM/SIGINT drain in-flight work and exit 0; a second one exits at once.
A full disk is never fatal: starting on one waits for space, and once running, a write that
fails for want of space holds new files back (the watchdog is still answered) until a probe
finds room, when the files it stopped go through again.
`run_until_idle` is the same loop without timer jobs, stopping once every inbox has drained
(the application's batch commands), and says what became of each file.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import structlog

from daemon.config import EngineSettings, Settings, load_settings
from daemon.dispatch import Dispatcher
from daemon.errors import ConfigError, ExitCode
from daemon.files import remove_stale_temp_files
from daemon.guard import open_checked
from daemon.heartbeat import Heartbeat
from daemon.jobs import JobRunner
from daemon.ledger import LedgerUnusable
from daemon.lock import RootLock
from daemon.logs import configure_logging, set_level
from daemon.metrics import open_metrics
from daemon.outcomes import SUCCESSES, Outcome, OutcomeState
from daemon.progress import ProgressBar
from daemon.reload import ReloadPlan, plan_reload
from daemon.settle import Settler
from daemon.space import FIRST_PROBE_S, SpaceGate, describe, is_disk_full, probe_root
from daemon.stages import App, Stage, TimerJob, load_app
from daemon.sweep import sweep_inboxes
from daemon.systemd import Notifier
from daemon.timer import Timer
from daemon.watch import (
    CLOSED_UNWRITTEN,
    OPENED,
    OVERFLOW,
    READY,
    observer_kind,
    start_observer,
)
from daemon.worker import FileProcessor

log = structlog.get_logger()
MAX_WAIT_S = 0.25  # how long the loop sleeps at most, so signal flags are seen promptly
RESCAN_JOB = "rescan"


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
        self.held: dict[str, Stage[Any]] = {}  # files a full disk stopped, to try again
        self._signals_seen = 0

    # --- start-up -----------------------------------------------------------------------

    def start(self) -> bool:
        """Open everything and start watching; False if a stop came while waiting for space."""
        self.inboxes = {stage.name: self.root / stage.inbox for stage in self.app.stages}
        if not self.until_space("start", self._open_state):
            return False
        self.processor = FileProcessor(self.app, self.ctx, self.ledger, lambda: self.settings,
                                       self.stopping)
        engine = self.settings.engine
        self.metrics = open_metrics(engine.metrics_port, self.inboxes)
        work = self.processor.process
        if self.metrics is not None:
            work = self.metrics.timed(work)
            self.processor.on_retry = self.metrics.retried
        self.dispatcher = Dispatcher(list(self.app.stages), self._limits(engine), engine.workers,
                                     work, self._on_done)
        self.dispatcher.solo = self.ledger.suspects()
        if self.dispatcher.solo:
            log.warning("files.suspected", count=len(self.dispatcher.solo),
                        paths=sorted(self.dispatcher.solo)[:20],
                        action="the process died while they ran: each runs alone first")
        self.jobs = JobRunner(self.app.timer_jobs, self.ctx,
                              lambda name: self._hint("job_done", name))
        self.heartbeat = Heartbeat(self.app, lambda: self.settings, self.notifier, self.ledger,
                                   self.dispatcher, self.settler, self.metrics,
                                   len(self.inboxes), self.disk_full)
        queued = self._sweep("start")
        self._start_watching(engine)
        self._schedule_jobs()
        self.notifier.ready(self.heartbeat.status_line())
        log.info("daemon.started", root=str(self.root), pid=os.getpid(),
                 recovered=self._recovered, queued=queued,
                 stale_temp_files_removed=self._stale, observer=self.observer_kind,
                 stages=[stage.name for stage in self.app.stages])
        return True

    def _open_state(self) -> None:
        """What start-up writes: inboxes, the ledger and its recovery, the context."""
        for inbox in self.inboxes.values():
            inbox.mkdir(parents=True, exist_ok=True)
        ledger = open_checked(self.root, self.app.recovery)
        try:
            self._recovered = ledger.recover()
            self._stale = remove_stale_temp_files(self.root)
            self.ctx = self.app.open_context(self.settings, self.stopping)
        except BaseException:
            ledger.close()
            raise
        self.ledger = ledger

    def until_space(self, where: str, action: Callable[[], None]) -> bool:
        """Run `action`, waiting for room as long as the disk is full; False if a stop came
        first. systemd hears the wait: a status line, watchdog beats, a longer start timeout."""
        try:
            action()
            return True
        except Exception as error:
            if not is_disk_full(error):
                raise
            self.space.report(where, describe(error))
        while True:
            wait_s = self.space.seconds_to_probe() or FIRST_PROBE_S
            self.notifier.notify(f"EXTEND_TIMEOUT_USEC={int(wait_s * 3_000_000)}",
                                 "STATUS=the disk is full: waiting for space", "WATCHDOG=1")
            if self.stopping.wait(wait_s):
                return False
            if self.space.probe(action):
                self.space.worked()
                return True

    def _limits(self, engine: EngineSettings) -> dict[str, int]:
        return {stage.name: engine.stage_concurrency.get(stage.name, stage.concurrency)
                for stage in self.app.stages}

    def _start_watching(self, engine: EngineSettings) -> None:
        self.observer_kind = observer_kind(engine.observer, self.root)
        self.observer = start_observer(self.observer_kind, list(self.inboxes.values()),
                                       self._hint, engine.poll_interval_s)

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
            self._take_hints(self._wait_s())
            if self.reload_requested.is_set():
                self.reload_requested.clear()
                self.reload()
            for path in self.settler.due():
                self._ready(path)
            self._run_due_jobs()
            self._check_space()
            if not self.space.full:  # a full disk takes no new file
                self.dispatcher.pump()
            self.heartbeat.beat()
            if self.until_idle and self.idle():
                self.stopping.set()

    def idle(self) -> bool:
        """Nothing queued, running, settling or announced: the chain has drained."""
        return (self.dispatcher.idle() and not len(self.settler) and self.hints.empty()
                and not self.jobs.running and not self.held and not self.space.full)

    def _wait_s(self) -> float:
        now = time.monotonic()
        waits = [MAX_WAIT_S, self.settler.seconds_to_next(), self.timer.seconds_to_next(now),
                 self.space.seconds_to_probe()]
        return max(0.0, min(wait for wait in waits if wait is not None))

    def _take_hints(self, timeout_s: float) -> None:
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
        elif kind == "done":
            self._finished(*payload)
        elif kind == "job_done":
            self.jobs.finished(payload)
        elif kind == OPENED:
            self.settler.opened(payload)
        elif kind == CLOSED_UNWRITTEN:
            self.settler.closed_unwritten(payload)
        else:
            self.settler.observe(payload)

    def _ready(self, absolute_path: str) -> None:
        relative = self._relative(absolute_path)
        stage = self.app.stage_for(relative) if relative else None
        if stage is not None:
            self.dispatcher.submit(stage, relative)

    def _on_done(self, stage: Stage[Any], relative: str, result: Outcome | BaseException) -> None:
        self._hint("done", (stage, relative, result))

    def result(self) -> DrainResult:
        return DrainResult(dict(self.outcomes))

    def _finished(self, stage: Stage[Any], relative: str, result: Outcome | BaseException) -> None:
        if isinstance(result, BaseException):
            log.error("file.crashed", stage=stage.name, path=relative, error=repr(result))
        self.outcomes[OutcomeState.CRASHED if isinstance(result, BaseException)
                      else result.state] += 1
        if isinstance(result, Outcome):
            self._note_space(stage, relative, result)
        if self.dispatcher.finished(stage, relative):
            self.dispatcher.submit(stage, relative)
        if self.until_idle and isinstance(result, Outcome):
            # Draining must not race the observer: queue the outputs without their events.
            for output in result.outputs:
                self._ready(str(self.root / output))

    def _note_space(self, stage: Stage[Any], relative: str, result: Outcome) -> None:
        if result.no_space:
            self.space.report(f"{stage.name} {relative}", result.no_space)
            if not self.until_idle:  # a batch run reports the file instead of waiting
                self.held[relative] = stage
        elif result.state in SUCCESSES:
            self.space.worked()

    def disk_full(self, where: str, error: BaseException) -> None:
        """A write of the loop's own failed for want of space."""
        self.space.report(where, describe(error))

    def _check_space(self) -> None:
        """Probe a full disk when due; with room again, the held-back files go first."""
        if not self.space.probe_due() or not self.space.probe(self._probe):
            return
        held, self.held = self.held, {}
        for relative, stage in held.items():
            self.dispatcher.submit(stage, relative)
        if not held:
            self.space.worked()

    def _probe(self) -> None:
        probe_root(self.root)
        self.ledger.set_state("daemon.space", {"probed_at": time.time()})
        for relative, stage in self.held.items():  # rows a full ledger could not release
            self.ledger.release_path(stage.name, relative)

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
        signal.signal(signal.SIGHUP, lambda *_: self.reload_requested.set())

    def _on_stop_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals_seen += 1
        if self._signals_seen > 1:
            os.write(2, b"idxd: second signal, exiting now\n")
            os._exit(ExitCode.INTERRUPTED)
        self.stopping.set()

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

    def drain(self) -> bool:
        """Stop taking work, let running handlers finish; True if everything finished."""
        self.notifier.stopping()
        dropped = self.dispatcher.drop_queued()
        log.info("daemon.stopping", running=self.dispatcher.running_total(), dropped=dropped)
        self.observer.stop()
        deadline = time.monotonic() + self.settings.engine.drain_timeout_s
        while time.monotonic() < deadline and (self.dispatcher.running_total()
                                                or self.jobs.running):
            self._take_hints(min(MAX_WAIT_S, deadline - time.monotonic()))
            self.dispatcher.drop_queued()
        complete = not self.dispatcher.running_total() and not self.jobs.running
        return complete

    def close(self, complete: bool) -> None:
        self.dispatcher.shutdown(wait=complete)
        self.jobs.shutdown(wait=complete)
        if complete:
            self.observer.join(timeout=5)
            self.ctx.close()
            self.release_rows()  # nothing runs now: any running row is one a full disk kept
            self.ledger.close()
        self.notifier.close()
        if self.metrics is not None:
            self.metrics.close()

    def release_rows(self) -> None:
        """Every row still `running` back to `pending`, so the next start counts no crash."""
        try:
            self.ledger.release_running()
        except Exception as error:
            if not is_disk_full(error):
                raise
            log.warning("ledger.rows_left_running", error=describe(error),
                        consequence="the next start counts a crash against them")

    def _relative(self, absolute_path: str) -> str:
        root = str(self.root)
        return absolute_path[len(root) + 1:] if absolute_path.startswith(root + "/") else ""


def run(settings: Settings[Any], *, app: App[Any, Any] | None = None, install_signals: bool = True,
        env: dict[str, str] | None = None, started: Callable[[Daemon], None] | None = None,
        until_idle: bool = False, timer_jobs: bool = True) -> int:
    """Run the daemon until a signal (or `Daemon.stopping`) stops it; returns the exit code.

    With `until_idle`, it stops by itself once every inbox has drained, and the exit code says
    whether any file failed on the way.
    """
    daemon = _serve(settings, app or load_app(settings.engine.app), install_signals, env,
                    started, until_idle=until_idle, timer_jobs=timer_jobs)
    return ExitCode.FAILURE if until_idle and not daemon.result().ok else ExitCode.OK


def run_until_idle(settings: Settings[Any], app: App[Any, Any], *, progress: TextIO | None = None,
                   install_signals: bool = True) -> DrainResult:
    """Process every inbox until nothing is left to do, with no timer jobs; then stop.

    A progress bar is drawn on `progress` when it is a terminal, and the logs are lowered to
    warnings meanwhile, or they would tear it apart.
    """
    bar = ProgressBar(progress) if progress is not None else None
    if bar is not None and bar.enabled:
        settings = replace(settings, engine=replace(settings.engine, log_level="warning"))
    try:
        daemon = _serve(settings, app, install_signals, None, bar.attach if bar else None,
                        until_idle=True, timer_jobs=False)
    finally:
        if bar is not None:
            bar.close()
    return daemon.result()


def _serve(settings: Settings[Any], app: App[Any, Any], install_signals: bool,
           env: dict[str, str] | None, started: Callable[[Daemon], None] | None, *,
           until_idle: bool, timer_jobs: bool) -> Daemon:
    engine = settings.engine
    configure_logging(engine.log_level, engine.log_format, secret_keys=app.secret_keys)
    settings = replace(settings, engine=replace(engine, root=Path(os.path.abspath(engine.root))))
    daemon = Daemon(settings, app, env, until_idle=until_idle, timer_jobs=timer_jobs)
    lock = RootLock(settings.engine.root)
    if install_signals:
        daemon.install_signal_handlers()
    if not daemon.until_space("lock", lock.acquire):
        log.info("daemon.stopped", drained=True, reason="stopped while waiting for space")
        return daemon
    try:
        if not daemon.start():
            log.info("daemon.stopped", drained=True, reason="stopped while waiting for space")
            return daemon
        if started is not None:
            started(daemon)
        try:
            daemon.loop()
        except LedgerUnusable:  # lost under us: finish what runs, then say so (exit 2)
            daemon.close(daemon.drain())
            raise
        complete = daemon.drain()
        daemon.close(complete)
    finally:
        lock.release()
    if not complete:
        daemon.release_rows()  # leaving on purpose: no crash of the files still running
        log.warning("daemon.stopped", drained=False, reason="drain timeout; running files stay "
                    "pending and are processed at the next start")
        sys.stdout.flush()
        os._exit(ExitCode.OK)  # handler threads still running must not hold the exit
    log.info("daemon.stopped", drained=True, failures=daemon.result().failures)
    return daemon
