"""`idxd once [window options]`: one window end to end, then exit (the old batch job).

It fetches the window's announcements (the same code as the ingest timer; with no option the
automatic window, whose end then becomes the last ingested end), runs every stage until every
inbox has drained, and closes that window at once, without waiting for a grace period: zip and
email. The result (`handlers/commands/once_result.py`) is printed on stdout, the logs go to
stderr. The exit code is 0 when everything went through, 1 when the exchange could not be read,
a file failed, or the email could not be delivered (it stays in `outbox/` and the next `once`
or the daemon sends it), with the reason on one line of stderr. A window whose ingest failed
gets an `ingest_failed` alert, so its email says so. A progress bar is drawn on stderr when it
is a terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import closing, redirect_stdout
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from daemon.cli_help import describe
from daemon.config import Settings
from daemon.errors import ExitCode
from daemon.lock import RootLock
from daemon.runner import run_until_idle
from daemon.stages import Command, load_app
from handlers.commands.once_result import OnceResult
from handlers.commands.window import add_window_arguments, is_auto, window_from_args
from handlers.context import PipelineContext, open_context
from handlers.domain.window_members import MailWindow
from handlers.domain.windows import Window
from handlers.jobs.ingest import Outcome, alert_window_failed, ingest_guarded
from handlers.jobs.ingest_state import save_last_end
from handlers.jobs.rollover import STATE_PREFIX, close_window, window_name
from handlers.settings import PipelineSettings


def configure(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Run one window end to end, then exit (a cron-compatible batch): fetch its "
             "announcements, run every stage until the inboxes drain, then close the window at "
             "once (artifacts zip and email). The result is printed on stdout, logs go to "
             "stderr.", ["idxd once --hours 2", "idxd once --date 2026-11-27 --start 16:00 "
                         "--end 18:00 --json", "idxd once --no-ingest"],
             {ExitCode.OK: "every file went through and the email was delivered (or written "
              "to outbox/ when no SMTP server is set)", ExitCode.FAILURE: "something failed: "
              "the reason on one line of stderr", ExitCode.BAD_CONFIG: "bad arguments or "
              "configuration", ExitCode.ALREADY_RUNNING: "the daemon holds the root"})
    add_window_arguments(parser)
    parser.add_argument("--no-ingest", action="store_true",
                        help="do not ask the exchange; process what is already in the inboxes")
    parser.add_argument("--json", action="store_true", help="the result as JSON on stdout")


def run_command(args: argparse.Namespace, settings: Settings[PipelineSettings]) -> int:
    settings = _absolute_root(settings)
    ctx = open_context(settings)
    try:
        window = window_from_args(args, ctx.now(), ctx)
    except ValueError as error:
        print(f"idxd once: {error}.", file=sys.stderr)
        return ExitCode.BAD_CONFIG
    finally:
        ctx.close()
    result = run_window(settings, window, ingest=not args.no_ingest, auto=is_auto(args))
    print(json.dumps(result.to_json(), indent=2) if args.json else result.summary())
    if result.reasons:
        print(f"idxd once: {'; '.join(result.reasons)}.", file=sys.stderr)
    return ExitCode.OK if result.ok else ExitCode.FAILURE


def run_window(settings: Settings[PipelineSettings], window: Window, *, ingest: bool = True,
               auto: bool = False, now: datetime | None = None) -> OnceResult:
    """Ingest, drain, close. The logs go to stderr meanwhile: stdout is the result's."""
    with redirect_stdout(sys.stderr):
        fetched = Outcome(error=None)
        if ingest:
            with RootLock(settings.engine.root), closing(open_context(settings)) as ctx:
                fetched = ingest_once(ctx, window, auto)
        drained = run_until_idle(settings, load_app(settings.engine.app), progress=sys.stderr)
        with RootLock(settings.engine.root), closing(open_context(settings)) as ctx:
            mail_window = MailWindow(window, inclusive=True)
            state = close_window(ctx, mail_window, now or ctx.now(), force=True)
            closed = ctx.ledger.get_state(STATE_PREFIX + window_name(mail_window)) or {}
    return OnceResult.of(settings.engine.root, window, fetched if ingest else None, drained,
                         state, closed)


def ingest_once(ctx: PipelineContext, window: Window, auto: bool) -> Outcome:
    outcome = ingest_guarded(ctx, window)
    if not outcome.ok:  # the window's email says at its top that it was not read
        alert_window_failed(ctx, window, str(outcome.error))
    elif auto:  # like the timer: the state advances only once the file is on disk
        save_last_end(ctx, window.end, stub=window.stub)
    return outcome


def _absolute_root(settings: Settings[PipelineSettings]) -> Settings[PipelineSettings]:
    root = Path(os.path.abspath(settings.engine.root))
    return replace(settings, engine=replace(settings.engine, root=root))


ONCE_COMMAND = Command(name="once", help="run one window end to end (ingest, every stage, zip "
                       "and email), then exit; exit code 1 if anything failed",
                       configure=configure, run=run_command)
