"""The shared context every IDX handler receives: root paths, settings, clock and the
resources that talk to the outside world (HTTP client, sink, company map, mailer).

It is built once when the daemon starts and closed once when it stops. Resources are created
on first use, so a command that needs only the company map never opens a database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemon.config import Settings
from daemon.ledger import Ledger


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class PipelineContext:
    settings: Settings
    clock: Callable[[], datetime] = utc_now
    _resources: dict[str, Any] = field(default_factory=dict)
    _closers: list[Callable[[], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def root(self) -> Path:
        return self.settings.engine.root

    @property
    def config(self) -> Any:
        """The pipeline's own settings (`handlers.settings.PipelineSettings`)."""
        return self.settings.app

    @property
    def durable(self) -> bool:
        return self.settings.engine.durable_writes

    @property
    def ledger(self) -> Ledger:
        """The engine's ledger; its key-value table holds the pipeline's durable state."""
        ledger: Ledger = self.resource("ledger", lambda ctx: Ledger.open(ctx.root),
                                       lambda value: value.close())
        return ledger

    def reload(self, settings: Settings) -> None:
        """New settings after SIGHUP; resources already open keep theirs until restart."""
        self.settings = settings

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        return self.clock()

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    def resource(self, name: str, factory: Callable[[PipelineContext], Any],
                 close: Callable[[Any], None] | None = None) -> Any:
        """The shared resource `name`, created by `factory` on first use."""
        with self._lock:
            if name not in self._resources:
                value = factory(self)
                self._resources[name] = value
                if close is not None:
                    self._closers.append(lambda: close(value))
            return self._resources[name]

    def provide(self, name: str, value: Any) -> None:
        """Put a ready-made resource in place (tests use this for fakes at the network edge)."""
        self._resources[name] = value

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()
        self._resources.clear()


def open_context(settings: Settings) -> PipelineContext:
    return PipelineContext(settings=settings)
