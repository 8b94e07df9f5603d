"""`idxd window …`: the window options shared by `window` and `ingest`, and printing a window.

With no option the window is automatic (from the last ingested end minus the overlap, or the
last two hours); otherwise the last N minutes or hours, an explicit date with HH:MM bounds, or
a range of whole days. `idxd window` prints the window as JSON without touching anything.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from daemon.cli_help import describe
from daemon.config import Settings
from daemon.errors import ExitCode
from daemon.stages import Command
from handlers.context import PipelineContext, open_context
from handlers.domain import windows
from handlers.jobs.ingest_state import load_last_end
from handlers.settings import PipelineSettings


def add_window_arguments(parser: argparse.ArgumentParser) -> None:
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--minutes", type=float, help="the last N minutes")
    modes.add_argument("--hours", type=float, help="the last N hours")
    modes.add_argument("--date", help="a day (YYYYMMDD or YYYY-MM-DD) with --start and --end")
    modes.add_argument("--from-date", help="first whole day (with --to-date)")
    parser.add_argument("--start", help="HH:MM, WIB (with --date)")
    parser.add_argument("--end", help="HH:MM, WIB (with --date); earlier than --start = next day")
    parser.add_argument("--to-date", help="last whole day (with --from-date)")


def is_auto(args: argparse.Namespace) -> bool:
    return all(getattr(args, name, None) is None for name in ("minutes", "hours", "date",
                                                               "from_date"))


def window_from_args(args: argparse.Namespace, now: datetime,
                     ctx: PipelineContext) -> windows.Window:
    """The window the options describe; raises ValueError with a readable message."""
    if args.minutes is not None:
        return windows.last_minutes(now, _positive(args.minutes, "--minutes"))
    if args.hours is not None:
        return windows.last_hours(now, _positive(args.hours, "--hours"))
    if args.date is not None:
        if not (args.start and args.end):
            raise ValueError("--date needs both --start HH:MM and --end HH:MM")
        return windows.explicit(windows.parse_day(args.date), args.start, args.end)
    if args.from_date is not None:
        last = args.to_date or args.from_date
        return windows.whole_days(windows.parse_day(args.from_date), windows.parse_day(last))
    ingest = ctx.config.ingest
    return windows.auto(now, load_last_end(ctx), overlap_min=ingest.overlap_min,
                        lookback_min=ingest.lookback_min)


def run_window(args: argparse.Namespace, settings: Settings[PipelineSettings]) -> int:
    ctx = open_context(settings)
    try:
        window = window_from_args(args, ctx.now(), ctx)
    except ValueError as error:
        print(f"idxd window: {error}.", file=sys.stderr)
        return ExitCode.BAD_CONFIG
    finally:
        ctx.close()
    print(json.dumps({**window.to_json(), "auto": is_auto(args)}, indent=2))
    return ExitCode.OK


def _positive(value: float, option: str) -> float:
    if value <= 0:
        raise ValueError(f"{option} must be greater than 0")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Print a WIB window (start, end, file stub, days to query) as JSON, "
             "without touching anything: the automatic one by default.",
             ["idxd window", "idxd window --hours 6", "idxd window --date 2026-11-27 --start "
              "16:00 --end 18:00"],
             {ExitCode.OK: "printed", ExitCode.BAD_CONFIG: "bad window options or "
              "configuration"})
    add_window_arguments(parser)


WINDOW_COMMAND = Command(
    name="window",
    help="print a WIB window (start, end, file stub, days to query) as JSON",
    configure=configure,
    run=run_window,
)
