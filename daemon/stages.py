"""What an application hands the engine: its stage table, timer jobs and hooks.

The engine knows nothing about what the stages do. An `App` declares, once, which inbox each
stage watches, which file names it takes, the handler to call and how many may run at once;
plus the periodic jobs no file triggers, how to build the handlers' shared context, and how to
report a file that failed for good.
"""

from __future__ import annotations

import argparse
import fnmatch
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from daemon.files import is_temporary_name
from daemon.globs import example_name, patterns_overlap

if TYPE_CHECKING:
    from daemon.config import Settings
    from daemon.guard import Recovery
    from daemon.retry import StopEvent


class Context(Protocol):
    """What handlers receive: built once at start, closed once at exit."""

    def close(self) -> None: ...


AppSettingsT = TypeVar("AppSettingsT")  # the application's own settings object
ContextT = TypeVar("ContextT", bound=Context)  # what its handlers and jobs receive
GetState = Callable[[str], Any]


class AppError(ValueError):
    """An App declared inconsistently: raised at import, with one sentence."""


@dataclass(frozen=True)
class Stage(Generic[ContextT]):
    name: str
    inbox: str  # directory relative to the root
    patterns: tuple[str, ...]
    handler: Callable[[Path, ContextT], list[Path]]
    concurrency: int = 1
    # The stage's own retry budget, read from its context (so SIGHUP can change it); None:
    # the engine's `retry_attempts`.
    retry_attempts: Callable[[ContextT], int] | None = None

    def accepts(self, name: str) -> bool:
        return self._names.match(name) is not None

    @functools.cached_property
    def _names(self) -> re.Pattern[str]:
        """The patterns as one expression: asked for every file event."""
        return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in self.patterns))


@dataclass(frozen=True)
class TimerJob(Generic[AppSettingsT, ContextT]):
    """A periodic job. `run(ctx, now)` gets the wall-clock time so tests need not patch time."""

    name: str
    period_s: Callable[[AppSettingsT], float]  # from the app's settings: SIGHUP can change it
    run: Callable[[ContextT, datetime], None]


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
class Command(Generic[AppSettingsT]):
    """An application subcommand of `idxd`: `configure(parser)` then `run(args, settings)`."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Settings[AppSettingsT]], int]


@dataclass(frozen=True)
class StandaloneCommand:
    """A subcommand that brings its own settings (a demo on a temporary root): `run(args)` is
    called without reading the operator's configuration at all."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class App(Generic[AppSettingsT, ContextT]):
    name: str
    stages: Sequence[Stage[ContextT]]
    load_settings: Callable[[Mapping[str, Any], Mapping[str, str]], AppSettingsT]
    # Called with the settings and the engine's stop signal, which the context's waits obey.
    open_context: Callable[[Settings[AppSettingsT], StopEvent], ContextT]
    timer_jobs: Sequence[TimerJob[AppSettingsT, ContextT]] = ()
    report_failure: Callable[[ContextT, Failure], None] | None = None
    commands: Sequence[Command[AppSettingsT] | StandaloneCommand] = ()
    # Facts only the application knows, for `idxd status` and the metrics: name -> a dict
    # whose optional "at" is an ISO-8601 time (the engine adds its age). Called with the
    # settings and the ledger's `get_state` (None for every key when no ledger exists yet).
    status_extras: Callable[[Settings[AppSettingsT], GetState],
                            Mapping[str, Mapping[str, Any]]] | None = None
    # Log keys `idxd tail` can filter on, each a `--<key>` option matching a substring of the
    # key's value: JSON key -> the option's help text.
    log_filters: Mapping[str, str] = field(default_factory=dict)
    description: str = ""  # the `idxd --help` line
    secret_keys: frozenset[str] = field(default_factory=frozenset)  # log keys always masked
    # How a lost ledger is noticed (the directories that show past work) and rebuilt.
    recovery: Recovery | None = None

    def __post_init__(self) -> None:
        check_stages(self.stages)
        check_log_filters(self.log_filters)

    def stage_named(self, name: str) -> Stage[ContextT]:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def stage_for(self, relative_path: str) -> Stage[ContextT] | None:
        """The stage whose inbox holds `relative_path` and whose patterns take its name."""
        parent, _, name = relative_path.rpartition("/")
        for stage in self._stages_by_inbox.get(parent, ()):
            if stage.accepts(name):
                return stage
        return None

    @functools.cached_property
    def _stages_by_inbox(self) -> dict[str, list[Stage[ContextT]]]:
        by_inbox: dict[str, list[Stage[ContextT]]] = {}
        for stage in self.stages:
            by_inbox.setdefault(stage.inbox, []).append(stage)
        return by_inbox


# Options `idxd tail` has of its own (and the CLI's common ones): not a log filter's name.
TAIL_OPTIONS = frozenset({"stage", "level", "file", "color", "colour", "config", "root", "help"})


def check_log_filters(log_filters: Mapping[str, str]) -> None:
    for key in log_filters:
        if key.replace("_", "-") in TAIL_OPTIONS or not key.replace("_", "").isalnum():
            raise AppError(f"The log filter {key!r} cannot be an option of idxd tail; name it "
                           "after another log key.")


def check_stages(stages: Sequence[Stage[Any]]) -> None:
    """Refuse a stage table the engine could not dispatch unambiguously."""
    seen: dict[str, Stage[Any]] = {}
    for stage in stages:
        if stage.name in seen:
            raise AppError(f"Two stages are named {stage.name!r}; stage names must be unique.")
        for pattern in stage.patterns:
            if is_temporary_name(example_name(pattern)) or not pattern:
                raise AppError(f"The stage {stage.name} pattern {pattern!r} matches no file the "
                               "engine processes (temporary names are never taken).")
        for other in seen.values():
            if other.inbox == stage.inbox and patterns_overlap(other.patterns, stage.patterns):
                raise AppError(f"The stages {other.name} and {stage.name} both take files of "
                               f"{stage.inbox}/ matching the same names; give each inbox one "
                               "stage per name.")
        seen[stage.name] = stage


def load_app(reference: str) -> App[Any, Any]:
    """Import `module:attribute` and check it is an App."""
    import importlib

    module_name, _, attribute = reference.partition(":")
    app = getattr(importlib.import_module(module_name), attribute or "APP")
    if not isinstance(app, App):
        raise TypeError(f"{reference} is not a daemon.stages.App")
    return app
