"""The backfill's summary: one zip and one email for many backfilled days, never one per window.

A chunk of days (`[backfill] summary_days` of them, or the whole backfill) is closed once no
batch of its days is in the pipeline any more and every file of its days is final (an alert
bucketized, say): `artifacts/<name>.zip` holds the chunk's
announcements, parsed records, filings and alerts, and one message, composed by the window
email's own functions over the whole span, lists the chunk's alerts and how many days, forms and
filings it covered. Alerts filed under a window the rollover owns (one it closed or will close:
it has a state, or it starts at or after its cursor) are left to the rollover's email, so no
alert is mailed twice. Delivery follows the rollover's guarantee: the `.eml` is written and
recorded as `sending` before any SMTP traffic, marked `sent` only once the server accepted it,
and sent again byte for byte (same `Message-ID`) at later ticks until then.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path
from typing import Any

from daemon.logs import get_logger
from handlers.adapters.artifacts import build_zip
from handlers.adapters.mail.message import AlertFile, Digest, build_message
from handlers.adapters.mail.smtp import MailUnavailable, deliver, outbox_path, write_outbox
from handlers.context import PipelineContext
from handlers.domain.window_members import MailWindow, collect, window_of_stub
from handlers.domain.windows import to_wib, whole_days
from handlers.jobs import rollover
from handlers.jobs.backfill_state import Chunk, Progress

SUMMARY_PREFIX = "backfill.summary."
SENDING, SENT, WAITING = "sending", "sent", "waiting"
log = get_logger()


def close_ready(ctx: PipelineContext, progress: Progress, now: datetime) -> None:
    """Close, oldest chunk last, every sealed chunk none of whose batches is in flight."""
    for chunk in list(progress.sealed):
        if any(_in_chunk(batch, chunk) for batch in progress.in_flight):
            return  # days go newest to oldest: the chunks after it are busier still
        if close_chunk(ctx, progress, chunk, now) == WAITING:
            return
        progress.sealed.remove(chunk)
        progress.summaries.append(chunk.name)


def _in_chunk(batch: str, chunk: Chunk) -> bool:
    stamp = Path(batch).name.split("-")[1]  # backfill-YYYYmmdd-NN.json
    day = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"
    return chunk.oldest <= day <= chunk.newest


def close_chunk(ctx: PipelineContext, progress: Progress, chunk: Chunk, now: datetime) -> str:
    state = ctx.ledger.get_state(SUMMARY_PREFIX + chunk.name)
    if isinstance(state, dict):  # built before a restart: deliver that very message
        return send_stored(ctx, chunk.name, state, now)
    span = MailWindow(whole_days(date.fromisoformat(chunk.oldest),
                                 date.fromisoformat(chunk.newest)), inclusive=True)
    members = collect(ctx.root, span, ctx.ledger.has_finished)
    if members.pending:  # an alert not bucketized yet, say: it belongs in this summary
        log.debug("backfill.summary_waiting", summary=chunk.name, pending=len(members.pending))
        return WAITING
    members.alerts = [path for path in members.alerts if not owned_by_rollover(ctx, path)]
    artifact = build_zip(ctx.root, chunk.name, members.artifacts(ctx.config.rollover.with_pdfs),
                         created_at=now, durable=ctx.durable,
                         window={**span.window.to_json(), "backfill": progress.id})
    relative_zip = artifact.relative_to(ctx.root).as_posix()
    alerts = [AlertFile.read(path) for path in members.alerts]
    digest = Digest(mail_window=span, alerts=alerts, artifact=relative_zip,
                    filings=rollover.filing_counts(members.filings),
                    sources=summary_lines(progress, chunk))
    message = build_message(digest, ctx.config.mail, root=ctx.root, created_at=now,
                            budget_bytes=ctx.config.rollover.attach_budget_bytes)
    message.replace_header("Subject", subject(chunk, len(alerts)))
    message.replace_header("Message-ID", message_id(ctx, chunk.name))
    eml = write_outbox(outbox_path(ctx.root, chunk.name), message, durable=ctx.durable)
    state = {"state": SENDING, "backfill": progress.id, "message_id": message["Message-ID"],
             "eml": eml.relative_to(ctx.root).as_posix(), "artifact": relative_zip,
             "alerts": [path.relative_to(ctx.root).as_posix() for path in members.alerts],
             "days": chunk.days, "forms": chunk.forms, "attempts": 0,
             "closing_at": now.isoformat()}
    ctx.ledger.set_state(SUMMARY_PREFIX + chunk.name, state)  # before SMTP, as the rollover
    return send_stored(ctx, chunk.name, state, now)


def message_id(ctx: PipelineContext, name: str) -> str:
    """From the root and the summary's days only, like a window's, and never the same as the
    `Message-ID` of an `idxd once` over the same days."""
    digest = hashlib.sha256(f"{ctx.root.resolve()}\nbackfill\n{name}".encode()).hexdigest()
    domain = ctx.config.mail.sender.rpartition("@")[2] or "idxd.local"
    return f"<idxd.{name}.{digest[:16]}@{domain}>"


def subject(chunk: Chunk, alerts: int) -> str:
    return (f"[IDX Alerts] Backfill {chunk.oldest} to {chunk.newest}: {alerts} alert(s), "
            f"{chunk.days} day(s), {chunk.forms} form(s)")


def summary_lines(progress: Progress, chunk: Chunk) -> list[str]:
    lines = [f"Backfill {progress.first} to {progress.last}, this summary {chunk.oldest} to "
             f"{chunk.newest}: {chunk.days} day(s), {chunk.trading_days} with announcements, "
             f"{chunk.announcements} announcement(s), {chunk.forms} IDX-format form(s)."]
    if chunk.skipped:
        lines.append("The exchange refused the listing of " + ", ".join(chunk.skipped) +
                     " (see the ingest_failed alerts); those days were not backfilled.")
    return lines


def owned_by_rollover(ctx: PipelineContext, alert: Path) -> bool:
    """The alert's bucket is a window the rollover has closed or will close."""
    window = window_of_stub(alert.parent.name)
    if window is None:
        return False
    if ctx.ledger.get_state(rollover.STATE_PREFIX + alert.parent.name) is not None:
        return True
    cursor = (ctx.ledger.get_state(rollover.SUMMARY_KEY) or {}).get("next_start")
    return isinstance(cursor, str) and window.start >= to_wib(datetime.fromisoformat(cursor))


