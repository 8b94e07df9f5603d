"""Structured logs: one JSON object per line for journald, a console view on a terminal.

Event names are stable `noun.verb` strings (`file.received`, `file.processed`, …). Context
such as stage, path and sha256 is bound per file with `bound_contextvars`, so every line a
handler logs carries it. Values whose key looks secret, or is one the application declares
secret, are masked before rendering, and every registered secret is scrubbed from every value
(`daemon.scrub`), exception text included. The console view is built by `console_renderer`,
which `idxd tail` uses too.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

from daemon.scrub import scrub_data

SECRET_KEYS = frozenset({"password", "secret", "token", "apikey", "api_key", "authorization",
                         "service_key"})
SECRET_SUFFIXES = ("_password", "_secret", "_token")
MASK = "***"
_PLAIN = (str, int, float, bool, type(None), list, dict, tuple)


class SecretMask:
    """A processor: never let a value logged under a secret-looking key reach the output."""

    def __init__(self, extra_keys: Iterable[str] = ()):
        self.keys = SECRET_KEYS | {key.lower() for key in extra_keys}

    def __call__(self, _logger: Any, _name: str,
                 event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key in list(event):
            lowered = key.lower()
            if lowered in self.keys or lowered.endswith(SECRET_SUFFIXES):
                event[key] = MASK
        return event


class Logger:
    """A module's logger (`get_logger`). structlog's own lazy logger assembles a new bound
    logger at every call, its output and its level filter included: about 15 µs each time,
    even for a level that is filtered out, several times in every stage run. This one
    assembles it once, and again whenever the configuration changes (the level on SIGHUP, a
    test capturing logs)."""

    def __init__(self) -> None:
        self._made: tuple[tuple[Any, ...], Any] = ((), None)  # (made for, bound): one swap

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bound(), name)

    def _bound(self) -> Any:
        config = structlog.get_config()
        parts = (config["processors"], config["wrapper_class"], config["logger_factory"],
                 config["context_class"])
        made_for, bound = self._made
        if made_for != parts:  # the same objects compare equal at once, by identity
            bound = structlog.get_logger().bind()
            self._made = (parts, bound)
        return bound


def get_logger() -> Logger:
    return Logger()


def scrub_event(_logger: Any, _name: str,
                event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A processor: every registered secret out of every value, whatever its type."""
    for key, value in event.items():
        # Anything else is rendered with str() later: scrub that text instead.
        event[key] = scrub_data(value if isinstance(value, _PLAIN) else str(value))
    return event


def console_renderer(colours: bool) -> structlog.dev.ConsoleRenderer:
    """The human view of an event, built here only, so the console log and `idxd tail` match."""
    return structlog.dev.ConsoleRenderer(colors=colours)


def configure_logging(level: str = "info", fmt: str = "auto", stream: Any = None,
                      secret_keys: Iterable[str] = ()) -> None:
    """Route structlog and the standard library through one renderer on `stream`; the
    application's `secret_keys` are masked beside the engine's own."""
    stream = stream or _Stdout()
    use_console = fmt == "console" or (fmt == "auto" and stream.isatty())
    renderer: Any = (console_renderer(colours=True) if use_console
                     else structlog.processors.JSONRenderer(default=str))
    numeric_level = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            SecretMask(secret_keys),
            structlog.processors.format_exc_info,
            scrub_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    _route_stdlib(numeric_level)


class _Stdout:
    """Whatever `sys.stdout` is at the moment of writing (it may be replaced after start)."""

    name = "stdout"

    def _stream(self) -> Any:
        return getattr(sys, self.name)

    def write(self, text: str) -> int:
        written: int = self._stream().write(text)
        return written

    def flush(self) -> None:
        self._stream().flush()

    def isatty(self) -> bool:
        return bool(self._stream().isatty())


class Stderr(_Stdout):
    """Commands other than `run` print their results on stdout; their logs go here."""

    name = "stderr"


def _route_stdlib(level: int) -> None:
    """Libraries (watchdog, httpx) log through `logging`; show their warnings as our events."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _StructlogHandler):
            root.removeHandler(handler)
    root.addHandler(_StructlogHandler())
    root.setLevel(max(level, logging.WARNING))


class _StructlogHandler(logging.Handler):
    # watchdog complains at level ERROR when its emitter is stopped with events still queued.
    IGNORED = ("called when the thread is inactive",)

    def emit(self, record: logging.LogRecord) -> None:
        if any(text in record.getMessage() for text in self.IGNORED):
            return
        log = structlog.get_logger(record.name)
        log.log(record.levelno, "library.log", logger=record.name, message=record.getMessage())


def set_level(level: str) -> None:
    """Change the level live (SIGHUP) without rebuilding the pipeline."""
    numeric_level = logging.getLevelName(level.upper())
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(numeric_level))
