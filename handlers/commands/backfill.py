"""`idxd backfill --from DATE [--to DATE]`: the exchange's history, through the same stages.

With a daemon running on the root, the request is recorded in the ledger and the daemon's
backfill timer job carries it out (so a backfill runs under systemd, beside the live
pipeline); the command then follows it until it is done, or returns at once with `--detach`.
With no daemon running, the command runs the pipeline itself, every stage with the backfill
as its only timer job (no live ingest, no rollover), until the backfill has finished and its
summary email is out. Either way a stopped or killed backfill resumes where it was, and a range
already done is not fetched again. The progress (days, forms, ETA) is drawn on a terminal.
`--cancel` stops the reading of the running (or requested) backfill: the days handed over
already go through the stages and into their summary email.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from daemon.cli_help import describe
from daemon.config import Settings
from daemon.errors import AlreadyRunning, ExitCode
from daemon.ledger import Ledger
from daemon.lock import RootLock, holder_pid
from daemon.runner import Daemon, run
from daemon.stages import Command, load_app
from handlers.domain.windows import parse_day, to_wib
from handlers.jobs import backfill_state as store
from handlers.jobs.backfill import BACKFILL_JOB, finish_if_done
from handlers.jobs.backfill_state import (
    CANCELLED,
    FINISHED,
    RUNNING,
    Follower,
    Progress,
    Request,
)
from handlers.jobs.backfill_summary import SENT, SUMMARY_PREFIX
from handlers.settings import PipelineSettings

EVERY_S = 0.5
WIDTH = 30


def configure(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Read the exchange's history day by day, newest first, at the polite rate "
             "of [backfill] requests_per_minute, through the same download, parse and generate "
             "stages. With a daemon on the root the daemon carries the request out; otherwise "
             "this command runs the pipeline until the backfill and its summary email are done. "
             "A stopped or killed backfill resumes where it was.",
             ["idxd backfill --from 2025-01-01 --to 2025-12-31",
              "idxd backfill --from 2026-11-01 --detach",
              "idxd backfill --from 2025-01-01 --to 2025-01-31 --again",
              "idxd backfill --cancel"],
             {0: "the backfill finished (or, with --detach, the request was recorded; with "
                 "--cancel, the cancellation)",
              1: "the backfill could not finish; the reason is on stderr",
              2: "a bad range (today or the future, --from after --to) or configuration"})
    parser.add_argument("--from", dest="first", type=_day,
                        help="the oldest day to read (YYYY-MM-DD); required but with --cancel")
    parser.add_argument("--to", dest="last", type=_day,
                        help="the newest day to read (default: yesterday in WIB)")
    parser.add_argument("--again", action="store_true",
                        help="read a range that was backfilled already once more (after "
                             "`idxd clean`, say)")
    parser.add_argument("--detach", action="store_true",
                        help="record the request and return: the daemon carries it out, now "
                             "or when it next starts")
    parser.add_argument("--cancel", action="store_true",
                        help="stop the running or requested backfill: no more days are read, "
                             "the ones handed over finish; the same range asked for again "
                             "goes on from where it stopped")


def _day(text: str) -> date:
    try:
        return parse_day(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def run_command(args: argparse.Namespace, settings: Settings[PipelineSettings]) -> int:
    root = Path(os.path.abspath(settings.engine.root))
    settings = replace(settings, engine=replace(settings.engine, root=root))
    if args.cancel:
        return cancel(root)
    if args.first is None:
        print("idxd backfill: --from DATE is required (or --cancel)", file=sys.stderr)
        return ExitCode.BAD_CONFIG
    yesterday = to_wib(datetime.now(UTC)).date() - timedelta(days=1)
    first, last = args.first, args.last or yesterday
    problem = check_range(first, last, yesterday)
    if problem:
        print(f"idxd backfill: {problem}", file=sys.stderr)
        return ExitCode.BAD_CONFIG
    submitted = submit(root, first, last, again=args.again)
    if not isinstance(submitted, Request):
        return submitted
    if holder_pid(root) is not None:
        print(f"idxd backfill: the running daemon carries out {submitted.id}; `idxd status` "
              "shows its progress", file=sys.stderr)
        return ExitCode.OK if args.detach else follow(root, Follower(submitted))
    if args.detach:
        print("idxd backfill: recorded; the daemon carries it out when it starts",
              file=sys.stderr)
        return ExitCode.OK
    return run_here(settings, Follower(submitted))


def check_range(first: date, last: date, yesterday: date) -> str | None:
    if last < first:
        return f"--to {last} is before --from {first}"
    if last > yesterday:
        return f"--to {last} is not in the past: today belongs to the live ingest"
    return None


def submit(root: Path, first: date, last: date, *, again: bool = False) -> Request | int:
    """Record the request; an exit code instead when there is nothing more to do."""
    ledger = Ledger.open(root)
    try:
        progress = store.load(ledger)
        ident = store.request_id(first, last)
        if progress and progress.state == RUNNING and progress.id != ident:
            print(f"idxd backfill: the backfill {progress.id} is still running; it must "
                  "finish first", file=sys.stderr)
            return ExitCode.FAILURE
        if progress and progress.id == ident and progress.state == FINISHED and not again:
            print(f"idxd backfill: {ident} is done already ({progress.days_done} days, "
                  f"{progress.forms} forms); --again reads it once more", file=sys.stderr)
            return ExitCode.OK
        return store.write_request(ledger, first, last, datetime.now(UTC), again=again)
    finally:
        ledger.close()


def cancel(root: Path) -> int:
    """Record the cancellation; with no daemon on the root, apply it to the state at once
    (holding the root's lock, so that no daemon starting meanwhile writes the state too)."""
    lock = RootLock(root)
    try:
        lock.acquire()
    except AlreadyRunning:
        return _cancel_recorded(root, daemon=True)
    try:
        return _cancel_recorded(root, daemon=False)
    finally:
        lock.release()


def _cancel_recorded(root: Path, *, daemon: bool) -> int:
    ledger, now = Ledger.open(root), datetime.now(UTC)
    try:
        progress, request = store.load(ledger), store.read_request(ledger)
        running = progress is not None and progress.state == RUNNING \
            and not progress.cancelled_at
        requested = request is not None and (progress is None
                                             or store.asked_again(request, progress))
        if not (running or requested):
            print("idxd backfill: no backfill is running or requested; nothing to cancel",
                  file=sys.stderr)
            return ExitCode.OK
        store.write_cancel(ledger, now)
        if running and not daemon:
            assert progress is not None
            progress.cancel(now)
            finish_if_done(progress, now)
            store.save(ledger, progress, now)
    finally:
        ledger.close()
    what = progress.id if running and progress else "the requested backfill"
    handed = len(progress.in_flight) if running and progress else 0
    if daemon:
        print(f"idxd backfill: {what} cancelled; the running daemon reads no more days and "
              f"finishes the {handed} batch file(s) handed over; `idxd status` shows it",
              file=sys.stderr)
    elif handed:
        print(f"idxd backfill: {what} cancelled; the {handed} batch file(s) handed over "
              "finish, and go into their summary email, when the daemon next starts",
              file=sys.stderr)
    else:
        print(f"idxd backfill: {what} cancelled", file=sys.stderr)
    return ExitCode.OK


def run_here(settings: Settings[PipelineSettings], follower: Follower) -> int:
    """The pipeline in this process, with the backfill as its only timer job, until done."""
    app = load_app(settings.engine.app)
    app = replace(app, timer_jobs=(BACKFILL_JOB,))
    bar = Bar(sys.stderr)
    if bar.enabled:  # the log lines would tear the bar apart
        settings = replace(settings, engine=replace(settings.engine, log_level="warning"))
    code = run(settings, app=app, started=lambda daemon: watch(daemon, follower, bar))
    bar.close()
    return code if code != ExitCode.OK else outcome(settings.engine.root, follower.request.id)


def watch(daemon: Daemon, follower: Follower, bar: Bar) -> None:
    """Stop the daemon once the backfill has finished (from a side thread)."""
    def loop() -> None:
        while not daemon.stopping.wait(EVERY_S):
            progress = store.load(daemon.ledger)
            if progress is not None and progress.id == follower.request.id:
                bar.draw(progress)
            if follower.ended(progress):
                daemon.stopping.set()
    threading.Thread(target=loop, name="idxd-backfill-watch", daemon=True).start()


def follow(root: Path, follower: Follower) -> int:
    """Draw the running daemon's progress until the backfill is done (Ctrl-C leaves it be)."""
    bar = Bar(sys.stderr)
    try:
        while True:
            progress = _read(root)
            if progress is not None and progress.id == follower.request.id:
                bar.draw(progress)
            if follower.ended(progress):
                break
            if holder_pid(root) is None:
                bar.close()
                print("idxd backfill: the daemon stopped; it resumes the backfill when it "
                      "starts again", file=sys.stderr)
                return ExitCode.FAILURE
            time.sleep(EVERY_S)
    except KeyboardInterrupt:
        bar.close()
        return ExitCode.OK
    bar.close()
    return outcome(root, follower.request.id)


def _read(root: Path) -> Progress | None:
    ledger = Ledger.open_readonly(root)
    if ledger is None:
        return None
    try:
        return store.load(ledger)
    finally:
        ledger.close()


def _read_with_summaries(root: Path) -> tuple[Progress | None, dict[str, str | None]]:
    ledger = Ledger.open_readonly(root)
    if ledger is None:
        return None, {}
    try:
        progress = store.load(ledger)
        names = progress.summaries if progress else []
        return progress, {name: (ledger.get_state(SUMMARY_PREFIX + name) or {}).get("state")
                          for name in names}
    finally:
        ledger.close()


def outcome(root: Path, ident: str) -> int:
    """0 once the backfill finished and every summary is delivered; else 1, saying why."""
    progress, states = _read_with_summaries(root)
    unsent = [name for name, state in states.items() if state != SENT]
    if progress is not None and progress.id == ident and progress.state == CANCELLED:
        left = (f"the same command goes on from {progress.next_day}" if progress.next_day
                else "every day had been read")
        print(f"idxd backfill: {ident} cancelled after {progress.days_done} of "
              f"{progress.days_total} days ({progress.forms} forms); {left}", file=sys.stderr)
        return ExitCode.FAILURE
    if progress is None or progress.id != ident or progress.state != FINISHED:
        day = progress.next_day if progress else None
        print(f"idxd backfill: stopped before the end (next day {day}); the same command "
              "resumes it", file=sys.stderr)
        return ExitCode.FAILURE
    print(f"idxd backfill: {ident} done: {progress.days_done} days, {progress.trading_days} "
          f"with announcements, {progress.forms} forms, {len(progress.summaries)} summary "
          "email(s)", file=sys.stderr)
    if unsent:
        print(f"idxd backfill: not delivered yet (kept in outbox/, sent again by the daemon "
              f"or the next run): {', '.join(unsent)}", file=sys.stderr)
        return ExitCode.FAILURE
    return ExitCode.OK


class Bar:
    """One line on a terminal: days done of all, forms so far, ETA, and why it waits."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.enabled = stream.isatty()
        self._drawn = False

    def draw(self, progress: Progress) -> None:
        if self.enabled:
            self.stream.write("\r" + render(progress, datetime.now(UTC)))
            self.stream.flush()
            self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def render(progress: Progress, now: datetime) -> str:
    total = max(1, progress.days_total)
    filled = WIDTH * progress.days_done // total
    eta = store.eta_s(progress, now)
    parts = [f"[{'#' * filled}{'.' * (WIDTH - filled)}] {progress.days_done}/{total} days",
             f"{progress.forms} forms", f"ETA {_duration(eta)}" if eta is not None else "ETA -"]
    if progress.paused:
        parts.append(f"paused: {progress.paused[:60]}")
    return ", ".join(parts) + " " * 8


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


BACKFILL_COMMAND = Command(
    name="backfill",
    help="read the exchange's history day by day, newest first, through every stage; one "
         "summary email at the end (or every [backfill] summary_days)",
    configure=configure, run=run_command)
