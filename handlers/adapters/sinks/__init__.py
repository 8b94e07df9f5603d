"""Where filings are stored: one small interface, three backends, chosen by settings.

`open_sink(settings, root)` opens the backend that `[sink] kind` (or `SINK=sqlite|supabase|
postgres`) names; the context opens it on first use as `ctx.sink` and closes it with itself.
"""

from __future__ import annotations

from pathlib import Path

from handlers.adapters.sinks.base import Sink, SinkRefused
from handlers.settings import SinkSettings

__all__ = ["Sink", "SinkRefused", "open_sink"]


def open_sink(settings: SinkSettings, root: Path) -> Sink:
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
    return SqliteSink(path if path.is_absolute() else root / path, settings.table)
