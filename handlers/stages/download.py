"""The download stage: every attachment of every announcement in a batch, fetched safely.

IDX-format forms land in `downloads/idx-format/` (the parse stage's inbox), everything else in
`downloads/non-idx-format/` for a human, with a `non_idx_document` alert when an announcement has
no IDX-format form at all. A `<pdf>.meta.json` sidecar is written before its PDF, so a PDF on
disk is the done-marker: a re-run skips it. The handler fetches each attachment once per call;
network errors, 429 and 5xx raise `TransientError` so the engine retries the whole batch (done
attachments skipped). Those failures are counted per attachment in the ledger, and once the
count reaches `attempts` the attachment gets a `download_failed` alert instead of another retry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from daemon.config import SettingsReader
from daemon.errors import RejectedInput, TransientError
from daemon.files import write_atomic, write_json_atomic
from handlers import paths
from handlers.adapters.http import client
from handlers.adapters.pdf_fetch import FetchMissing, FetchRefused, FetchUnavailable, fetch_pdf
from handlers.domain import attachments as names
from handlers.domain.alerts import build_alert, write_alert
from handlers.domain.announcements import read_batch

FAILURES_KEY = "download.failures."
# Politeness towards the exchange: handlers never pause, so few downloads run at once.
CONCURRENCY = 1
log = structlog.get_logger()


@dataclass(frozen=True)
class DownloadSettings:
    allowed_hosts: tuple[str, ...] = ("www.idx.co.id", "idx.co.id")
    max_mb: float = 25.0
    max_redirects: int = 5
    attempts: int = 5  # failed calls per attachment before `download_failed`

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 1024 * 1024)


def read_download_settings(document: Mapping[str, Any], env: Mapping[str, str]
                           ) -> DownloadSettings:
    reader = SettingsReader(document.get("download", {}), env, "download")
    base = DownloadSettings()
    hosts = reader.get("allowed_hosts", base.allowed_hosts, "IDXD_DOWNLOAD_ALLOWED_HOSTS",
                       check=bool, expected="a non-empty list of host names")
    return DownloadSettings(
        allowed_hosts=tuple(host.strip().lower() for host in hosts),
        max_mb=reader.positive("max_mb", base.max_mb, "IDXD_DOWNLOAD_MAX_MB"),
        max_redirects=reader.get("max_redirects", base.max_redirects,
                                 "IDXD_DOWNLOAD_MAX_REDIRECTS", check=lambda v: v >= 0,
                                 expected="a whole number ≥ 0"),
        attempts=reader.positive("attempts", base.attempts, "IDXD_DOWNLOAD_ATTEMPTS"),
    )


class DownloadPending(TransientError):
    """Some attachments could not be fetched this time; the batch is worth another call."""


def handle(path: Path, ctx: Any) -> list[Path]:
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


def download_announcement(ctx: Any, record: dict[str, Any], stub: str | None, source: str,
                          pending: list[str]) -> list[Path]:
    attachments = record.get("attachments") or []
    if not any(names.is_idx_format(a) for a in attachments):
        alert_non_idx(ctx, record, attachments)
    outputs: list[Path] = []
    for attachment in attachments:
        outputs += download_attachment(ctx, record, attachment, stub, source, pending)
    return outputs


def download_attachment(ctx: Any, record: dict[str, Any], attachment: dict[str, Any],
                        stub: str | None, source: str, pending: list[str]) -> list[Path]:
    pdf = ctx.root / paths.DOWNLOAD_KINDS[names.kind_of(attachment)] / names.local_name(
        record, attachment)
    sidecar = paths.sidecar_of(pdf)
    if pdf.is_file() or _gave_up(ctx, record, attachment):
        return [sidecar, pdf] if pdf.is_file() else []
    settings: DownloadSettings = ctx.config.download
    try:
        body = fetch_pdf(client(ctx), attachment["url"], allowed_hosts=settings.allowed_hosts,
                         max_bytes=settings.max_bytes, max_redirects=settings.max_redirects)
    except FetchRefused as error:
        alert(ctx, error.code, record, attachment, pdf, reason=error.reason, error=str(error))
        return []
    except FetchMissing as error:
        alert(ctx, "download_failed", record, attachment, pdf, reason="http_status",
              status=error.status)
        return []
    except FetchUnavailable as error:
        _count_failure(ctx, record, attachment, pdf, str(error), pending)
        return []
    meta = sidecar_payload(record, attachment, stub, source, pdf, body)
    write_json_atomic(sidecar, meta, durable=ctx.durable)  # before the PDF: the parser reads it
    write_atomic(pdf, body, durable=ctx.durable)
    log.info("download.saved", url=attachment["url"], path=str(pdf), size_bytes=len(body))
    return [sidecar, pdf]



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


def _failure_key(record: Mapping[str, Any], attachment: Mapping[str, Any]) -> str:
    return FAILURES_KEY + names.attachment_key(record, attachment)[:32]


def _gave_up(ctx: Any, record: Mapping[str, Any], attachment: Mapping[str, Any]) -> bool:
    failures = ctx.ledger.get_state(_failure_key(record, attachment), {}) or {}
    return int(failures.get("count", 0)) >= ctx.config.download.attempts


def _count_failure(ctx: Any, record: dict[str, Any], attachment: dict[str, Any], pdf: Path,
                   error: str, pending: list[str]) -> None:
    key = _failure_key(record, attachment)
    count = int((ctx.ledger.get_state(key, {}) or {}).get("count", 0)) + 1
    ctx.ledger.set_state(key, {"count": count, "url": attachment["url"], "error": error})
    log.warning("download.unavailable", url=attachment["url"], error=error, failures=count)
    if count >= ctx.config.download.attempts:
        alert(ctx, "download_failed", record, attachment, pdf, reason="unavailable",
              attempts=count, error=error)
    else:
        pending.append(pdf.name)


def alert(ctx: Any, code: str, record: Mapping[str, Any], attachment: Mapping[str, Any],
          pdf: Path, **details: Any) -> Path:
    doc = {"filename": pdf.name, "url": attachment.get("url"),
           "original_name": names.original_name(attachment)}
    log.warning("download.refused" if code != "download_failed" else "download.failed",
                code=code, url=attachment.get("url"), **details)
    built = build_alert(code=code, timestamp=ctx.now().isoformat(), doc=doc,
                        announcement=announcement_summary(record), details=details)
    return write_alert(ctx.root, built, durable=ctx.durable)


def alert_non_idx(ctx: Any, record: Mapping[str, Any], attachments: list[dict[str, Any]]) -> None:
    links = [a.get("url") for a in attachments]
    doc = {"filename": f"{names.safe_part(str(record.get('ticker') or ''), 12)}_"
                       f"{names.attachment_key(record, {})[:10]}", "links": links}
    built = build_alert(code="non_idx_document", timestamp=ctx.now().isoformat(), doc=doc,
                        announcement=announcement_summary(record), details={"links": links})
    write_alert(ctx.root, built, durable=ctx.durable)
