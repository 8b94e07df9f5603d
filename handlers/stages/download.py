"""The download stage: every attachment of every announcement in a batch, fetched safely.

IDX-format forms land in `downloads/idx-format/` (the parse stage's inbox), everything else in
`downloads/non-idx-format/` for a human, with a `non_idx_document` alert when an announcement has
no IDX-format form at all. A `<pdf>.meta.json` sidecar is written before its PDF, so a PDF on
disk is the done-marker: a re-run skips it. The handler fetches each attachment once per call;
when transient answers (see `adapters/answers.py`: network errors, 403, 429, 5xx, a challenge
page, a trickling host) leave some unfetched it raises `TransientError`, and the engine's retry
policy (with the `[download] attempts` budget) calls it again, done attachments skipped. When
that budget runs out the batch is marked failed, a `retries_exhausted` alert names what is
missing, and the rescan tries it again every `failed_retry_s`. Only a permanent answer gives an
attachment up, with one alert: refused by the allow-list, the size cap or its content, or a
404/410 that persisted for `missing_horizon_s`. Whatever goes wrong with one attachment, even
an error nobody foresaw, stays with that attachment: the rest of the batch goes on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from daemon.errors import RejectedInput, TransientError
from daemon.files import write_atomic, write_json_atomic
from daemon.logs import get_logger
from daemon.retry import Interrupted
from handlers import paths
from handlers.adapters.answers import (
    Missing,
    Refused,
    Unavailable,
    check_pdf,
    check_spreadsheet,
)
from handlers.adapters.pdf_fetch import Limits, fetch_pdf
from handlers.adapters.spreadsheet import sheet_text
from handlers.context import PipelineContext
from handlers.domain import attachments as names
from handlers.domain.alerts import build_alert, write_alert
from handlers.domain.announcements import read_batch
from handlers.settings import DownloadSettings

# Politeness towards the exchange: handlers never pause, so few downloads run at once.
CONCURRENCY = 1
MISSING_KEY = "download.missing."  # + attachment key: when a 404/410 was first seen
log = get_logger()


class DownloadPending(TransientError):
    """Some attachments could not be fetched this time; the batch is worth another call."""


def handle(path: Path, ctx: PipelineContext) -> list[Path]:
    stub, records = _read(path)
    outputs: list[Path] = []
    pending: list[str] = []
    for record in records:
        outputs += download_announcement(ctx, record, stub, path.name, pending)
    if pending:
        raise DownloadPending(f"{len(pending)} attachment(s) to retry: {', '.join(pending)}")
    return outputs


def _read(path: Path) -> tuple[str | None, list[dict[str, Any]]]:
    try:
        return read_batch(path)
    except (ValueError, KeyError, TypeError, RecursionError) as error:
        raise RejectedInput("invalid_announcements", f"{path.name}: {error}",
                            {"doc": {"filename": path.name}}) from None


def download_announcement(ctx: PipelineContext, record: dict[str, Any], stub: str | None,
                          source: str, pending: list[str]) -> list[Path]:
    attachments = record.get("attachments") or []
    outputs: list[Path] = []
    waiting_before = len(pending)
    for attachment in attachments:
        try:
            outputs += download_attachment(ctx, record, attachment, stub, source, pending)
        except (Interrupted, TransientError):
            raise
        except Exception as error:  # one attachment's trouble is its own
            outputs.append(alert_unexpected(ctx, record, attachment, error))
            pending.append(str(attachment.get("url")))
    # For a person, once everything is here: the alert then carries the spreadsheets' text.
    no_form = not any(names.kind_of(a) == names.IDX_FORMAT for a in attachments)
    if no_form and len(pending) == waiting_before:
        outputs.append(alert_non_idx(ctx, record, attachments, spreadsheet_texts(outputs)))
    return outputs


def download_attachment(ctx: PipelineContext, record: dict[str, Any], attachment: dict[str, Any],
                        stub: str | None, source: str, pending: list[str]) -> list[Path]:
    pdf = ctx.root / paths.DOWNLOAD_KINDS[names.kind_of(attachment)] / names.local_name(
        record, attachment)
    sidecar = paths.sidecar_of(pdf)
    if pdf.is_file():
        return [sidecar, pdf]
    given_up = _given_up(ctx, record, attachment)
    if given_up is not None:
        return given_up
    check_body = check_spreadsheet if names.is_spreadsheet(attachment) else check_pdf
    try:
        body = fetch_watched(ctx, attachment["url"], check_body)
    except Refused as error:
        return [alert(ctx, error.code, record, attachment, pdf, reason=error.reason,
                      error=str(error))]
    except Missing as error:
        return _missing(ctx, record, attachment, pdf, error, pending)
    except Unavailable as error:
        log.warning("download.unavailable", url=attachment["url"], error=str(error))
        pending.append(pdf.name)
        return []
    meta = sidecar_payload(record, attachment, stub, source, pdf, body)
    write_json_atomic(sidecar, meta, durable=ctx.durable)  # before the PDF: the parser reads it
    write_atomic(pdf, body, durable=ctx.durable)
    log.info("download.saved", url=attachment["url"], path=str(pdf), size_bytes=len(body))
    return [sidecar, pdf]



def fetch_watched(ctx: PipelineContext, url: str, check_body: Callable[[bytes], None]) -> bytes:
    """`fetch_pdf`, skipped while the host rests, and its answer told to the host's health."""
    ctx.health.check(url)
    try:
        body = fetch_pdf(ctx.http, url, limits(ctx.config.download), ctx.stopping,
                         check_body=check_body)
    except Unavailable as error:
        if error.refusal:
            ctx.health.refused(url)
        raise
    except (Refused, Missing):
        ctx.health.answered(url)
        raise
    ctx.health.answered(url)
    return body