def retry_unsent(ctx: PipelineContext, progress: Progress, now: datetime) -> None:
    for name in progress.summaries:
        state = ctx.ledger.get_state(SUMMARY_PREFIX + name)
        if isinstance(state, dict) and state.get("state") == SENDING:
            send_stored(ctx, name, state, now)


def send_stored(ctx: PipelineContext, name: str, state: dict[str, Any], now: datetime) -> str:
    """Deliver the stored `.eml`; mark it sent only once the server accepted it."""
    if state.get("state") == SENT:
        return SENT
    try:
        transport = deliver(ctx.config.mail, ctx.root / state["eml"])
    except MailUnavailable as error:
        attempts = int(state.get("attempts", 0)) + 1
        ctx.ledger.set_state(SUMMARY_PREFIX + name, {**state, "attempts": attempts,
                                                     "last_error": str(error)})
        log.warning("email.unavailable", window=name, attempts=attempts, error=str(error),
                    retry="next tick")
        return SENDING
    ctx.ledger.set_state(SUMMARY_PREFIX + name, {**state, "state": SENT,
                                                 "sent_at": now.isoformat(),
                                                 "transport": transport})
    log.info("email.sent", window=name, message_id=state["message_id"], transport=transport,
             alerts=len(state["alerts"]), path=state["eml"])
    log.info("backfill.summary_sent", backfill=state.get("backfill"), summary=name,
             alerts=len(state["alerts"]), days=state.get("days"), forms=state.get("forms"))
    return SENT


def summary_states(ctx: PipelineContext, progress: Progress) -> dict[str, str]:
    """Each summary built so far -> sending or sent."""
    states = {}
    for name in progress.summaries:
        state = ctx.ledger.get_state(SUMMARY_PREFIX + name)
        states[name] = str(state.get("state")) if isinstance(state, dict) else "unknown"
    return states
