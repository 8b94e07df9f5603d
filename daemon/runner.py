"""Running the daemon: `run` and `run_until_idle`, and how a run ends (drain, close).

`run(settings)` takes the root's lock, starts a `Daemon` (`daemon.loop`: start-up, the loop,
signals, reload) and loops until a signal or its own stop. SIGTERM/SIGINT drain in-flight work
and exit 0; a second one exits at once. A drain that times out puts its running rows back
without counting a crash and leaves at once, so that handler threads cannot hold the exit.
`run_until_idle` is the same loop without timer jobs, stopping once every inbox has drained
(the application's batch commands), and says what became of each file.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from daemon.config import Settings
from daemon.errors import ExitCode
from daemon.ledger import LedgerUnusable
from daemon.lock import RootLock
from daemon.logs import configure_logging, get_logger
from daemon.loop import MAX_WAIT_S, Daemon, DrainResult
from daemon.progress import ProgressBar
from daemon.space import describe, is_disk_full
from daemon.stages import App, load_app

__all__ = ["Daemon", "DrainResult", "run", "run_until_idle"]
log = get_logger()


def drain(daemon: Daemon) -> bool:
    """Stop taking work, let running handlers finish; True if everything finished."""
    daemon.notifier.stopping()
    dropped = daemon.dispatcher.drop_queued()
    log.info("daemon.stopping", running=daemon.dispatcher.running_total(), dropped=dropped)
    daemon.observer.stop()
    deadline = time.monotonic() + daemon.settings.engine.drain_timeout_s
    while time.monotonic() < deadline and (daemon.dispatcher.running_total()
                                            or daemon.jobs.running):
        daemon.take_hints(min(MAX_WAIT_S, deadline - time.monotonic()))
        daemon.dispatcher.drop_queued()
    daemon.count_completed()
    complete = not daemon.dispatcher.running_total() and not daemon.jobs.running
    return complete


def close(daemon: Daemon, complete: bool) -> None:
    daemon.overflow.remove()
    daemon.dispatcher.shutdown(wait=complete)
    daemon.jobs.shutdown(wait=complete)
    if complete:
        daemon.observer.join(timeout=5)
        daemon.ctx.close()
        release_rows(daemon)  # nothing runs now: any running row is one a full disk kept
        daemon.ledger.close()
    daemon.notifier.close()
    if daemon.metrics is not None:
        daemon.metrics.close()


def release_rows(daemon: Daemon) -> None:
    """Every row still `running` back to `pending`, so the next start counts no crash."""
    try:
        daemon.ledger.release_running()
    except Exception as error:
        if not is_disk_full(error):
            raise
        log.warning("ledger.rows_left_running", error=describe(error),
                    consequence="the next start counts a crash against them")


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
            close(daemon, drain(daemon))
            raise
        complete = drain(daemon)
        close(daemon, complete)
    finally:
        lock.release()
    if not complete:
        release_rows(daemon)  # leaving on purpose: no crash of the files still running
        log.warning("daemon.stopped", drained=False, reason="drain timeout; running files stay "
                    "pending and are processed at the next start")
        sys.stdout.flush()
        os._exit(ExitCode.OK)  # handler threads still running must not hold the exit
    log.info("daemon.stopped", drained=True, failures=daemon.result().failures)
    return daemon
