"""`idxd ingest [window options]`: one ingest by hand, the same code as the ingest timer.

With no option it takes the automatic window and advances the last ingested end, as a tick
would; with explicit window options it leaves that state alone, as the original did.
"""

from __future__ import annotations

import argparse

from daemon.config import Settings
from daemon.errors import ExitCode
from daemon.stages import Command
from handlers.commands.window import add_window_arguments, is_auto, window_from_args
from handlers.context import open_context
from handlers.jobs.ingest import ingest_auto, run_guarded
from handlers.settings import PipelineSettings


def run_command(args: argparse.Namespace, settings: Settings[PipelineSettings]) -> int:
    ctx = open_context(settings)
    try:
        if is_auto(args):
            return ExitCode.OK if ingest_auto(ctx, ctx.now()) else ExitCode.FAILURE
        window = window_from_args(args, ctx.now(), ctx)
        return ExitCode.OK if run_guarded(ctx, window) else ExitCode.FAILURE
    except ValueError as error:
        print(f"idxd ingest: {error}")
        return ExitCode.BAD_CONFIG
    finally:
        ctx.close()


INGEST_COMMAND = Command(
    name="ingest",
    help="fetch one window of announcements now (automatic window by default)",
    configure=add_window_arguments,
    run=run_command,
)
