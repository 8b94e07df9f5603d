"""The App's hooks: how a quarantined file is reported, and the IDX facts of `idxd status`.

A file the engine quarantined becomes one alert in the common schema (`report_failure`).

The last ingest (when the exchange was last read, and up to which instant), the last window
the rollover closed and the last email it sent come from the ledger's key-value state, written
by `handlers/jobs/ingest_state.py` and `handlers/jobs/rollover.py`; the company map's age comes
from its meta file (the local cache, or the bundled snapshot before the first refresh); a
backfill's progress from its state (`handlers/jobs/backfill_state.py`). Each fact is a small
dict whose "at" is an ISO-8601 time or None; the engine adds the age. A fact that needs an
operator carries a `problem` sentence, which makes `idxd status` degraded: ingest failing (its
last attempts and error, from `ingest.health`), a source resting, a company map older than its
limit while a source to refresh it is configured, an email not delivered yet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemon.config import Settings
from daemon.files import read_json_object
from daemon.stages import Failure
from handlers.adapters.company_map import bundled_paths, cache_paths, generated_at_of
from handlers.adapters.host_health import STATE_PREFIX as HEALTH_PREFIX
from handlers.adapters.host_health import source_hosts
from handlers.context import PipelineContext
from handlers.domain.alerts import build_alert, write_alert
from handlers.jobs.backfill_state import CANCEL_KEY as BACKFILL_CANCEL
from handlers.jobs.backfill_state import REQUEST_KEY as BACKFILL_REQUEST
from handlers.jobs.backfill_state import STATE_KEY as BACKFILL_KEY
from handlers.jobs.backfill_state import status_fact as backfill_fact
from handlers.jobs.ingest_state import HEALTH_KEY as INGEST_HEALTH_KEY
from handlers.jobs.ingest_state import STATE_KEY as INGEST_KEY
from handlers.jobs.rollover import SENDING
from handlers.jobs.rollover import STATE_PREFIX as WINDOW_PREFIX
from handlers.jobs.rollover import SUMMARY_KEY as ROLLOVER_KEY
from handlers.settings import CompanyMapSettings, PipelineSettings

GetState = Callable[[str], Any]


def status_extras(settings: Settings[PipelineSettings],
                  get_state: GetState) -> dict[str, dict[str, Any]]:
    rollover = _mapping(get_state(ROLLOVER_KEY))
    return {
        "last_ingest": last_ingest(get_state, settings.app.ingest.enabled),
        "last_window": last_window(rollover, get_state),
        "last_email": last_email(rollover),
        "company_map": company_map(settings.engine.root, settings.app.company_map),
        **sources(settings.app, get_state),
        **backfill(get_state),
    }


def backfill(get_state: GetState) -> dict[str, dict[str, Any]]:
    """The backfill's progress, once one was asked for."""
    fact = backfill_fact(get_state(BACKFILL_KEY), get_state(BACKFILL_REQUEST), datetime.now(UTC),
                         get_state(BACKFILL_CANCEL))
    return {"backfill": fact} if fact else {}


def sources(settings: PipelineSettings, get_state: GetState) -> dict[str, dict[str, Any]]:
    """Every source host: ok (never refused us, or recovered), or blocked since when, which
    needs an operator's eye."""
    facts: dict[str, dict[str, Any]] = {f"source {host}": {"state": "ok"}
                                        for host in source_hosts(settings)}
    for name, fact in source_health(settings, get_state).items():
        facts[name] = dict(fact)
        if fact["state"] == "blocked":
            facts[name]["problem"] = f"{name.removeprefix('source ')} blocked since {fact['at']}"
    return facts


def source_health(settings: PipelineSettings, get_state: GetState) -> dict[str, dict[str, Any]]:
    """One fact per source that has refused us: blocked now (since when, until when), or the
    last block it recovered from."""
    facts = {}
    for host in source_hosts(settings):
        state = _mapping(get_state(HEALTH_PREFIX + host))
        last = _mapping(state.get("last_block"))
        if state.get("blocked_since"):
            facts[f"source {host}"] = {"at": state["blocked_since"], "state": "blocked",
                                       "until": state.get("blocked_until")}
        elif last:
            facts[f"source {host}"] = {"at": last.get("until"), "state": "ok",
                                       "last_blocked_s": last.get("blocked_s")}
    return facts


