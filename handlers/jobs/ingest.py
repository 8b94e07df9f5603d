"""The ingest timer job: the current window's announcements into `data/announcements/<stub>.json`.

Each tick takes the automatic window (last ingested end minus the overlap, up to now), asks the
exchange for it, keeps and normalizes what was published inside it, and hands the batch to the
download stage through an atomic write. Only once that file is durable does the last ingested
end advance, so a failed tick leaves the window to the next one. Every attempt's outcome is
recorded (`ingest_state.record_attempt`) for `idxd status`. `idxd ingest`
(`handlers/commands/ingest.py`) runs the same by hand.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from daemon.errors import TransientError
from daemon.files import write_atomic
from daemon.logs import get_logger
from daemon.stages import TimerJob
from handlers import paths
from handlers.adapters import idx_api
from handlers.context import PipelineContext
from handlers.domain import windows
from handlers.domain.alerts import build_alert, write_alert
from handlers.domain.announcements import batch_payload, select_in_window
from handlers.jobs.ingest_state import load_last_end, record_attempt, save_last_end
from handlers.settings import IngestSettings, PipelineSettings

log = get_logger()


def ingest_window(ctx: PipelineContext, window: windows.Window) -> tuple[Path, int]:
    """Fetch, filter and write the window's batch; returns (file, number of announcements)."""
    settings: IngestSettings = ctx.config.ingest
    log.info("ingest.started", window=window.stub)
    retrying = ctx.retrying(attempts=settings.attempts, initial_s=settings.backoff_s)
    items = idx_api.fetch_window(ctx.http, settings, window, retrying, ctx.pause,
                                 ctx.health)
    records = select_in_window(items, window)
    path = write_batch(ctx, window, batch_payload(window, records, settings.api_url))
    log.info("ingest.written", window=window.stub, path=str(path), fetched=len(items),
             announcements=len(records))
    return path, len(records)


def write_batch(ctx: PipelineContext, window: windows.Window, payload: dict[str, Any]) -> Path:
    """Write the batch atomically; identical content already there is left untouched."""
    path = ctx.root / paths.ANNOUNCEMENTS / f"{window.stub}.json"
    data = (json.dumps(payload, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if not (path.is_file() and path.read_bytes() == data):
        write_atomic(path, data, durable=ctx.durable)
    return path


def ingest_auto(ctx: PipelineContext, now: datetime) -> Outcome:
    """One automatic window; the state advances only after its file is on disk."""
    settings: IngestSettings = ctx.config.ingest
    window = windows.auto(now, load_last_end(ctx), overlap_min=settings.overlap_min,
                          lookback_min=settings.lookback_min)
    outcome = ingest_guarded(ctx, window)
    if outcome.ok:
        save_last_end(ctx, window.end, stub=window.stub)
    return outcome


@dataclass(frozen=True)
class Outcome:
    """What one guarded ingest did: its batch and size, or why it failed (one phrase)."""

    path: Path | None = None
    announcements: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def __bool__(self) -> bool:  # `if ingest_auto(…)` reads as "did it work"
        return self.ok


def run_guarded(ctx: PipelineContext, window: windows.Window) -> bool:
    return ingest_guarded(ctx, window).ok


def ingest_guarded(ctx: PipelineContext, window: windows.Window) -> Outcome:
    """`ingest_window`, with failures logged (and a refusal alerted) instead of raised; every
    attempt is recorded for `idxd status`."""
    try:
        path, count = ingest_window(ctx, window)
    except TransientError as error:
        outcome = Outcome(error=failure_phrase(error))
        log.warning("ingest.failed", window=window.stub, error=str(error))
    except idx_api.ExchangeRefused as error:
        outcome = Outcome(error=failure_phrase(error))
        log.error("ingest.refused", window=window.stub, status=error.status)
        alert_refusal(ctx, window, error)
    else:
        outcome = Outcome(path, count)
    record_attempt(ctx, outcome.error)
    return outcome


def failure_phrase(error: Exception) -> str:
    """Why the exchange could not be read, short enough for a status line."""
    if isinstance(error, idx_api.ExchangeRefused):
        return f"exchange refused the query (HTTP {error.status})"
    cause = error.__cause__
    if isinstance(cause, httpx.TransportError):
        return f"exchange unreachable ({type(cause).__name__})"
    return f"exchange unavailable ({error})"


def alert_refusal(ctx: PipelineContext, window: windows.Window,
                  error: idx_api.ExchangeRefused) -> None:
    # Named by the refused day and status only: a refusal repeated at every tick lands on the
    # same alert file instead of one alert per tick.
    details = {"status": error.status, "day": error.day.isoformat(), "page": error.page}
    alert = build_alert(code="ingest_failed", timestamp=ctx.now().isoformat(), details=details,
                        doc={"filename": f"exchange-{error.day:%Y%m%d}"})
    write_alert(ctx.root, alert, durable=ctx.durable)


def alert_window_failed(ctx: PipelineContext, window: windows.Window, reason: str) -> Path:
    """An `ingest_failed` alert filed under the window it is about, so that window's email
    says its announcements could not be read. Its instant is the failure's, or the window's
    end when the window is in the past (`idxd once --date …`)."""
    instant = min(ctx.now(), window.end)
    alert = build_alert(code="ingest_failed", timestamp=instant.isoformat(),
                        message=f"Ingest failed: {reason}; this window's announcements were "
                        "not read, so its filings may be missing",
                        details={"window": window.stub, "error": reason},
                        doc={"filename": f"window-{window.stub}"})
    return write_alert(ctx.root, alert, durable=ctx.durable)


def run_timer(ctx: PipelineContext, now: datetime) -> None:
    if ctx.config.ingest.enabled:
        ingest_auto(ctx, now)


def period_s(settings: PipelineSettings) -> float:
    return period_at(settings.ingest, datetime.now(windows.WIB)) * random.uniform(0.9, 1.1)


def period_at(settings: IngestSettings, now: datetime) -> float:
    """The wait before the next poll at `now`: short while the exchange publishes."""
    wib = windows.to_wib(now)
    clock = wib.strftime("%H:%M")
    busy = wib.weekday() < 5 and settings.publish_from <= clock < settings.publish_until
    return min(settings.busy_period_s, settings.period_s) if busy else settings.period_s


INGEST_JOB = TimerJob(name="ingest", period_s=period_s, run=run_timer)
