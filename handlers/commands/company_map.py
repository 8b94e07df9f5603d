"""`idxd company-map get|refresh|reset|status|print`: the original script's subcommands.

`get` rebuilds only when the source's row count changed (offline fallback allowed), `refresh`
forces a rebuild, `reset` removes the cache and rebuilds from the source or the bundled
snapshot, `status` prints the map's state as JSON (including whether it runs offline), and
`print` writes the map itself to standard output.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from daemon.cli_help import describe
from daemon.config import Settings
from daemon.errors import ExitCode
from daemon.stages import Command
from handlers.adapters import company_map as cmap
from handlers.adapters.company_source import SourceUnavailable
from handlers.context import PipelineContext, open_context
from handlers.jobs import company_refresh as refresher
from handlers.settings import CompanyMapSettings, PipelineSettings

SUBCOMMANDS = ("get", "refresh", "reset", "status", "print")


def configure(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Manage the company map cache: get (rebuild only when the source's row "
             "count changed), refresh (force a rebuild), reset (remove the cache and rebuild), "
             "status (its state as JSON), print (the map itself on stdout).",
             ["idxd company-map status", "idxd company-map print | jq length"],
             {ExitCode.OK: "done", ExitCode.FAILURE: "the source is unavailable (one "
              "sentence)", ExitCode.BAD_CONFIG: "bad arguments or configuration"})
    parser.add_argument("action", choices=SUBCOMMANDS, help="what to do with the company map")


def run(args: argparse.Namespace, settings: Settings[PipelineSettings]) -> int:
    ctx = open_context(settings)
    try:
        return ACTIONS[args.action](ctx)
    finally:
        ctx.close()


def do_get(ctx: PipelineContext) -> int:
    try:
        loaded, how = refresher.get(ctx, ctx.now())
    except SourceUnavailable as error:
        print(f"The company map source is unavailable and offline use is off: {error}")
        return ExitCode.FAILURE
    print(f"Company map ({how}). Rows: {len(loaded.rows)}")
    return ExitCode.OK


def do_refresh(ctx: PipelineContext) -> int:
    try:
        loaded = refresher.refresh(ctx, ctx.now())
    except SourceUnavailable as error:
        print(f"Not refreshed, the cache is unchanged: {error}")
        return ExitCode.FAILURE
    print(f"Refreshed. Rows: {len(loaded.rows)}")
    return ExitCode.OK


def do_reset(ctx: PipelineContext) -> int:
    loaded, how = refresher.reset(ctx, ctx.now())
    print(f"Reset from the {'source' if how == 'refreshed' else 'bundled snapshot'}. "
          f"Rows: {len(loaded.rows)}")
    return ExitCode.OK


def do_status(ctx: PipelineContext) -> int:
    print(json.dumps(status(ctx), indent=2))
    return ExitCode.OK


def do_print(ctx: PipelineContext) -> int:
    print(json.dumps(ctx.company_map.rows, indent=2, ensure_ascii=False))
    return ExitCode.OK


def status(ctx: PipelineContext) -> dict[str, Any]:
    settings = ctx.config.company_map
    loaded = ctx.company_map
    now = ctx.now()
    age = refresher.age_h(loaded, now)
    last = ctx.ledger.get_state(refresher.ATTEMPT_KEY)
    map_path, meta_path = cmap.cache_paths(ctx.root)
    return {
        "origin": loaded.origin,
        "local_rows": len(loaded.rows),
        "local_meta": loaded.meta,
        "checksum_ok": loaded.meta.get("checksum") == cmap.checksum(loaded.rows),
        "age_h": None if age is None else round(age, 2),
        "max_age_h": settings.max_age_h,
        "stale": refresher.is_stale(loaded, now, settings.max_age_h),
        "source": "script" if settings.script else "supabase",
        "report_table": settings.table,
        "env_present": {"SUPABASE_URL": bool(settings.supabase_url),
                        "SUPABASE_KEY": bool(settings.supabase_key),
                        "COMPANY_MAP_SCRIPT": bool(settings.script)},
        "offline": is_offline(settings, last),
        "last_attempt": last,
        "out_paths": {"map": str(map_path), "meta": str(meta_path)},
    }


def is_offline(settings: CompanyMapSettings, last_attempt: dict[str, Any] | None) -> bool:
    """No source to refresh from, or the last attempt to reach it failed."""
    if not (settings.source_configured or settings.script):
        return True
    return last_attempt is not None and not last_attempt.get("ok", False)


ACTIONS = {"get": do_get, "refresh": do_refresh, "reset": do_reset, "status": do_status,
           "print": do_print}

COMPANY_MAP_COMMAND = Command(
    name="company-map",
    help="get, refresh, reset, show the status of, or print the company map",
    configure=configure,
    run=run,
)
