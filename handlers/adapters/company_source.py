"""Where company-map rows come from: the Supabase table `idx_company_report`, read in pages.

Rows are read through the supabase client with the original's columns, ordered by symbol, a page
at a time (PostgREST silently caps an unpaginated select), and keyed `SYM.JK`. A failure of any
kind is one `SourceUnavailable`, so the caller can fall back to the cache or the bundled
snapshot. The client's own retries are off: the refresh job runs again at its next tick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from daemon.logs import get_logger
from handlers.adapters.company_map import FIELDS, CompanyMap
from handlers.settings import CompanyMapSettings

COLUMNS = "symbol," + ",".join(FIELDS)
log = get_logger()


class SourceUnavailable(Exception):
    """The source could not be read (not configured, unreachable, or an error answer)."""


def fetch_rows(settings: CompanyMapSettings) -> CompanyMap:
    """Every row of the table, keyed `SYM.JK`."""
    try:
        with _table(settings) as table:
            return _read_pages(table, settings.page_size)
    except SourceUnavailable:
        raise
    except Exception as error:  # the client raises APIError, httpx errors, JSON errors, …
        raise SourceUnavailable(_describe(error)) from error


def _read_pages(table: Callable[[], Any], page_size: int) -> CompanyMap:
    rows: CompanyMap = {}
    offset = 0
    while True:
        page = (table().select(COLUMNS).order("symbol")
                .range(offset, offset + page_size - 1).execute().data)
        rows.update(_keyed(row) for row in page if row.get("symbol"))
        if len(page) < page_size:
            return rows
        offset += page_size


def count_rows(settings: CompanyMapSettings) -> int:
    """The table's row count (`Prefer: count=exact`, one row asked for)."""
    try:
        with _table(settings) as table:
            response = table().select("symbol", count="exact").range(0, 0).execute()
    except SourceUnavailable:
        raise
    except Exception as error:
        raise SourceUnavailable(_describe(error)) from error
    if response.count is None:
        raise SourceUnavailable("the source did not report a row count")
    return int(response.count)


@contextmanager
def _table(settings: CompanyMapSettings) -> Iterator[Callable[[], Any]]:
    """A maker of fresh request builders for the table, on an HTTP client closed afterwards."""
    if not settings.source_configured:
        raise SourceUnavailable("SUPABASE_URL and SUPABASE_KEY are not both set")
    from supabase import ClientOptions, create_client

    with httpx.Client(timeout=settings.timeout_s) as http:
        options = ClientOptions(schema=settings.schema, postgrest_client_retry=False,
                                httpx_client=http)
        client = create_client(str(settings.supabase_url), str(settings.supabase_key), options)
        yield lambda: client.table(settings.table)


def _keyed(row: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    symbol = str(row["symbol"]).strip().upper()
    key = symbol if symbol.endswith(".JK") else f"{symbol}.JK"
    return key, {name: row.get(name) for name in FIELDS}


def _describe(error: Exception) -> str:
    # Error texts may quote the request URL but never the key, which travels in headers.
    return f"{type(error).__name__}: {error}"[:300]
