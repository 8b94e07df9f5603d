"""`idxd tail`: the daemon's JSON log lines shown as its console log shows them.

Lines come from a file, from standard input (`journalctl -u <app> -o cat -f | idxd tail`), or,
with no argument on a terminal, from `journalctl -u <app> -o cat -f` itself. Each JSON line is
rendered by the same structlog `ConsoleRenderer` the daemon uses on a terminal
(`daemon.logs.console_renderer`), so both views read alike. Filters keep a stage, a minimum
level, a path substring, or a substring of any key the application names (`App.log_filters`,
one `--<key>` option each). Lines that are not JSON (a traceback, a library's print) pass
through unchanged when no filter is asked for, so nothing the daemon wrote is hidden by the
viewer; a filter keeps only what it can classify, so they are dropped then. Which source is
read is said once on stderr, so a terminal following an empty journal is not a silent mystery.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from daemon.logs import console_renderer

LEVELS = ("debug", "info", "warning", "error", "critical")
# Where argparse keeps an application filter's value, apart from tail's own options.
FILTER_DEST = "log_filter_{}"

Renderer = Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class Filters:
    stage: str | None = None
    level: str | None = None  # the minimum
    contains: Mapping[str, str] = field(default_factory=dict)  # key -> text its value holds

    @property
    def active(self) -> bool:
        return bool(self.stage or self.level or self.contains)

    def keep(self, event: dict[str, Any]) -> bool:
        if self.stage and event.get("stage") != self.stage:
            return False
        if self.level and _rank(event.get("level")) < _rank(self.level):
            return False
        return all(text in str(event.get(key, "")) for key, text in self.contains.items())


def _rank(level: Any) -> int:
    name = str(level or "info").lower()
    return LEVELS.index(name) if name in LEVELS else LEVELS.index("info")


def configure(parser: argparse.ArgumentParser, log_filters: Mapping[str, str]) -> None:
    """Tail's own options, then one `--<key>` per application filter (key -> help text)."""
    parser.add_argument("source", nargs="?", metavar="FILE|-",
                        help="log file, or - for standard input (default: the journal on a "
                             "terminal, else standard input)")
    parser.add_argument("--stage", help="only this stage's lines")
    parser.add_argument("--level", choices=LEVELS, help="only lines at this level or above")
    parser.add_argument("--file", help="only lines whose path contains this text")
    for key, help_text in log_filters.items():
        parser.add_argument(f"--{key.replace('_', '-')}", dest=FILTER_DEST.format(key),
                            metavar="TEXT", help=help_text)
    parser.add_argument("--color", "--colour", choices=("auto", "always", "never"),
                        default="auto", help="colour the output (default: on a terminal)")


def filters_from(args: argparse.Namespace, log_filters: Iterable[str]) -> Filters:
    """The filters asked for on the command line; `--file` is a substring of `path`."""
    asked = {"path": args.file} | {key: getattr(args, FILTER_DEST.format(key), None)
                                   for key in log_filters}
    return Filters(args.stage, args.level, {key: text for key, text in asked.items() if text})


def renderer(colour: bool) -> Renderer:
    """One event as the console log would show it."""
    console = console_renderer(colours=colour)
    return lambda event: str(console(None, "tail", event))


def render(lines: Iterable[str], filters: Filters, show: Renderer) -> Iterator[str]:
    """Rendered lines for the JSON ones that pass the filters; other lines unchanged, unless a
    filter is asked for: it cannot tell what they are about."""
    for line in lines:
        text = line.rstrip("\n")
        event = _parse(text)
        if event is None:
            if not filters.active:
                yield text
        elif filters.keep(event):
            yield show(event)


def _parse(text: str) -> dict[str, Any] | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        event = json.loads(text)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def journal_command(unit: str) -> tuple[str, ...]:
    """Follow the unit's journal, one message (a JSON line) per line."""
    return ("journalctl", "-u", unit, "-o", "cat", "-f")


def run(args: argparse.Namespace, unit: str, log_filters: Iterable[str] = ()) -> int:
    out = sys.stdout
    colour = args.color == "always" or (args.color == "auto" and out.isatty())
    show, filters = renderer(colour), filters_from(args, log_filters)
    source = _Source(args.source, journal_command(unit))
    print(f"idxd tail: reading {source.describe()} (Ctrl-C to stop)", file=sys.stderr)
    with source as (lines, process):
        try:
            for text in render(lines, filters, show):
                out.write(text + "\n")
                out.flush()  # a follower must see each line as it comes
        except (KeyboardInterrupt, BrokenPipeError):
            pass
        finally:
            if process is not None:
                process.terminate()
    return 0


class _Source:
    """The lines to read, and the journalctl process behind them when we started one."""

    def __init__(self, source: str | None, journal: tuple[str, ...]):
        self.source = source
        self.journal = journal
        self.handle: IO[str] | None = None
        self.process: subprocess.Popen[str] | None = None

    def _stdin(self) -> bool:
        return self.source == "-" or (self.source is None and not sys.stdin.isatty())

    def describe(self) -> str:
        if self._stdin():
            return "standard input"
        if self.source is None:
            return f"the journal: {' '.join(self.journal)}"
        return self.source

    def __enter__(self) -> tuple[Iterable[str], subprocess.Popen[str] | None]:
        if self._stdin():
            return sys.stdin, None
        if self.source is None:
            self.process = subprocess.Popen(self.journal, stdout=subprocess.PIPE, text=True)
            assert self.process.stdout is not None
            return self.process.stdout, self.process
        self.handle = open(self.source, encoding="utf-8", errors="replace")
        return self.handle, None

    def __exit__(self, *_exc: object) -> None:
        if self.handle is not None:
            self.handle.close()
        if self.process is not None:
            self.process.wait(5)