def last_ingest(get_state: GetState, enabled: bool = True) -> dict[str, Any]:
    """The last success ("at", and up to when), the last attempt and error, failures in a row."""
    state = _mapping(get_state(INGEST_KEY))
    health = _mapping(get_state(INGEST_HEALTH_KEY))
    failures = int(health.get("consecutive_failures") or 0)
    fact = {"at": state.get("updated_at"), "up_to": state.get("last_end"),
            "window": state.get("window"), "last_attempt_at": health.get("last_attempt_at"),
            "consecutive_failures": failures,
            "last_error": health.get("last_error") if failures else None,
            "enabled": None if enabled else False}  # shown only when switched off
    if failures and enabled:
        fact["problem"] = (f"ingest failing: {failures} attempt(s) in a row since the last "
                           f"success, last error: {health.get('last_error')}")
    return fact


def last_window(rollover: Mapping[str, Any], get_state: GetState) -> dict[str, Any]:
    latest = _mapping(rollover.get("last_window"))
    name = latest.get("window")
    window = _mapping(get_state(WINDOW_PREFIX + name)) if isinstance(name, str) else {}
    fact = {"at": window.get("closing_at"), "window": name, "state": latest.get("state"),
            "alerts": len(window["alerts"]) if isinstance(window.get("alerts"), list) else None}
    if window.get("state") == SENDING:  # written to outbox/, not accepted by the server yet
        fact["problem"] = (f"email of window {name} not delivered after "
                           f"{window.get('attempts', 0)} attempt(s): {window.get('last_error')}")
    return fact


def last_email(rollover: Mapping[str, Any]) -> dict[str, Any]:
    email = _mapping(rollover.get("last_email"))
    return {"at": email.get("sent_at"), "window": email.get("window"),
            "transport": email.get("transport")}


def company_map(root: Path, settings: CompanyMapSettings | None = None) -> dict[str, Any]:
    """Its age against `max_age_h`; stale is a problem only when a source could refresh it
    (offline, the bundled snapshot is all there is, and saying so at every status helps
    nobody)."""
    cached_map, cached_meta = cache_paths(root)
    origin, meta_path = ("cache", cached_meta) if cached_map.is_file() else \
        ("bundled", bundled_paths()[1])
    meta = read_json_object(meta_path)
    generated = generated_at_of(meta)
    fact: dict[str, Any] = {"at": generated.isoformat() if generated else None,
                            "origin": origin, "rows": meta.get("row_count")}
    if settings is None:
        return fact
    age_h = (datetime.now(UTC) - generated).total_seconds() / 3600 if generated else None
    stale = age_h is None or age_h > settings.max_age_h
    fact.update(limit_h=settings.max_age_h, stale=stale)
    if stale and settings.source_configured:
        age = "of unknown age" if age_h is None else f"{age_h:.0f} h old"
        fact["problem"] = f"company map stale: {age}, limit {settings.max_age_h:g} h"
    elif stale:
        fact["note"] = "no source configured to refresh it"
    return fact


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


# An alert file that cannot be bucketized must not raise another alert about itself.
SILENT_STAGES = frozenset({"bucketize"})


def report_failure(ctx: PipelineContext, failure: Failure) -> None:
    if failure.stage in SILENT_STAGES:
        return
    details: dict[str, Any] = {
        "error_type": failure.error_type,
        "attempts": failure.attempts,
        "quarantine_path": failure.quarantine_path,
        "sha256": failure.sha256,
        **failure.details,
    }
    doc = failure.details.get("doc") or {"filename": failure.source_path.rsplit("/", 1)[-1]}
    details.pop("doc", None)
    announcement = details.pop("announcement", None)
    alert = build_alert(
        code=failure.code, timestamp=ctx.now().isoformat(), message=failure.message,
        doc=doc, announcement=announcement, details=details,
    )
    write_alert(ctx.root, alert, durable=ctx.durable)
