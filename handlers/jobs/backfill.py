"""The backfill timer job: history, day by day from the newest to the oldest, at a polite rate.

Each tick takes up a new request (written by `idxd backfill`), forgets the batches that went
all the way through the pipeline, closes the summaries whose days are final, and then, while
the rate, the gate (`backfill_gate.py`) and a short time slice allow, takes one step: ask the
exchange for the next page of the current day, or hand the listed day to the pipeline as small
batch files in `data/announcements/`, the download stage's inbox, so the same download, parse
and generate stages do the rest. A step never sleeps: the rate is a moment before which the
next request does not go out, kept in the state with everything else, so the timer thread the
live ingest shares is never held for long, and a restart keeps the pace. Each attachment handed
over counts as one request against the rate too. A refusing or resting source pauses the
backfill; it goes on by itself once the source answers again. A cancellation (`idxd backfill
--cancel`) stops the reading: the days handed over already go through the stages and into
their summary email, and the run ends `cancelled`; the same range asked for again goes on from
where it stopped.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

from daemon.errors import TransientError
from daemon.files import write_atomic
from daemon.logs import get_logger
from daemon.stages import TimerJob
from handlers import paths
from handlers.adapters import idx_api
from handlers.context import PipelineContext
from handlers.domain import attachments as names
from handlers.domain.announcements import Record, batch_payload, select_in_window
from handlers.domain.windows import Window, whole_days
from handlers.jobs import backfill_gate as gate
from handlers.jobs import backfill_state as store
from handlers.jobs.backfill_state import CANCELLED, FINISHED, RUNNING, Chunk, Progress
from handlers.jobs.backfill_summary import close_ready, retry_unsent
from handlers.jobs.ingest import alert_refusal
from handlers.settings import PipelineSettings

LIVE_FIRST = "live work first"
SLICE_S = 0.5  # the longest a tick keeps the timer thread, the live ingest's too
MAX_BACKOFF_S = 60.0
log = get_logger()


def run_timer(ctx: PipelineContext, now: datetime) -> None:
    progress = take_request(ctx, now)
    if progress is None:
        return
    retry_unsent(ctx, progress, now)
    if progress.state != RUNNING:
        return
    failed = gate.failed_paths(ctx.ledger)
    progress.in_flight = gate.unfinished(ctx.ledger, ctx.root, progress.in_flight, failed)
    close_ready(ctx, progress, now)
    deadline = time.monotonic() + SLICE_S
    while time.monotonic() < deadline and step(ctx, progress, now, failed):
        store.save(ctx.ledger, progress, now)
    finish_if_done(progress, now)
    store.save(ctx.ledger, progress, now)


def take_request(ctx: PipelineContext, now: datetime) -> Progress | None:
    """The current backfill; a new request starts once no other one is running, and a
    cancellation stops the one running."""
    progress = store.load(ctx.ledger)
    request = store.read_request(ctx.ledger)
    cancelled = store.read_cancel(ctx.ledger)
    if request is not None and cancelled >= request.requested_at:
        request = None  # cancelled before it was taken up
    if progress is not None and progress.state == RUNNING and not progress.cancelled_at \
            and cancelled > progress.requested_at:
        cancel(ctx, progress, now)
    if request is None or (progress is not None and not store.asked_again(request, progress)):
        return progress
    if progress is not None and progress.state == RUNNING:
        if request.id == progress.id:  # asked again while it runs (a restart): it answers that
            progress.requested_at = request.requested_at
            if progress.cancelling:
                progress.resume(request.requested_at)
        return progress  # another range waits its turn
    if progress is not None and progress.state == CANCELLED and request.id == progress.id \
            and not request.again:
        progress.resume(request.requested_at)
        store.save(ctx.ledger, progress, now)
        log.info("backfill.resumed", backfill=progress.id, day=progress.next_day,
                 reason="asked for again after its cancellation")
        return progress
    progress = Progress.start(request.first, request.last, now, request.requested_at)
    store.save(ctx.ledger, progress, now)
    log.info("backfill.started", backfill=progress.id, days=progress.days_total,
             requests_per_minute=ctx.config.backfill.requests_per_minute)
    return progress


def cancel(ctx: PipelineContext, progress: Progress, now: datetime) -> None:
    progress.cancel(now)
    store.save(ctx.ledger, progress, now)
    log.warning("backfill.cancelled", backfill=progress.id, days_done=progress.days_done,
                days_total=progress.days_total, next_day=progress.next_day,
                in_pipeline=len(progress.in_flight))


def step(ctx: PipelineContext, progress: Progress, now: datetime, failed: set[str]) -> bool:
    """One request or one hand-over; False when the tick should end here."""
    if progress.cancelled_at or progress.day is None or time.time() < progress.not_before:
        return False
    live = gate.live_work(ctx.ledger, ctx.root)
    if live:  # routine, every live batch: shown by status, not logged as a pause
        progress.paused = f"{LIVE_FIRST}: {len(live)} batch(es)"
        return False
    if progress.paused and progress.paused.startswith(LIVE_FIRST):
        progress.paused = None
    if len(gate.busy(progress.in_flight, failed)) >= ctx.config.backfill.concurrency:
        return False
    if progress.listed:
        hand_over(ctx, progress, now)
        return True
    return list_page(ctx, progress)


def list_page(ctx: PipelineContext, progress: Progress) -> bool:
    day, settings = progress.day, ctx.config.ingest
    assert day is not None
    try:
        ctx.health.check(settings.api_url)  # a resting source costs no request
    except TransientError as error:
        return pause(progress, str(error))
    progress.requests += 1
    try:
        batch = idx_api.fetch_page(ctx.http, settings, day, progress.page, ctx.health)
    except TransientError as error:
        return back_off(ctx, progress, str(error))
    except idx_api.ExchangeRefused as error:
        log.error("backfill.refused", day=day.isoformat(), status=error.status)
        alert_refusal(ctx, whole_days(day, day), error)
        count_day(ctx, progress, day, 0, 0).skipped.append(day.isoformat())
        progress.advance()
        return True
    resume(progress)
    progress.not_before = max(progress.not_before, time.time()) + interval_s(ctx)
    progress.items += batch
    progress.page += 1
    progress.listed = len(batch) < settings.page_size or progress.page > settings.max_pages
    return True


def back_off(ctx: PipelineContext, progress: Progress, reason: str) -> bool:
    progress.failures += 1
    wait_s = min(MAX_BACKOFF_S, ctx.config.backfill.tick_s * 2 ** progress.failures)
    progress.not_before = time.time() + wait_s
    return pause(progress, f"the exchange is not answering: {reason}")


def pause(progress: Progress, reason: str) -> bool:
    if progress.paused != reason:
        log.warning("backfill.paused", backfill=progress.id, day=progress.next_day,
                    reason=reason)
    progress.paused = reason
    return False


def resume(progress: Progress) -> None:
    if progress.paused:
        log.info("backfill.resumed", backfill=progress.id, day=progress.next_day)
    progress.paused, progress.failures = None, 0


def hand_over(ctx: PipelineContext, progress: Progress, now: datetime) -> None:
    """The listed day into the download stage's inbox, then the state moves to the day before."""
    day = progress.day
    assert day is not None
    window = whole_days(day, day)
    records = select_in_window(progress.items, window)
    progress.in_flight += write_batches(ctx, day, window, records)
    attachments = [a for record in records for a in record.get("attachments") or []]
    forms = sum(names.kind_of(a) == names.IDX_FORMAT for a in attachments)
    progress.requests += len(attachments)
    progress.not_before = max(progress.not_before, time.time()) + \
        len(attachments) * interval_s(ctx)
    count_day(ctx, progress, day, len(records), forms)
    log.info("backfill.day_done", backfill=progress.id, day=day.isoformat(),
             announcements=len(records), forms=forms, days_done=progress.days_done,
             days_total=progress.days_total, forms_total=progress.forms,
             eta_s=store.eta_s(progress, now))
    progress.advance()


