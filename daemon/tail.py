"""`idxd tail`: a readable, coloured view of the daemon's JSON log lines.

Lines come from a file, from standard input (`journalctl -u idxd -o cat -f | idxd tail`), or,
with no argument on a terminal, from `journalctl -u idxd -o cat -f` itself. Each JSON line
becomes `time LEVEL event stage path key=value…`; filters keep a stage, a minimum level, a path
substring or a window. Lines that are not JSON (a traceback, a library's print) pass through
unchanged, so nothing the daemon wrote is ever hidden by the viewer.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

LEVELS = ("debug", "info", "warning", "error", "critical")
JOURNAL_COMMAND = ("journalctl", "-u", "idxd", "-o", "cat", "-f")
RESET, DIM, BOLD = "\033[0m", "\033[2m", "\033[1m"
LEVEL_COLOURS = {"debug": DIM, "info": "\033[32m", "warning": "\033[33m",
                 "error": "\033[31;1m", "critical": "\033[41;97m"}
EVENT_COLOUR, KEY_COLOUR, STAGE_COLOUR = BOLD, "\033[36m", "\033[35m"
# Shown in the line's head (or not at all); everything else follows as key=value.
HEAD_KEYS = ("timestamp", "level", "event", "stage", "path")
HIDDEN_KEYS = ("sha256",)


@dataclass(frozen=True)
class Filters:
    stage: str | None = None
    level: str | None = None  # the minimum
    file: str | None = None  # a substring of `path`
    window: str | None = None

    def keep(self, event: dict[str, Any]) -> bool:
        if self.stage and event.get("stage") != self.stage:
            return False
        if self.level and _rank(event.get("level")) < _rank(self.level):
            return False
        if self.file and self.file not in str(event.get("path", "")):
            return False
        return not self.window or self.window in str(event.get("window", ""))


def _rank(level: Any) -> int:
    name = str(level or "info").lower()
    return LEVELS.index(name) if name in LEVELS else LEVELS.index("info")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", nargs="?", metavar="FILE|-",
                        help="log file, or - for standard input (default: the journal on a "
                             "terminal, else standard input)")
    parser.add_argument("--stage", help="only this stage's lines")
    parser.add_argument("--level", choices=LEVELS, help="only lines at this level or above")
    parser.add_argument("--file", help="only lines whose path contains this text")
    parser.add_argument("--window", help="only lines about this window (stub or part of it)")
    parser.add_argument("--color", "--colour", choices=("auto", "always", "never"),
                        default="auto", help="colour the output (default: on a terminal)")


def format_event(event: dict[str, Any], colour: bool) -> str:
    """One JSON log event as one readable line."""
    paint = _painter(colour)
    level = str(event.get("level", "info")).lower()
    head = [paint(DIM, _clock(event.get("timestamp"))),
            paint(LEVEL_COLOURS.get(level, ""), f"{level.upper():<7}"),
            paint(EVENT_COLOUR, str(event.get("event", "")))]
    if event.get("stage"):
        head.append(paint(STAGE_COLOUR, f"[{event['stage']}]"))
    if event.get("path"):
        head.append(str(event["path"]))
    rest = [f"{paint(KEY_COLOUR, key)}={_value(value)}" for key, value in event.items()
            if key not in HEAD_KEYS and key not in HIDDEN_KEYS]
    return " ".join(head + rest)


def _painter(colour: bool) -> Any:
    def paint(code: str, text: str) -> str:
        return f"{code}{text}{RESET}" if colour and code else text
    return paint


def _clock(timestamp: Any) -> str:
    """`2026-11-27T17:04:13.582987Z` -> `17:04:13.582`; anything else as it came."""
    text = str(timestamp or "")
    if "T" not in text:
        return text or "-"
    return text.split("T", 1)[1].rstrip("Z")[:12]


def _value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False) if (" " in value or not value) else value
    return json.dumps(value, ensure_ascii=False, default=str)


def render(lines: Iterable[str], filters: Filters, colour: bool) -> Iterator[str]:
    """Readable lines for the JSON ones that pass the filters; other lines unchanged."""
    for line in lines:
        text = line.rstrip("\n")
        event = _parse(text)
        if event is None:
            yield text
        elif filters.keep(event):
            yield format_event(event, colour)


def _parse(text: str) -> dict[str, Any] | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        event = json.loads(text)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def run(args: argparse.Namespace, _settings: Any = None) -> int:
    out = sys.stdout
    colour = args.color == "always" or (args.color == "auto" and out.isatty())
    filters = Filters(args.stage, args.level, args.file, args.window)
    with _Source(args.source) as (lines, process):
        try:
            for text in render(lines, filters, colour):
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

    def __init__(self, source: str | None):
        self.source = source
        self.handle: IO[str] | None = None
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> tuple[Iterable[str], subprocess.Popen[str] | None]:
        if self.source == "-" or (self.source is None and not sys.stdin.isatty()):
            return sys.stdin, None
        if self.source is None:
            self.process = subprocess.Popen(JOURNAL_COMMAND, stdout=subprocess.PIPE, text=True)
            assert self.process.stdout is not None
            return self.process.stdout, self.process
        self.handle = open(self.source, encoding="utf-8", errors="replace")
        return self.handle, None

    def __exit__(self, *_exc: object) -> None:
        if self.handle is not None:
            self.handle.close()
        if self.process is not None:
            self.process.wait(5)
