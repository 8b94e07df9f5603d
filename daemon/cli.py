"""The `idxd` command line: `main(argv) -> int` with named exit codes.

The engine's commands (run, status, drop, replay, trace, check-config, ledger) are defined here;
the application adds its own (`App.commands`). A ledger that cannot be used (not SQLite, or lost
in a root that did work before) is one sentence and exit code 2 from every command that reads
or feeds the root; `idxd ledger check|rebuild` are the way out. Settings are loaded and
validated before any command runs: a bad value is one sentence on stderr and exit code 2. An
application command declared a `StandaloneCommand` (a demo on its own temporary root) runs
without reading them at all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from daemon import commands, rebuild, tail
from daemon.apps import installed_app
from daemon.config import Settings, config_path_from, load_settings
from daemon.errors import AlreadyRunning, ConfigError, ExitCode
from daemon.guard import refuse_foreign, refuse_lost
from daemon.ledger import LedgerUnusable
from daemon.logs import Stderr, configure_logging
from daemon.stages import App, StandaloneCommand, load_app


def global_options(suppress: bool) -> argparse.ArgumentParser:
    """`--config` and `--root`, accepted before or after the command (`idxd run --root R`)."""
    default = argparse.SUPPRESS if suppress else None
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--config", default=default,
                         help="TOML settings file (default: $IDXD_CONFIG)")
    options.add_argument("--root", default=default,
                         help="root directory (overrides the setting)")
    return options


def build_parser(app: App[Any, Any] | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="idxd", description=app.description if app else None,
                                     parents=[global_options(suppress=False)])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = [global_options(suppress=True)]

    def add(name: str, summary: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, parents=common)

    add("run", "run the daemon in the foreground")
    status = add("status", "queues, failures, quarantine, and the application's own facts")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    drop = add("drop", "copy a file atomically into a stage's inbox")
    drop.add_argument("file", type=Path)
    drop.add_argument("--stage", help="the stage whose inbox takes the file")
    replay = add("replay", "put quarantined files back in their inbox")
    which = replay.add_mutually_exclusive_group()
    which.add_argument("--failed", action="store_true",
                       help="every quarantined file, and files that outlived their retries")
    which.add_argument("path", nargs="?", type=Path, help="one quarantined file")
    trace = add("trace", "the lineage of a file recorded in the ledger")
    trace.add_argument("path")
    trace.add_argument("--json", action="store_true")
    add("check-config", "validate the settings and print them")
    rebuild.configure(add("ledger", "check the ledger, or rebuild it from the files on disk"))
    tail.configure(add("tail", "a readable view of the JSON log lines"),
                   app.log_filters if app else {})
    for command in app.commands if app else ():
        command.configure(add(command.name, command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    known, rest = global_options(suppress=False).parse_known_args(argv)
    standalone = _standalone_command(rest)
    if standalone is not None:
        return _run_standalone(standalone, argv)
    try:
        settings = load_settings(config_path_from(known.config, os.environ),
                                 root_override=known.root)
    except ConfigError as error:
        print(f"idxd: {error}", file=sys.stderr)
        return ExitCode.BAD_CONFIG
    app = load_app(settings.engine.app)
    args = build_parser(app).parse_args(argv)
    if args.command is None:
        build_parser(app).print_help()
        return ExitCode.BAD_CONFIG
    try:
        return dispatch(args, settings, app)
    except AlreadyRunning as error:
        print(f"idxd: {error}", file=sys.stderr)
        return ExitCode.ALREADY_RUNNING
    except ConfigError as error:  # found only at start, e.g. a port already taken
        print(f"idxd: {error}", file=sys.stderr)
        return ExitCode.BAD_CONFIG
    except LedgerUnusable as error:  # the operator must act before the root can be used
        print(f"idxd: {error}.", file=sys.stderr)
        return ExitCode.BAD_CONFIG
    except (ValueError, FileNotFoundError) as error:
        print(f"idxd: {error}", file=sys.stderr)
        return ExitCode.FAILURE


def _standalone_command(rest: list[str]) -> tuple[App[Any, Any], StandaloneCommand] | None:
    """The installed application's command named first in `rest`, if it needs no settings."""
    name = next((word for word in rest if not word.startswith("-")), None)
    reference = installed_app()
    if name is None or not reference:
        return None
    app = load_app(reference)
    command = next((c for c in app.commands if c.name == name), None)
    return (app, command) if isinstance(command, StandaloneCommand) else None


def _run_standalone(found: tuple[App[Any, Any], StandaloneCommand], argv: list[str]) -> int:
    app, command = found
    configure_logging(stream=Stderr(), secret_keys=app.secret_keys)
    return command.run(build_parser(app).parse_args(argv))


# Commands that work whatever state the ledger is in (`ledger` is how it is repaired).
LEDGER_FREE_COMMANDS = frozenset({"check-config", "tail", "ledger"})


def dispatch(args: argparse.Namespace, settings: Settings[Any], app: App[Any, Any]) -> int:
    root = settings.engine.root
    if args.command != "run":
        configure_logging(settings.engine.log_level, settings.engine.log_format, Stderr(),
                          app.secret_keys)
    if args.command not in LEDGER_FREE_COMMANDS:
        refuse_foreign(root)
    if args.command == "run" or any(c.name == args.command for c in app.commands):
        refuse_lost(root, app.recovery)  # before the command opens (and creates) a ledger
    if args.command == "run":
        from daemon.runner import run

        return run(settings, app=app)
    if args.command == "status":
        status = commands.collect_status(root, app, settings)
        print(json.dumps(status, indent=2, default=str) if args.json
              else commands.format_status(status))
        return ExitCode.OK
    if args.command == "drop":
        target = commands.drop_file(root, app, args.file, args.stage)
        print(target)
        return ExitCode.OK
    if args.command == "replay":
        return _replay(root, args)
    if args.command == "trace":
        return _trace(root, args)
    if args.command == "tail":
        return tail.run(args, app.name, app.log_filters)
    if args.command == "ledger":
        return rebuild.run(args, root, app)
    if args.command == "check-config":
        print(f"configuration is valid; root {root.resolve()}")
        return ExitCode.OK
    command = next(command for command in app.commands if command.name == args.command)
    if isinstance(command, StandaloneCommand):
        return command.run(args)
    return command.run(args, settings)


def _replay(root: Path, args: argparse.Namespace) -> int:
    if args.path is None and not args.failed:
        raise ValueError("name a quarantined file, or use --failed for all of them")
    replayed = commands.replay(root, commands.quarantine_targets(root, args.path))
    for stage, path in replayed:
        print(f"{stage}: {path}")
    if args.failed:
        retried = commands.replay_failed_in_place(root)
        print(f"{len(replayed)} quarantined file(s) replayed, {retried} failed file(s) retried")
    return ExitCode.OK


def _trace(root: Path, args: argparse.Namespace) -> int:
    chain = commands.trace(root, args.path)
    if not chain:
        print(f"idxd: the ledger has no record of {args.path}", file=sys.stderr)
        return ExitCode.FAILURE
    if args.json:
        print(json.dumps(chain, indent=2, default=str))
        return ExitCode.OK
    for row in chain:
        outputs = ", ".join(row["outputs"]) or "-"
        where = row["quarantine_path"] or row["path"]
        print(f"{row['stage']:<10} {row['state']:<12} {where}  →  {outputs}"
              + (f"  [{row['error_code']}: {row['last_error']}]" if row["error_code"] else ""))
    return ExitCode.OK
