"""The App's hooks: how a quarantined file is reported, and the IDX facts of `idxd status`.

A file the engine quarantined becomes one alert in the common schema (`report_failure`).

The last ingest (when the exchange was last read, and up to which instant), the last window
the rollover closed and the last email it sent come from the ledger's key-value state, written
by `handlers/jobs/ingest_state.py` and `handlers/jobs/rollover.py`; the company map's age comes
from its meta file (the local cache, or the bundled snapshot before the first refresh); a
backfill's progress from its state (`handlers/jobs/backfill_state.py`). Each fact is a small
dict whose "at" is an ISO-8601 time or None; the engine adds the age.
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
from handlers.jobs.backfill_state import REQUEST_KEY as BACKFILL_REQUEST
from handlers.jobs.backfill_state import STATE_KEY as BACKFILL_KEY
from handlers.jobs.backfill_state import status_fact as backfill_fact
from handlers.jobs.ingest_state import STATE_KEY as INGEST_KEY
from handlers.jobs.rollover import STATE_PREFIX as WINDOW_PREFIX
from handlers.jobs.rollover import SUMMARY_KEY as ROLLOVER_KEY
from handlers.settings import PipelineSettings

GetState = Callable[[str], Any]


def status_extras(settings: Settings[PipelineSettings],
                  get_state: GetState) -> dict[str, dict[str, Any]]:
    rollover = _mapping(get_state(ROLLOVER_KEY))
    return {
        "last_ingest": last_ingest(get_state),
        "last_window": last_window(rollover, get_state),
        "last_email": last_email(rollover),
        "company_map": company_map(settings.engine.root),
        **source_health(settings.app, get_state),
        **backfill(get_state),
    }


def backfill(get_state: GetState) -> dict[str, dict[str, Any]]:
    """The backfill's progress, once one was asked for."""
    fact = backfill_fact(get_state(BACKFILL_KEY), get_state(BACKFILL_REQUEST), datetime.now(UTC))
    return {"backfill": fact} if fact else {}


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


def last_ingest(get_state: GetState) -> dict[str, Any]:
    state = _mapping(get_state(INGEST_KEY))
    return {"at": state.get("updated_at"), "up_to": state.get("last_end"),
            "window": state.get("window")}


def last_window(rollover: Mapping[str, Any], get_state: GetState) -> dict[str, Any]:
    latest = _mapping(rollover.get("last_window"))
    name = latest.get("window")
    window = _mapping(get_state(WINDOW_PREFIX + name)) if isinstance(name, str) else {}
    return {"at": window.get("closing_at"), "window": name, "state": latest.get("state"),
            "alerts": len(window["alerts"]) if isinstance(window.get("alerts"), list) else None}


def last_email(rollover: Mapping[str, Any]) -> dict[str, Any]:
    email = _mapping(rollover.get("last_email"))
    return {"at": email.get("sent_at"), "window": email.get("window"),
            "transport": email.get("transport")}


def company_map(root: Path) -> dict[str, Any]:
    cached_map, cached_meta = cache_paths(root)
    origin, meta_path = ("cache", cached_meta) if cached_map.is_file() else \
        ("bundled", bundled_paths()[1])
    meta = read_json_object(meta_path)
    generated = generated_at_of(meta)
    return {"at": generated.isoformat() if generated else None, "origin": origin,
            "rows": meta.get("row_count")}


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
