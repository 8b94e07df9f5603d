"""The `idxd` command line: `main(argv) -> int` with named exit codes, and never a traceback.

The engine's commands (run, status, drop, replay, trace, check-config, ledger, tail) are
dispatched here (their arguments and help pages are `daemon/cli_help.py`); the application
adds its own (`App.commands`). Settings are loaded and validated before any command runs, and
the root is checked for what the command needs (`daemon/rootcheck.py`). Whatever goes wrong
after that is one sentence on stderr and a documented exit code: 2 for a bad configuration, a
root that is not usable or a ledger that cannot be used, 1 for a failure, 3 when another daemon
holds the root. A reader that closes stdout early (`| head`) ends the output quietly. An
application command declared a `StandaloneCommand` (a demo on its own temporary root) runs
without reading the settings at all.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from daemon import commands, rebuild, rootcheck, tail
from daemon.apps import installed_app
from daemon.cli_help import build_parser, global_options, parse
from daemon.config import EngineSettings, Settings, config_path_from, load_settings
from daemon.config_example import render_example
from daemon.errors import AlreadyRunning, ConfigError, ExitCode
from daemon.guard import refuse_foreign, refuse_lost
from daemon.ledger import Ledger, LedgerUnusable
from daemon.logs import Stderr, configure_logging
from daemon.stages import App, StandaloneCommand, load_app
from daemon.status import collect_status
from daemon.status_text import format_status, health_line
from daemon.stdout import ReaderGone

# Commands that work whatever state the ledger is in (`ledger` is how it is repaired).
LEDGER_FREE_COMMANDS = frozenset({"check-config", "tail", "ledger"})
# Commands that only read a root the daemon has worked in: a mistyped --root is an error.
READING_COMMANDS = frozenset({"status", "trace", "replay", "drop"})


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    out = sys.stdout
    sys.stdout = ReaderGone(out)
    try:
        return _guarded(lambda: _main(argv), verbose="-v" in argv or "--verbose" in argv)
    finally:
        sys.stdout.flush()
        sys.stdout = out


def _main(argv: list[str]) -> int:
    known, rest = global_options(suppress=False).parse_known_args(argv)
    standalone = _standalone_command(rest)
    if standalone is not None:
        return _run_standalone(standalone, argv)
    if _first_word(rest) == "config":  # the example must print even before a valid file exists
        return _print_example(argv)
    settings = load_settings(config_path_from(known.config, os.environ), root_override=known.root)
    app = load_app(settings.engine.app)
    args = parse(build_parser(app), argv)
    if args.command is None:
        build_parser(app).print_help()
        return ExitCode.BAD_CONFIG
    return dispatch(args, _with_loudness(settings, args), app)


def _guarded(command: Callable[[], int], verbose: bool) -> int:
    """The command's exit code; any exception becomes one sentence and its exit code."""
    try:
        return command()
    except AlreadyRunning as error:
        return _say(error, ExitCode.ALREADY_RUNNING)
    except (ConfigError, LedgerUnusable) as error:
        return _say(error, ExitCode.BAD_CONFIG)
    except sqlite3.DatabaseError as error:
        return _say(f"a database under the root cannot be read ({error}); `idxd ledger check` "
                    "says whether it is the ledger", ExitCode.BAD_CONFIG)
    except OSError as error:
        return _say(_os_sentence(error), ExitCode.FAILURE)
    except ValueError as error:
        return _say(error, ExitCode.FAILURE)
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except Exception as error:  # a bug: still one sentence, the traceback only when asked
        if verbose:
            traceback.print_exc()
        return _say(f"unexpected {type(error).__name__}: {error} (run with -v for the "
                    "traceback)", ExitCode.FAILURE)


def _say(error: object, code: int) -> int:
    text = str(error).rstrip()
    print(f"idxd: {text}" + ("" if text.endswith((".", "?", "!")) else "."), file=sys.stderr)
    return code


def _os_sentence(error: OSError) -> str:
    where = f" ({error.filename})" if error.filename else ""
    return f"{error.strerror or error}{where}"


def _with_loudness(settings: Settings[Any], args: argparse.Namespace) -> Settings[Any]:
    level = "debug" if getattr(args, "verbose", False) else (
        "warning" if getattr(args, "quiet", False) else None)
    if level is None:
        return settings
    return replace(settings, engine=replace(settings.engine, log_level=level))


def _first_word(rest: list[str]) -> str | None:
    return next((word for word in rest if not word.startswith("-")), None)


def _print_example(argv: list[str]) -> int:
    """`idxd config example`, from the declarations alone: no settings are read."""
    app = load_app(installed_app())
    parse(build_parser(app), argv)
    print(render_example(EngineSettings, type(app.load_settings({}, {}))), end="")
    return ExitCode.OK


