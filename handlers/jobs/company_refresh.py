"""Keeping the company map fresh: get, refresh, reset, status, and the freshness timer job.

`refresh` rebuilds the cache from the source (the Supabase table, or an operator's external
script with the same subcommands when `COMPANY_MAP_SCRIPT` is set). `get` rebuilds only when the
source's row count differs from the cache's. With no source reachable the pipeline keeps working
from the cache, or from the bundled snapshot copied into place, and every attempt is recorded
in the ledger so `status` can say the map is running offline. The timer job refreshes a map
older than `max_age_h`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from datetime import datetime
from typing import Any

from daemon.files import copy_atomic
from daemon.logs import get_logger
from daemon.stages import TimerJob
from handlers.adapters import company_map as cmap
from handlers.adapters.company_source import SourceUnavailable, count_rows, fetch_rows
from handlers.context import PipelineContext
from handlers.settings import PipelineSettings

ATTEMPT_KEY = "company_map.last_attempt"
SCRIPT_TIMEOUT_S = 300
log = get_logger()


def refresh(ctx: PipelineContext, now: datetime, subcommand: str = "refresh") -> cmap.LoadedMap:
    """Rebuild from the source; raises SourceUnavailable and leaves the cache as it was."""
    try:
        loaded = _rebuild(ctx, now, subcommand)
    except SourceUnavailable as error:
        _record(ctx, now, ok=False, error=str(error))
        log.warning("company_map.refresh_failed", error=str(error))
        raise
    ctx.use_company_map(loaded)
    _record(ctx, now, ok=True, rows=len(loaded.rows))
    log.info("company_map.refreshed", rows=len(loaded.rows), checksum=loaded.meta["checksum"])
    return loaded


def get(ctx: PipelineContext, now: datetime) -> tuple[cmap.LoadedMap, str]:
    """The map, rebuilt only when the source's row count changed: (map, how it was obtained)."""
    settings = ctx.config.company_map
    loaded = ctx.company_map
    try:
        if settings.script:
            return refresh(ctx, now, "get"), "script"
        if loaded.origin == "cache" and count_rows(settings) == loaded.meta.get("row_count"):
            return loaded, "cache"
        return refresh(ctx, now), "refreshed"
    except SourceUnavailable as error:
        _record(ctx, now, ok=False, error=str(error))
        if not settings.allow_offline:
            raise
        return ensure_local(ctx), "offline"


def reset(ctx: PipelineContext, now: datetime) -> tuple[cmap.LoadedMap, str]:
    """Remove the cache and its meta, then rebuild from the source or the bundled snapshot."""
    for path in cmap.cache_paths(ctx.root):
        path.unlink(missing_ok=True)
    ctx.use_company_map(cmap.load_local(ctx.root))
    try:
        return refresh(ctx, now), "refreshed"
    except SourceUnavailable:
        return ensure_local(ctx), "bundled"


def ensure_local(ctx: PipelineContext) -> cmap.LoadedMap:
    """The cache, seeded from the bundled snapshot when there is none yet."""
    map_path, meta_path = cmap.cache_paths(ctx.root)
    if not map_path.is_file():
        bundled_map, bundled_meta = cmap.bundled_paths()
        copy_atomic(bundled_meta, meta_path, durable=ctx.durable)
        copy_atomic(bundled_map, map_path, durable=ctx.durable)
        log.warning("company_map.seeded_from_bundle", rows=len(cmap.load_local(ctx.root).rows))
    loaded = cmap.load_local(ctx.root)
    ctx.use_company_map(loaded)
    return loaded


def age_h(loaded: cmap.LoadedMap, now: datetime) -> float | None:
    generated = cmap.generated_at_of(loaded.meta)
    return None if generated is None else (now - generated).total_seconds() / 3600


def is_stale(loaded: cmap.LoadedMap, now: datetime, max_age_h: float) -> bool:
    """The original's rule: old, empty, or without a readable meta; the bundle is always stale."""
    age = age_h(loaded, now)
    return loaded.origin != "cache" or not loaded.rows or age is None or age >= max_age_h


def run_timer(ctx: PipelineContext, now: datetime) -> None:
    settings = ctx.config.company_map
    if not (settings.source_configured or settings.script):
        return  # nothing to refresh from; `status` reports the map's age
    if is_stale(ctx.company_map, now, settings.max_age_h):
        # A failure is logged and recorded; the pipeline keeps the map it has.
        with contextlib.suppress(SourceUnavailable):
            refresh(ctx, now)


def period_s(settings: PipelineSettings) -> float:
    return settings.company_map.check_period_s


def _rebuild(ctx: PipelineContext, now: datetime, subcommand: str) -> cmap.LoadedMap:
    settings = ctx.config.company_map
    if settings.script:
        return _run_script(ctx, now, subcommand)
    rows = fetch_rows(settings)
    if not rows:
        # An empty answer is far likelier a permissions problem than a delisted market.
        raise SourceUnavailable(f"the table {settings.table} returned no rows")
    meta = cmap.build_meta(rows, source=settings.table, table=settings.table, generated_at=now)
    return cmap.save_cache(ctx.root, rows, meta, durable=ctx.durable)


def _run_script(ctx: PipelineContext, now: datetime, subcommand: str) -> cmap.LoadedMap:
    """The operator's script writes the map to `COMPANY_MAP_FILE`; we add a meta if it didn't."""
    script = str(ctx.config.company_map.script)
    command = [sys.executable, script] if script.endswith(".py") else [script]
    map_path = cmap.cache_paths(ctx.root)[0]
    map_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "COMPANY_MAP_FILE": str(map_path)}
    try:
        done = subprocess.run([*command, subcommand], cwd=ctx.root, env=env, text=True,
                              timeout=SCRIPT_TIMEOUT_S, capture_output=True, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SourceUnavailable(f"the company map script failed to run: {error}") from error
    if done.returncode != 0 or not map_path.is_file():
        tail = (done.stderr or done.stdout).strip()[-300:]
        raise SourceUnavailable(f"the company map script exited {done.returncode}: {tail}")
    loaded = cmap.load_local(ctx.root)
    if loaded.meta.get("checksum") != cmap.checksum(loaded.rows):
        meta = cmap.build_meta(loaded.rows, source="script", table=ctx.config.company_map.table,
                               generated_at=now)
        loaded = cmap.save_cache(ctx.root, loaded.rows, meta, durable=ctx.durable)
    return loaded


def _record(ctx: PipelineContext, now: datetime, *, ok: bool, **details: Any) -> None:
    ctx.ledger.set_state(ATTEMPT_KEY, {"at": now.isoformat(), "ok": ok, **details})


COMPANY_MAP_JOB = TimerJob(name="company-map", period_s=period_s, run=run_timer)
