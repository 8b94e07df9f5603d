"""The rollover timer job: close each email window with its artifacts zip and one email.

An aligned WIB window closes once its end plus the grace period has passed, the exchange has
been asked up to its end, and every file that belongs to it is final; or, whatever is pending,
once the maximum wait after its end has passed (the email lists what was still pending). Closing
is, in order: the zip, the email written to `outbox/` and recorded as `sending` in the ledger,
the SMTP delivery, and only then the window marked `sent`. A window still `sending` (an outage,
or a crash between the server's answer and the mark) is delivered again at the next tick from
the very same `.eml`, so any resend carries the same `Message-ID`. A window with no inserted
filing, no alert and no refusing source is marked `closed` and sends nothing unless
`send_empty` is set: the analyst hears of every filing stored.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from daemon.guard import note_work
from daemon.ledger import FileState
from daemon.logs import get_logger
from daemon.stages import TimerJob
from handlers import paths
from handlers.adapters.artifacts import build_zip
from handlers.adapters.host_health import STATE_PREFIX as HEALTH_PREFIX
from handlers.adapters.host_health import source_hosts
from handlers.adapters.mail.filings import inserted_filings
from handlers.adapters.mail.message import AlertFile, Digest, build_message
from handlers.adapters.mail.smtp import MailUnavailable, deliver, outbox_path, write_outbox
from handlers.context import PipelineContext
from handlers.domain.source_health import blocked_lines
from handlers.domain.window_members import (
    MailWindow,
    Members,
    bucketed_alerts,
    collect,
    window_of_stub,
)
from handlers.domain.windows import aligned_window, to_wib
from handlers.jobs.ingest_state import load_last_end
from handlers.settings import PipelineSettings

STATE_PREFIX = "rollover.window."
SUMMARY_KEY = "app.rollover"
SENDING, SENT, CLOSED, WAITING = "sending", "sent", "closed", "waiting"
log = get_logger()


def run_timer(ctx: PipelineContext, now: datetime) -> None:
    if not ctx.config.rollover.enabled:
        return
    retry_unsent(ctx, now)
    for mail_window in due_windows(ctx, now):
        if close_window(ctx, mail_window, now) == WAITING:
            break
        _update_summary(ctx, next_start=mail_window.window.end.isoformat())


def due_windows(ctx: PipelineContext, now: datetime) -> Iterator[MailWindow]:
    """Aligned windows from the cursor on whose end plus the grace period has passed."""
    settings = ctx.config.rollover
    period = timedelta(seconds=settings.period_s)
    floor = to_wib(now) - timedelta(days=settings.catch_up_days)
    stored = ctx.ledger.get_state(SUMMARY_KEY, {}).get("next_start")
    if stored:
        cursor = to_wib(datetime.fromisoformat(stored))
    else:
        # The first tick starts at the window before now and says so at once: a window still
        # waiting when the daemon is stopped is where the next start resumes, not skipped.
        cursor = aligned_window(now, settings.period_s).start - period
        _update_summary(ctx, next_start=cursor.isoformat())
    window = aligned_window(max(cursor, floor), settings.period_s)
    while window.end + timedelta(seconds=settings.grace_s) <= now:
        if window.start >= cursor:  # a changed period can realign onto a closed window
            yield MailWindow(window)
        window = aligned_window(window.end, settings.period_s)


def retry_unsent(ctx: PipelineContext, now: datetime) -> None:
    for key, state in ctx.ledger.states_with_prefix(STATE_PREFIX).items():
        if state.get("state") == SENDING:
            send_stored(ctx, key.removeprefix(STATE_PREFIX), state, now)


def close_window(ctx: PipelineContext, mail_window: MailWindow, now: datetime, *,
                 force: bool = False) -> str:
    """Close `mail_window` if it is ready (or `force`); returns its state afterwards."""
    name = window_name(mail_window)
    state = ctx.ledger.get_state(STATE_PREFIX + name) or {}
    if state.get("state") in (SENT, CLOSED):
        return str(state["state"])
    if state.get("state") == SENDING:
        return send_stored(ctx, name, state, now)
    members = collect(ctx.root, mail_window, ctx.ledger.has_finished)
    members.own_alerts = len(members.alerts)
    if not mail_window.inclusive:
        members.alerts += late_alerts(ctx, now)
    pending = [*members.pending, *([] if force else _not_ingested(ctx, mail_window))]
    timed_out = now >= mail_window.window.end + timedelta(seconds=ctx.config.rollover.max_wait_s)
    if pending and not (force or timed_out):
        log.info("window.waiting", window=name, pending=len(pending), first=pending[0])
        return WAITING
    return _close(ctx, mail_window, members, pending, now)


def _close(ctx: PipelineContext, mail_window: MailWindow, members: Members, pending: list[str],
           now: datetime) -> str:
    name, settings = window_name(mail_window), ctx.config.rollover
    artifact = build_zip(ctx.root, name, members.artifacts(settings.with_pdfs), created_at=now,
                         window={**mail_window.window.to_json(), "pending": pending},
                         durable=ctx.durable)
    relative_zip = artifact.relative_to(ctx.root).as_posix()
    alerts = [AlertFile.read(path) for path in members.alerts]
    late = [_relative(ctx, path) for path in members.alerts[members.own_alerts:]]
    base = {"window": mail_window.stub, "artifact": relative_zip, "pending": len(pending),
            "alerts": [_relative(ctx, path) for path in members.alerts], "late": late,
            "closing_at": now.isoformat()}
    sources = source_notes(ctx, mail_window, now)
    inserted = inserted_filings(members.filings, ctx.root)
    if not alerts and not sources and not inserted and not settings.send_empty:
        _mark(ctx, name, {**base, "state": CLOSED, "email": None})
        log.info("window.closed", window=name, alerts=0, email=False, artifact=relative_zip)
        return CLOSED
    digest = Digest(mail_window, alerts, relative_zip, pending, filing_counts(members.filings),
                    late, sources, inserted)
    message = build_message(digest, ctx.config.mail, root=ctx.root, created_at=now,
                            budget_bytes=settings.attach_budget_bytes)
    eml = write_outbox(outbox_path(ctx.root, name), message, durable=ctx.durable)
    state = {**base, "state": SENDING, "message_id": message["Message-ID"],
             "eml": eml.relative_to(ctx.root).as_posix(), "attempts": 0}
    _mark(ctx, name, state)  # before SMTP: a crash from here on resends this very file
    return send_stored(ctx, name, state, now)


def send_stored(ctx: PipelineContext, name: str, state: dict[str, Any], now: datetime) -> str:
    """Deliver the stored `.eml`; mark the window sent only once the server accepted it."""
    try:
        transport = deliver(ctx.config.mail, ctx.root / state["eml"])
    except MailUnavailable as error:
        attempts = int(state.get("attempts", 0)) + 1
        _mark(ctx, name, {**state, "attempts": attempts, "last_error": str(error)})
        log.warning("email.unavailable", window=name, attempts=attempts, error=str(error),
                    retry="next tick")
        return SENDING
    sent = {**state, "state": SENT, "sent_at": now.isoformat(), "transport": transport}
    _mark_sent(ctx, name, sent)
    log.info("email.sent", window=name, message_id=state["message_id"], transport=transport,
             alerts=len(state["alerts"]), path=state["eml"])
    log.info("window.closed", window=name, alerts=len(state["alerts"]), email=True,
             artifact=state["artifact"])
    return SENT


def _mark_sent(ctx: PipelineContext, name: str, state: dict[str, Any]) -> None:
    _mark(ctx, name, state)
    # Outside the ledger too: a root that has mailed a window must never start from scratch.
    note_work(ctx.root, last_email=state["message_id"], last_email_window=name)
    _update_summary(ctx, last_email={key: state.get(key) for key in (
        "window", "message_id", "sent_at", "transport", "eml")})


def _mark(ctx: PipelineContext, name: str, state: dict[str, Any]) -> None:
    ctx.ledger.set_state(STATE_PREFIX + name, state)
    _update_summary(ctx, last_window={"window": name, "state": state["state"]})


def _update_summary(ctx: PipelineContext, **changes: Any) -> None:
    summary = ctx.ledger.get_state(SUMMARY_KEY, {}) or {}
    ctx.ledger.set_state(SUMMARY_KEY, {**summary, **changes})


def source_notes(ctx: PipelineContext, mail_window: MailWindow, now: datetime) -> list[str]:
    """Sources blocked during the window: blocked is never reported as "no filings"."""
    states = {host: state for host in source_hosts(ctx.config)
              if isinstance(state := ctx.ledger.get_state(HEALTH_PREFIX + host), dict)}
    batches = paths.inbox(paths.ANNOUNCEMENTS) + "/"
    waiting = sum(row["path"].startswith(batches)
                  for row in ctx.ledger.rows_in_state(FileState.FAILED))
    return blocked_lines(states, mail_window.window, now, waiting)


def window_name(mail_window: MailWindow) -> str:
    """File and state name: the stub, prefixed for an `idxd once` window."""
    return f"once-{mail_window.stub}" if mail_window.inclusive else mail_window.stub


def _not_ingested(ctx: PipelineContext, mail_window: MailWindow) -> list[str]:
    """The exchange has not been asked up to the window's end yet (ingest is on)."""
    if not ctx.config.ingest.enabled:
        return []
    last_end = load_last_end(ctx)
    if last_end is not None and last_end >= mail_window.window.end:
        return []
    inbox = paths.inbox(paths.ANNOUNCEMENTS)
    return [f"{inbox} (not yet fetched up to {mail_window.window.end:%H:%M} WIB)"]


def late_alerts(ctx: PipelineContext, now: datetime) -> list[Path]:
    """Alerts filed under a recent window that had closed already, and never emailed since."""
    states = ctx.ledger.states_with_prefix(STATE_PREFIX)
    included = {path for state in states.values() for path in state.get("alerts") or []}
    horizon = to_wib(now) - timedelta(days=ctx.config.rollover.catch_up_days)
    late = []
    for name, state in states.items():
        closed = window_of_stub(name.removeprefix(STATE_PREFIX))
        if closed is None or closed.end < horizon or state.get("state") not in (SENT, CLOSED):
            continue
        late += [path for path in bucketed_alerts(ctx.root, MailWindow(closed))
                 if _relative(ctx, path) not in included]
    return late


def _relative(ctx: PipelineContext, path: Path) -> str:
    return path.relative_to(ctx.root).as_posix()


def filing_counts(paths: list[Path]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for path in paths:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        counts.update(str(f.get("outcome")) for f in record.get("filings") or [])
        counts.update(["rejected"] if record.get("rejected") else [])
    return dict(counts)


def period_s(settings: PipelineSettings) -> float:
    return settings.rollover.tick_s


ROLLOVER_JOB = TimerJob(name="rollover", period_s=period_s, run=run_timer)
