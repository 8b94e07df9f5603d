"""`idxd once [window options]`: one window end to end, then exit (the old batch job).

It fetches the window's announcements (the same code as the ingest timer; with no option the
automatic window, whose end then becomes the last ingested end), runs every stage until every
inbox has drained, and closes that window at once, without waiting for a grace period: zip and
email. The exit code is 0 when everything went through, 1 when the exchange refused, a file
failed, or the email could not be delivered (it stays in `outbox/` and the next `once` or the
daemon sends it). A progress bar is drawn on stderr when it is a terminal.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import closing
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from daemon.config import Settings
from daemon.errors import ExitCode
from daemon.lock import RootLock
from daemon.runner import run_until_idle
from daemon.stages import Command, load_app
from handlers import paths
from handlers.commands.window import add_window_arguments, is_auto, window_from_args
from handlers.context import PipelineContext, open_context
from handlers.domain.window_members import MailWindow
from handlers.domain.windows import Window
from handlers.jobs.ingest import run_guarded
from handlers.jobs.ingest_state import save_last_end
from handlers.jobs.rollover import SENDING, close_window, window_name
from handlers.settings import PipelineSettings


def configure(parser: argparse.ArgumentParser) -> None:
    add_window_arguments(parser)
    parser.add_argument("--no-ingest", action="store_true",
                        help="do not ask the exchange; process what is already in the inboxes")


def run_command(args: argparse.Namespace, settings: Settings[PipelineSettings]) -> int:
    settings = _absolute_root(settings)
    ctx = open_context(settings)
    try:
        window = window_from_args(args, ctx.now(), ctx)
    except ValueError as error:
        print(f"idxd once: {error}", file=sys.stderr)
        return ExitCode.BAD_CONFIG
    finally:
        ctx.close()
    return run_window(settings, window, ingest=not args.no_ingest, auto=is_auto(args))


def run_window(settings: Settings[PipelineSettings], window: Window, *, ingest: bool = True,
               auto: bool = False, now: datetime | None = None) -> int:
    """Ingest, drain, close; returns the exit code."""
    fetched = True
    if ingest:
        with RootLock(settings.engine.root), closing(open_context(settings)) as ctx:
            fetched = ingest_once(ctx, window, auto)
    drained = run_until_idle(settings, load_app(settings.engine.app), progress=sys.stderr)
    with RootLock(settings.engine.root), closing(open_context(settings)) as ctx:
        state = close_window(ctx, MailWindow(window, inclusive=True), now or ctx.now(),
                             force=True)
    report(settings.engine.root, window, state)
    ok = fetched and drained.ok and state != SENDING
    return ExitCode.OK if ok else ExitCode.FAILURE


def ingest_once(ctx: PipelineContext, window: Window, auto: bool) -> bool:
    if not run_guarded(ctx, window):
        return False
    if auto:  # like the timer: the state advances only once the file is on disk
        save_last_end(ctx, window.end, stub=window.stub)
    return True


def report(root: Path, window: Window, state: str) -> None:
    name = window_name(MailWindow(window, inclusive=True))
    print(f"window {window.stub}: {state}; artifacts {root / paths.ARTIFACTS / (name + '.zip')}",
          file=sys.stderr)


def _absolute_root(settings: Settings[PipelineSettings]) -> Settings[PipelineSettings]:
    root = Path(os.path.abspath(settings.engine.root))
    return replace(settings, engine=replace(settings.engine, root=root))


ONCE_COMMAND = Command(name="once", help="run one window end to end (ingest, every stage, zip "
                       "and email), then exit; exit code 1 if anything failed",
                       configure=configure, run=run_command)
