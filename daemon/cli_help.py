"""The `idxd` argument parser: global options, the engine's commands and their help pages.

Every subcommand's help says what it does, shows an example and lists its exit codes
(`describe`); the application's commands call `describe` from their own `configure`. A bad
argument is one sentence on stderr and exit code 2, never argparse's usage dump.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

from daemon import rebuild, tail
from daemon.errors import ExitCode
from daemon.stages import App

# The exit codes most commands share; a command lists only the ones it can return.
OK: dict[int, str] = {ExitCode.OK: "success"}
BAD: dict[int, str] = {ExitCode.BAD_CONFIG: "bad arguments or configuration, the root is not "
                       "usable, or the ledger cannot be used (one sentence on stderr)"}
FAILED: dict[int, str] = {ExitCode.FAILURE: "the command failed (one sentence on stderr)"}


class Parser(argparse.ArgumentParser):
    """One sentence for a bad argument, naming where to read more."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(ExitCode.BAD_CONFIG)


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """The arguments; words no parser takes are refused by the subcommand's parser, so the
    sentence names the page to read (`idxd status --help`)."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        owner = _subparsers(parser).get(getattr(args, "command", None) or "", parser)
        owner.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps its subcommands only there
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def describe(parser: argparse.ArgumentParser, about: str, examples: Sequence[str],
             exits: Mapping[int, str]) -> None:
    """A subcommand's help page: what it does, examples, and what each exit code means."""
    parser.description = about
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    codes = "\n".join(f"  {int(code):<4}{meaning}" for code, meaning in sorted(exits.items()))
    parser.epilog = ("examples:\n" + "\n".join(f"  {example}" for example in examples)
                     + f"\n\nexit codes:\n{codes}")


def version() -> str:
    try:
        return metadata.version("idxd")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def global_options(suppress: bool) -> Parser:
    """`--config`, `--root`, `-v`/`-q`, accepted before or after the command."""
    default = argparse.SUPPRESS if suppress else None
    options = Parser(add_help=False)
    options.add_argument("--config", default=default,
                         help="TOML settings file (default: $IDXD_CONFIG)")
    options.add_argument("--root", default=default,
                         help="root directory (overrides the setting)")
    loudness = options.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true",
                          default=default if suppress else False,
                          help="log at debug level")
    loudness.add_argument("-q", "--quiet", action="store_true",
                          default=default if suppress else False,
                          help="log warnings and errors only")
    return options


def build_parser(app: App[Any, Any] | None) -> argparse.ArgumentParser:
    parser = Parser(prog="idxd", description=app.description if app else None,
                    parents=[global_options(suppress=False)])
    parser.add_argument("--version", action="version", version=f"idxd {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    common = [global_options(suppress=True)]

    def add(name: str, summary: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, parents=common)

    stages = [stage.name for stage in app.stages] if app else []
    _run(add("run", "run the daemon in the foreground"))
    _status(add("status", "health, queues, failures, quarantine, disk use"))
    _drop(add("drop", "copy a file atomically into a stage's inbox"), stages)
    _replay(add("replay", "put quarantined files back in their inbox"))
    _trace(add("trace", "the lineage of a file recorded in the ledger"))
    _check_config(add("check-config", "validate the settings and the root"))
    _config(add("config", "print an example settings file with every key and its default"))
    _ledger(add("ledger", "check the ledger, or rebuild it from the files on disk"))
    _tail(add("tail", "a readable view of the JSON log lines"), app)
    for command in app.commands if app else ():
        command.configure(add(command.name, command.help))
    return parser


def _run(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Run the daemon in the foreground (what systemd starts): sweep every "
             "inbox, watch them, run the timer jobs; SIGTERM drains and stops, SIGHUP reloads.",
             ["idxd --root /var/lib/idxd run"],
             {**OK, **FAILED, **BAD, ExitCode.ALREADY_RUNNING: "another daemon holds the root",
              ExitCode.INTERRUPTED: "a second stop signal ended the drain"})


def _status(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Show the health of a root (ingest, sources, company map, failures, "
             "last window and email, disk use) and per-stage queues; works whether or not "
             "the daemon runs, and writes nothing.",
             ["idxd status", "idxd status --json | jq .health"],
             {ExitCode.OK: "healthy", ExitCode.FAILURE: "degraded (the reasons on one line)",
              **BAD})
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _drop(parser: argparse.ArgumentParser, stages: list[str]) -> None:
    describe(parser, "Copy FILE under a temporary name into the inbox of the stage that takes "
             "it, then rename it into place, so the daemon never sees half a file.",
             ["idxd drop 20261127_1600_20261127_1800.json",
              "idxd drop form.pdf --stage parse"], {**OK, **FAILED, **BAD})
    parser.add_argument("file", type=Path)
    parser.add_argument("--stage", choices=stages or None, metavar="STAGE",
                        help="the stage whose inbox takes the file: " + ", ".join(stages))


def _replay(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Put a quarantined file back into its inbox (its .error.json says why it "
             "failed), or every one of them and every failed file with --failed.",
             ["idxd replay quarantine/parse/form.pdf", "idxd replay --failed"],
             {**OK, **FAILED, **BAD})
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--failed", action="store_true",
                       help="every quarantined file, and files that outlived their retries")
    which.add_argument("path", nargs="?", type=Path, help="one quarantined file")


def _trace(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Print the lineage the ledger recorded for a file: its ancestors back to "
             "the first input, then every output down to the last stage, and the window "
             "and email it went into.",
             ["idxd trace downloads/idx-format/form.pdf", "idxd trace data/parsed/x.json --json"],
             {ExitCode.OK: "the file was found", ExitCode.FAILURE: "the ledger has no record "
              "of it", **BAD})
    parser.add_argument("path")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _check_config(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Load and validate every setting (file and environment) and check that "
             "the root is a directory this user can write to.",
             ["IDXD_CONFIG=/etc/idxd/idxd.toml idxd check-config"], {**OK, **BAD})


def _config(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Print a complete TOML settings file: every table and key with its "
             "default, what a value must be, its environment variables and whether SIGHUP "
             "applies it. Secrets are environment-only and appear commented out.",
             ["idxd config example > /etc/idxd/idxd.toml"], {**OK, **BAD})
    parser.add_argument("action", choices=("example",), help="what to print")


def _ledger(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Check the ledger with SQLite's integrity check, or rebuild it from the "
             "files on disk (the old one is set aside, never deleted).",
             ["idxd ledger check", "idxd ledger rebuild"],
             {**OK, **FAILED, ExitCode.BAD_CONFIG: "the ledger is damaged, or bad arguments",
              ExitCode.ALREADY_RUNNING: "rebuild refused: the daemon runs"})
    rebuild.configure(parser)


def _tail(parser: argparse.ArgumentParser, app: App[Any, Any] | None) -> None:
    describe(parser, "Show the daemon's JSON log lines as its console log does. It reads FILE, "
             "standard input, or the journal of the unit (says which on stderr); --level, "
             "--stage and the other filters drop lines they cannot classify.",
             ["journalctl -u idxd -o cat --since today | idxd tail --level warning",
              "idxd tail --stage parse saved.log"], {**OK, **FAILED, **BAD})
    tail.configure(parser, app.log_filters if app else {})