def _standalone_command(rest: list[str]) -> tuple[App[Any, Any], StandaloneCommand] | None:
    """The installed application's command named first in `rest`, if it needs no settings."""
    name = _first_word(rest)
    reference = installed_app()
    if name is None or not reference:
        return None
    app = load_app(reference)
    command = next((c for c in app.commands if c.name == name), None)
    return (app, command) if isinstance(command, StandaloneCommand) else None


def _run_standalone(found: tuple[App[Any, Any], StandaloneCommand], argv: list[str]) -> int:
    app, command = found
    configure_logging(stream=Stderr(), secret_keys=app.secret_keys)
    return command.run(parse(build_parser(app), argv))


def check_root(command: str, root: Path) -> None:
    if command in READING_COMMANDS:
        rootcheck.require_existing(root)
    elif command not in ("tail", "ledger"):
        rootcheck.require_writable(root)


def dispatch(args: argparse.Namespace, settings: Settings[Any], app: App[Any, Any]) -> int:
    root = settings.engine.root
    if args.command != "run":
        configure_logging(settings.engine.log_level, settings.engine.log_format, Stderr(),
                          app.secret_keys)
    check_root(args.command, root)
    if args.command not in LEDGER_FREE_COMMANDS:
        refuse_foreign(root)
        _refuse_damaged(root)
    if args.command == "run" or any(c.name == args.command for c in app.commands):
        refuse_lost(root, app.recovery)  # before the command opens (and creates) a ledger
    engine = ENGINE_COMMANDS.get(args.command)
    if engine is not None:
        return engine(args, settings, app)
    command = next(command for command in app.commands if command.name == args.command)
    if isinstance(command, StandaloneCommand):
        return command.run(args)
    return command.run(args, settings)


def _refuse_damaged(root: Path) -> None:
    """A ledger SQLite cannot read is refused before the command starts any work."""
    ledger = Ledger.open_readonly(root)  # raises LedgerUnusable with the sentence
    if ledger is not None:
        ledger.close()


def _run(_args: argparse.Namespace, settings: Settings[Any], app: App[Any, Any]) -> int:
    from daemon.runner import run

    return run(settings, app=app)


def _status(args: argparse.Namespace, settings: Settings[Any], app: App[Any, Any]) -> int:
    status = collect_status(settings.engine.root, app, settings)
    print(json.dumps(status, indent=2, default=str) if args.json else format_status(status))
    if status["health"]["ok"]:
        return ExitCode.OK
    print(f"idxd: {health_line(status['health'])}", file=sys.stderr)
    return ExitCode.FAILURE


def _drop(args: argparse.Namespace, settings: Settings[Any], app: App[Any, Any]) -> int:
    print(commands.drop_file(settings.engine.root, app, args.file, args.stage))
    return ExitCode.OK


def _replay(args: argparse.Namespace, settings: Settings[Any], _app: App[Any, Any]) -> int:
    root = settings.engine.root
    if args.path is None and not args.failed:
        raise ValueError("name a quarantined file, or use --failed for all of them")
    replayed = commands.replay(root, commands.quarantine_targets(root, args.path))
    for stage, path in replayed:
        print(f"{stage}: {path}")
    if args.failed:
        retried = commands.replay_failed_in_place(root)
        print(f"{len(replayed)} quarantined file(s) replayed, {retried} failed file(s) retried")
    return ExitCode.OK


def _trace(args: argparse.Namespace, settings: Settings[Any], _app: App[Any, Any]) -> int:
    chain = commands.trace(settings.engine.root, args.path)
    if not chain:
        print(f"idxd: the ledger has no record of {args.path}.", file=sys.stderr)
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


def _tail(args: argparse.Namespace, _settings: Settings[Any], app: App[Any, Any]) -> int:
    return tail.run(args, app.name, app.log_filters)


def _ledger(args: argparse.Namespace, settings: Settings[Any], app: App[Any, Any]) -> int:
    return rebuild.run(args, settings.engine.root, app)


def _check_config(_args: argparse.Namespace, settings: Settings[Any], _app: App[Any, Any]) -> int:
    print(f"configuration is valid; root {settings.engine.root.resolve()} is writable")
    return ExitCode.OK


ENGINE_COMMANDS: dict[str, Callable[[argparse.Namespace, Settings[Any], App[Any, Any]], int]] = {
    "run": _run, "status": _status, "drop": _drop, "replay": _replay, "trace": _trace,
    "tail": _tail, "ledger": _ledger, "check-config": _check_config,
}
