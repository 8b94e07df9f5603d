"""Where filings are stored: one small interface, three backends, chosen by settings.

`sink_for(ctx)` returns the context's shared sink, opened on first use from
`ctx.config.filings.sink` (`SINK=sqlite|supabase|postgres`, or `[sink] kind`) and closed with
the context. Tests put a ready sink in place with `ctx.provide("sink", ...)`.
"""

from __future__ import annotations

from typing import Any

from handlers.adapters.sinks.base import Sink, SinkRefused
from handlers.settings import SinkSettings

RESOURCE = "sink"

__all__ = ["RESOURCE", "Sink", "SinkRefused", "open_sink", "sink_for"]


def sink_for(ctx: Any) -> Sink:
    sink: Sink = ctx.resource(RESOURCE, open_sink, close_sink)
    return sink


def open_sink(ctx: Any) -> Sink:
    settings: SinkSettings = ctx.config.filings.sink
    if settings.kind == "supabase":
        from handlers.adapters.sinks.supabase import SupabaseSink

        assert settings.supabase_url and settings.supabase_key  # checked when settings load
        return SupabaseSink(settings.supabase_url, settings.supabase_key, settings.table,
                            settings.timeout_s, settings.page_size)
    if settings.kind == "postgres":
        from handlers.adapters.sinks.postgres import PostgresSink

        assert settings.database_url
        return PostgresSink(settings.database_url, settings.table, settings.timeout_s)
    from handlers.adapters.sinks.sqlite import SqliteSink

    path = settings.sqlite_path
    return SqliteSink(path if path.is_absolute() else ctx.root / path, settings.table)


def close_sink(sink: Sink) -> None:
    sink.close()
