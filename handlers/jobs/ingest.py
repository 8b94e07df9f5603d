"""The ingest timer job: the current window's announcements into `data/announcements/<stub>.json`.

Each tick takes the automatic window (last ingested end minus the overlap, up to now), asks the
exchange for it, keeps and normalizes what was published inside it, and hands the batch to the
download stage through an atomic write. Only once that file is durable does the last ingested
end advance, so a failed tick leaves the window to the next one. `idxd ingest`
(`handlers/commands/ingest.py`) runs the same by hand.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from daemon.config import SettingsReader
from daemon.errors import TransientError
from daemon.files import write_atomic
from daemon.stages import TimerJob
from handlers import paths
from handlers.adapters import idx_api
from handlers.context import PipelineContext
from handlers.domain import windows
from handlers.domain.alerts import build_alert, write_alert
from handlers.domain.announcements import batch_payload, select_in_window
from handlers.jobs.ingest_state import load_last_end, save_last_end

IDX_API_URL = "https://www.idx.co.id/primary/NewsAnnouncement/GetAllAnnouncement"
if TYPE_CHECKING:  # the settings module imports this one
    from handlers.settings import PipelineSettings

log = structlog.get_logger()


@dataclass(frozen=True)
class IngestSettings:
    enabled: bool = True
    api_url: str = IDX_API_URL
    keywords: str = "ownership"
    page_size: int = 10
    max_pages: int = 50  # per day; a guard against an endless listing
    period_s: float = 600.0
    overlap_min: float = float(windows.DEFAULT_OVERLAP_MIN)
    lookback_min: float = float(windows.DEFAULT_LOOKBACK_MIN)
    pause_s: float = 1.0  # between two requests to the exchange, out of politeness
    attempts: int = 3
    backoff_s: float = 2.0


def read_ingest_settings(document: Mapping[str, Any], env: Mapping[str, str]) -> IngestSettings:
    reader = SettingsReader(document.get("ingest", {}), env, "ingest")
    base = IngestSettings()
    return IngestSettings(
        enabled=reader.get("enabled", base.enabled, "IDXD_INGEST_ENABLED"),
        api_url=reader.get("api_url", base.api_url, "IDXD_IDX_API_URL"),
        keywords=reader.get("keywords", base.keywords, "IDXD_INGEST_KEYWORDS"),
        page_size=reader.positive("page_size", base.page_size, "IDXD_INGEST_PAGE_SIZE"),
        max_pages=reader.positive("max_pages", base.max_pages, "IDXD_INGEST_MAX_PAGES"),
        period_s=reader.positive("period_s", base.period_s, "IDXD_INGEST_PERIOD_S"),
        overlap_min=reader.at_least_zero("overlap_min", base.overlap_min, "OVERLAP_MINUTES"),
        lookback_min=reader.positive("lookback_min", base.lookback_min, "IDXD_INGEST_LOOKBACK_MIN"),
        pause_s=reader.at_least_zero("pause_s", base.pause_s, "IDXD_INGEST_PAUSE_S"),
        attempts=reader.positive("attempts", base.attempts, "IDXD_INGEST_ATTEMPTS"),
        backoff_s=reader.at_least_zero("backoff_s", base.backoff_s, "IDXD_INGEST_BACKOFF_S"),
    )


def ingest_window(ctx: PipelineContext, window: windows.Window) -> tuple[Path, int]:
    """Fetch, filter and write the window's batch; returns (file, number of announcements)."""
    settings: IngestSettings = ctx.config.ingest
    log.info("ingest.started", window=window.stub)
    retrying = ctx.retrying(attempts=settings.attempts, initial_s=settings.backoff_s)
    items = idx_api.fetch_window(ctx.http, settings, window, retrying, ctx.pause)
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


def ingest_auto(ctx: PipelineContext, now: datetime) -> bool:
    """One automatic window; the state advances only after its file is on disk."""
    settings: IngestSettings = ctx.config.ingest
    window = windows.auto(now, load_last_end(ctx), overlap_min=settings.overlap_min,
                          lookback_min=settings.lookback_min)
    if not run_guarded(ctx, window):
        return False
    save_last_end(ctx, window.end, stub=window.stub)
    return True


def run_guarded(ctx: PipelineContext, window: windows.Window) -> bool:
    """`ingest_window`, with failures logged (and a refusal alerted) instead of raised."""
    try:
        ingest_window(ctx, window)
    except TransientError as error:
        log.warning("ingest.failed", window=window.stub, error=str(error), retry="next tick")
        return False
    except idx_api.ExchangeRefused as error:
        log.error("ingest.refused", window=window.stub, status=error.status, retry="next tick")
        alert_refusal(ctx, window, error)
        return False
    return True


def alert_refusal(ctx: PipelineContext, window: windows.Window,
                  error: idx_api.ExchangeRefused) -> None:
    # Named by the refused day and status only: a refusal repeated at every tick lands on the
    # same alert file instead of one alert per tick.
    details = {"status": error.status, "day": error.day.isoformat(), "page": error.page}
    alert = build_alert(code="ingest_failed", timestamp=ctx.now().isoformat(), details=details,
                        doc={"filename": f"exchange-{error.day:%Y%m%d}"})
    write_alert(ctx.root, alert, durable=ctx.durable)


def run_timer(ctx: PipelineContext, now: datetime) -> None:
    if ctx.config.ingest.enabled:
        ingest_auto(ctx, now)


def period_s(settings: PipelineSettings) -> float:
    return settings.ingest.period_s


INGEST_JOB = TimerJob(name="ingest", period_s=period_s, run=run_timer)
