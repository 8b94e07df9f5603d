"""The shared context every IDX stage, job and command receives: settings, clock, and the
adapters that talk to the outside world (HTTP client, sink, company map, ledger state, and the
parse pool of child processes).

It is built once when the daemon starts and closed once when it stops. Each adapter is a typed
property created on first use, so a command that needs only the company map never opens a
database; tests hand ready fakes for the network edge to the constructor.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Generic, TypeVar

import httpx
from tenacity import RetryCallState, Retrying

from daemon.config import Settings
from daemon.ledger import Ledger
from daemon.logs import get_logger
from daemon.retry import StopEvent, build_retrying, interruptible_wait
from handlers.adapters.company_map import LoadedMap, load_local
from handlers.adapters.host_health import HostHealth
from handlers.adapters.http import build_client
from handlers.adapters.ocr import OcrOptions
from handlers.adapters.parse_pool import Limits, ParsePool
from handlers.adapters.sinks import Sink, open_sink
from handlers.settings import PipelineSettings

T = TypeVar("T")
log = get_logger()


def utc_now() -> datetime:
    return datetime.now(UTC)


class Lazy(Generic[T]):
    """One shared value, built on first use by whichever thread asks first."""

    def __init__(self, build: Callable[[], T], close: Callable[[T], None] | None = None,
                 value: T | None = None):
        self._build, self._close, self._value = build, close, value
        self._lock = threading.Lock()

    def get(self) -> T:
        with self._lock:
            if self._value is None:
                self._value = self._build()
            return self._value

    def replace(self, value: T) -> None:
        with self._lock:
            self._value = value

    def close(self) -> None:
        with self._lock:
            value, self._value = self._value, None
        if value is not None and self._close is not None:
            self._close(value)


@dataclass
class PipelineContext:
    settings: Settings[PipelineSettings]
    # The engine's stop signal: every wait of the pipeline (a backoff, a polite pause) ends
    # early, raising `Interrupted`, once it is set.
    stopping: StopEvent = field(default_factory=threading.Event)
    clock: Callable[[], datetime] = utc_now
    sink_override: Sink | None = None  # a ready sink (tests), instead of the configured one
    parse_pool_override: ParsePool | None = None  # a ready pool (tests), its owner's to close
    # Held while the generate stage reads what the sink has and writes its plan: two versions
    # of one document (or two filings of one holder) planned at once would each miss the other.
    store_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _http: Lazy[httpx.Client] = field(init=False, repr=False)
    _sink: Lazy[Sink] = field(init=False, repr=False)
    _company_map: Lazy[LoadedMap] = field(init=False, repr=False)
    _ledger: Lazy[Ledger] = field(init=False, repr=False)
    _health: Lazy[HostHealth] = field(init=False, repr=False)
    _parse_pool: Lazy[ParsePool] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._http = Lazy(lambda: build_client(self.config.http), httpx.Client.close)
        # A sink handed in is its owner's to close.
        self._sink = Lazy(lambda: open_sink(self.config.filings.sink, self.root),
                          None if self.sink_override else Sink.close, self.sink_override)
        self._company_map = Lazy(lambda: load_local(self.root))
        self._ledger = Lazy(lambda: Ledger.open(self.root), Ledger.close)
        self._health = Lazy(lambda: HostHealth(
            self.ledger.get_state, self.ledger.set_state, self.now,
            block_after=self.config.http.block_after, cooldown_s=self.config.http.cooldown_s,
            first_cooldown_s=self.config.http.first_cooldown_s))
        self._parse_pool = Lazy(self._open_parse_pool,
                                None if self.parse_pool_override else ParsePool.close,
                                self.parse_pool_override)

    @property
    def root(self) -> Path:
        return self.settings.engine.root

    @property
    def config(self) -> PipelineSettings:
        """The pipeline's own settings."""
        return self.settings.app

    @property
    def durable(self) -> bool:
        return self.settings.engine.durable_writes

    @property
    def http(self) -> httpx.Client:
        """The one HTTP client for the exchange, with the settings' headers, proxy and TLS."""
        return self._http.get()

    @property
    def sink(self) -> Sink:
        """Where filings are stored (SQLite, Supabase or PostgreSQL, by the settings)."""
        return self._sink.get()

    @property
    def company_map(self) -> LoadedMap:
        """The company map in use: the local cache, else the bundled snapshot."""
        return self._company_map.get()

    @property
    def health(self) -> HostHealth:
        """Which sources are refusing us and resting (see `adapters/host_health.py`)."""
        return self._health.get()

    def use_company_map(self, loaded: LoadedMap) -> None:
        """After a refresh: every later reader sees the new map."""
        self._company_map.replace(loaded)

    @property
    def ledger(self) -> Ledger:
        """The engine's ledger; its key-value table holds the pipeline's durable state."""
        return self._ledger.get()

    @property
    def parse_pool(self) -> ParsePool:
        """The child processes that read PDF forms, under the `[parse]` limits."""
        return self._parse_pool.get()

    def _open_parse_pool(self) -> ParsePool:
        parse = self.config.parse
        ocr = OcrOptions(enabled=parse.ocr, languages=parse.ocr_languages, dpi=parse.ocr_dpi,
                         max_pages=parse.ocr_max_pages, time_limit_s=parse.ocr_time_limit_s,
                         tessdata_dir=parse.ocr_tessdata_dir)
        return ParsePool(parse.workers, Limits(parse.memory_limit_bytes, parse.time_limit_s,
                                               ocr), self.stopping)

    def reload(self, settings: Settings[PipelineSettings]) -> None:
        """New settings after SIGHUP; adapters already open keep theirs until restart."""
        self.settings = settings

    def retrying(self, *, attempts: int, initial_s: float) -> Retrying:
        """The engine's retry policy with this caller's budget, for a job's own requests."""
        return build_retrying(self.settings.engine, self.stopping, attempts=attempts,
                              initial_s=initial_s, on_retry=_log_retry)

    def pause(self, seconds: float) -> None:
        """A polite pause between two requests; a stop ends it with `Interrupted`."""
        interruptible_wait(self.stopping)(seconds)

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        return self.clock()

    def close(self) -> None:
        for lazy in (self._parse_pool, self._http, self._sink, self._ledger, self._company_map):
            lazy.close()


def open_context(settings: Settings[PipelineSettings],
                 stopping: StopEvent | None = None) -> PipelineContext:
    return PipelineContext(settings=settings, stopping=stopping or threading.Event())


def open_daemon_context(settings: Settings[PipelineSettings],
                        stopping: StopEvent | None = None) -> PipelineContext:
    """The running daemon's context, its ledger connection opened at start, beside the
    engine's: opened later by a first job, after the file was deleted or replaced under the
    daemon, it would make a new ledger at the path, over the old one's WAL, and fail there
    before the engine's own watch could stop the daemon with the reason."""
    ctx = open_context(settings, stopping)
    ctx.ledger.has_files()
    return ctx


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("request.retrying", attempt=state.attempt_number, error=str(error),
                wait_s=round(state.upcoming_sleep, 2))
