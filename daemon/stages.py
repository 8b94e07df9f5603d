"""What an application hands the engine: its stage table, timer jobs and hooks.

The engine knows nothing about what the stages do. An `App` declares, once, which inbox each
stage watches, which file names it takes, the handler to call and how many may run at once;
plus the periodic jobs no file triggers, how to build the handlers' shared context, and how to
report a file that failed for good.
"""

from __future__ import annotations

import argparse
import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

Handler = Callable[[Path, Any], list[Path]]
StatusExtras = Callable[[Any, Callable[[str], Any]], Mapping[str, Mapping[str, Any]]]


class Context(Protocol):
    """What handlers receive: built once at start, closed once at exit."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class Stage:
    name: str
    inbox: str  # directory relative to the root
    patterns: tuple[str, ...]
    handler: Handler
    concurrency: int = 1

    def accepts(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.patterns)


@dataclass(frozen=True)
class TimerJob:
    """A periodic job. `run(ctx, now)` gets the wall-clock time so tests need not patch time."""

    name: str
    period_s: Callable[[Any], float]  # from settings, so SIGHUP can change it
    run: Callable[[Any, datetime], None]


@dataclass(frozen=True)
class Failure:
    """A file that failed for good, as reported to the application."""

    stage: str
    source_path: str  # relative to the root, where the file was
    quarantine_path: str  # relative to the root, where it is now
    code: str
    error_type: str
    message: str
    details: dict[str, Any]
    attempts: int
    sha256: str


@dataclass(frozen=True)
class Command:
    """An application subcommand of `idxd`: `configure(parser)` then `run(args, settings)`."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Any], int]
    needs_settings: bool = True


@dataclass(frozen=True)
class App:
    name: str
    stages: Sequence[Stage]
    load_settings: Callable[[Mapping[str, Any], Mapping[str, str]], Any]
    open_context: Callable[[Any], Context]
    timer_jobs: Sequence[TimerJob] = ()
    report_failure: Callable[[Any, Failure], None] | None = None
    commands: Sequence[Command] = ()
    restart_only_settings: frozenset[str] = field(default_factory=frozenset)
    # Facts only the application knows, for `idxd status` and the metrics: name -> a dict
    # whose optional "at" is an ISO-8601 time (the engine adds its age). Called with the
    # settings and the ledger's `get_state` (None for every key when no ledger exists yet).
    status_extras: StatusExtras | None = None
    description: str = ""  # the `idxd --help` line
    secret_keys: frozenset[str] = field(default_factory=frozenset)  # log keys always masked

    def stage_named(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def stage_for(self, relative_path: str) -> Stage | None:
        """The stage whose inbox holds `relative_path` and whose patterns take its name."""
        parent, _, name = relative_path.rpartition("/")
        for stage in self.stages:
            if stage.inbox == parent and stage.accepts(name):
                return stage
        return None


def load_app(reference: str) -> App:
    """Import `module:attribute` and check it is an App."""
    import importlib

    module_name, _, attribute = reference.partition(":")
    app = getattr(importlib.import_module(module_name), attribute or "APP")
    if not isinstance(app, App):
        raise TypeError(f"{reference} is not a daemon.stages.App")
    return app