def count_day(ctx: PipelineContext, progress: Progress, day: date, announcements: int,
              forms: int) -> Chunk:
    """Count the day in, and in the summary chunk it belongs to (returned)."""
    progress.days_done += 1
    progress.trading_days += announcements > 0
    progress.announcements += announcements
    progress.forms += forms
    chunk = progress.chunk or Chunk(newest=day.isoformat(), oldest=day.isoformat())
    chunk.add_day(day, announcements, forms)
    every = ctx.config.backfill.summary_days
    progress.chunk = chunk
    if day.isoformat() <= progress.first or (every and chunk.days >= every):
        progress.sealed.append(chunk)
        progress.chunk = None
    return chunk


def write_batches(ctx: PipelineContext, day: date, window: Window,
                  records: list[Record]) -> list[str]:
    """`backfill-YYYYmmdd-NN.json`, `batch_size` announcements each; identical content already
    on disk (a hand-over a kill interrupted) is left as it is."""
    size, source = ctx.config.backfill.batch_size, ctx.config.ingest.api_url
    written = []
    for number, start in enumerate(range(0, len(records), size), start=1):
        path = ctx.root / paths.ANNOUNCEMENTS / f"{gate.BATCH_PREFIX}{day:%Y%m%d}-{number:02d}.json"
        _write_if_changed(ctx, path, batch_payload(window, records[start:start + size], source))
        written.append(path.relative_to(ctx.root).as_posix())
    return written


def _write_if_changed(ctx: PipelineContext, path: Path, payload: dict[str, Any]) -> None:
    data = (json.dumps(payload, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if not (path.is_file() and path.read_bytes() == data):
        write_atomic(path, data, durable=ctx.durable)


def finish_if_done(progress: Progress, now: datetime) -> None:
    """The run ends once no day is left to read (or it was cancelled) and every day handed
    over is through the pipeline and in a summary."""
    if (progress.day is None or progress.cancelled_at) and not progress.in_flight \
            and not progress.sealed and progress.state == RUNNING:
        progress.state = CANCELLED if progress.cancelled_at else FINISHED
        progress.finished_at, progress.paused = now.isoformat(), None
        log.info("backfill.finished", backfill=progress.id, state=progress.state,
                 days=progress.days_done,
                 trading_days=progress.trading_days, forms=progress.forms,
                 requests=progress.requests, summaries=progress.summaries)


def interval_s(ctx: PipelineContext) -> float:
    return ctx.config.backfill.interval_s


def period_s(settings: PipelineSettings) -> float:
    return settings.backfill.tick_s


BACKFILL_JOB = TimerJob(name="backfill", period_s=period_s, run=run_timer)