def limits(settings: DownloadSettings) -> Limits:
    return Limits(allowed_hosts=settings.allowed_hosts, max_bytes=settings.max_bytes,
                  max_redirects=settings.max_redirects, deadline_s=settings.deadline_s,
                  min_rate_bps=settings.min_rate_bps)


def _missing_key(record: Mapping[str, Any], attachment: Mapping[str, Any]) -> str:
    return MISSING_KEY + names.attachment_key(record, attachment)[:32]


def _given_up(ctx: PipelineContext, record: Mapping[str, Any],
              attachment: Mapping[str, Any]) -> list[Path] | None:
    """The alert of an attachment given up on before (None: not given up), so that a batch
    retried for its other attachments still names it among its outputs."""
    state = ctx.ledger.get_state(_missing_key(record, attachment)) or {}
    if not state.get("gave_up"):
        return None
    return [ctx.root / state["alert"]] if state.get("alert") else []


def _missing(ctx: PipelineContext, record: dict[str, Any], attachment: dict[str, Any],
             pdf: Path, error: Missing, pending: list[str]) -> list[Path]:
    """A 404/410 is retried until it has persisted for the horizon, then alerted once (the
    alert returned, as the batch's output)."""
    key = _missing_key(record, attachment)
    first_at = (ctx.ledger.get_state(key) or {}).get("first_at") or ctx.now().isoformat()
    age_s = (ctx.now() - datetime.fromisoformat(first_at)).total_seconds()
    gave_up = age_s >= ctx.config.download.missing_horizon_s
    state = {"first_at": first_at, "status": error.status, "gave_up": gave_up}
    if gave_up:
        raised = alert(ctx, "download_failed", record, attachment, pdf, reason="http_status",
                       status=error.status, missing_for_s=round(age_s))
        ctx.ledger.set_state(key, {**state, "alert": raised.relative_to(ctx.root).as_posix()})
        return [raised]
    ctx.ledger.set_state(key, state)
    log.warning("download.missing", url=attachment["url"], status=error.status,
                missing_for_s=round(age_s))
    pending.append(pdf.name)
    return []


def sidecar_payload(record: Mapping[str, Any], attachment: Mapping[str, Any], stub: str | None,
                    source: str, pdf: Path, body: bytes) -> dict[str, Any]:
    return {
        **announcement_summary(record),
        "url": attachment["url"],
        "original_name": names.original_name(attachment),
        "is_main": bool(attachment.get("is_main")),
        "kind": names.kind_of(attachment),
        "window": stub,
        "announcements_file": source,
        "local_name": pdf.name,
        "size_bytes": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }


def announcement_summary(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "announcement_id": record.get("id"),
        "announcement_no": record.get("announcement_no"),
        "title": record.get("title"),
        "ticker": record.get("ticker"),
        "published_at": record.get("published_at"),
        "is_correction": bool(record.get("is_correction")),
    }


def alert(ctx: PipelineContext, code: str, record: Mapping[str, Any], attachment: Mapping[str, Any],
          pdf: Path, **details: Any) -> Path:
    doc = {"filename": pdf.name, "url": attachment.get("url"),
           "original_name": names.original_name(attachment)}
    log.warning("download.refused" if code != "download_failed" else "download.failed",
                code=code, url=attachment.get("url"), **details)
    built = build_alert(code=code, timestamp=ctx.now().isoformat(), doc=doc,
                        announcement=announcement_summary(record), details=details)
    return write_alert(ctx.root, built, durable=ctx.durable)


def alert_unexpected(ctx: PipelineContext, record: Mapping[str, Any],
                     attachment: Mapping[str, Any], error: Exception) -> Path:
    log.exception("download.unexpected_error", url=attachment.get("url"))
    doc = {"filename": str(attachment.get("original_name") or attachment.get("url")),
           "url": attachment.get("url")}
    built = build_alert(code="download_failed", timestamp=ctx.now().isoformat(), doc=doc,
                        announcement=announcement_summary(record),
                        details={"reason": "unexpected_error",
                                 "error": f"{type(error).__name__}: {error}"})
    return write_alert(ctx.root, built, durable=ctx.durable)


def spreadsheet_texts(outputs: list[Path]) -> list[dict[str, str]]:
    return [{"file": path.name, "text": sheet_text(path.read_bytes())} for path in outputs
            if path.suffix == names.SPREADSHEET_SUFFIX and path.is_file()]


def alert_non_idx(ctx: PipelineContext, record: Mapping[str, Any],
                  attachments: list[dict[str, Any]],
                  spreadsheets: list[dict[str, str]]) -> Path:
    links = [a.get("url") for a in attachments]
    doc = {"filename": f"{names.safe_part(str(record.get('ticker') or ''), 12)}_"
                       f"{names.attachment_key(record, {})[:10]}", "links": links}
    details: dict[str, Any] = {"links": links}
    if spreadsheets:  # the numbers, so a person need not open the file
        details["spreadsheets"] = spreadsheets
    built = build_alert(code="non_idx_document", timestamp=ctx.now().isoformat(), doc=doc,
                        announcement=announcement_summary(record), details=details)
    return write_alert(ctx.root, built, durable=ctx.durable)


def retry_attempts(ctx: PipelineContext) -> int:
    """The stage's retry budget: the engine's policy with `[download] attempts`."""
    return ctx.config.download.attempts
