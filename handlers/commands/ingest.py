"""`idxd ingest [window options]`: one ingest by hand, the same code as the ingest timer.

With no option it takes the automatic window and advances the last ingested end, as a tick
would; with explicit window options it leaves that state alone, as the original did.
"""

from __future__ import annotations

import argparse
import sys

from daemon.cli_help import describe
from daemon.config import Settings
from daemon.errors import ExitCode
from daemon.stages import Command
from handlers.commands.window import add_window_arguments, is_auto, window_from_args
from handlers.context import open_context
from handlers.jobs.ingest import ingest_auto, ingest_guarded
from handlers.settings import PipelineSettings


def run_command(args: argparse.Namespace, settings: Settings[PipelineSettings]) -> int:
    ctx = open_context(settings)
    try:
        outcome = ingest_auto(ctx, ctx.now()) if is_auto(args) else \
            ingest_guarded(ctx, window_from_args(args, ctx.now(), ctx))
        if outcome.ok:
            print(f"{outcome.announcements} announcement(s) in {outcome.path}")
            return ExitCode.OK
        print(f"idxd ingest: ingest failed: {outcome.error}.", file=sys.stderr)
        return ExitCode.FAILURE
    except ValueError as error:
        print(f"idxd ingest: {error}.", file=sys.stderr)
        return ExitCode.BAD_CONFIG
    finally:
        ctx.close()


def configure(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Fetch one window of announcements from the exchange now, into "
             "data/announcements/, as the ingest timer does (the automatic window, which then "
             "advances the last ingested end, unless a window is given).",
             ["idxd ingest", "idxd ingest --date 2026-11-27 --start 16:00 --end 18:00"],
             {ExitCode.OK: "the batch is written", ExitCode.FAILURE: "the exchange could not "
              "be read (the reason in the log)", ExitCode.BAD_CONFIG: "bad window options or "
              "configuration"})
    add_window_arguments(parser)


INGEST_COMMAND = Command(
    name="ingest",
    help="fetch one window of announcements now (automatic window by default)",
    configure=configure,
    run=run_command,
)
