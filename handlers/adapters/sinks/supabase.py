"""The Supabase sink: `idx_filings` through PostgREST with the `supabase` client.

Inserts are `upsert(on_conflict="dedup_key", ignore_duplicates=True)`, i.e. PostgREST's
`Prefer: resolution=ignore-duplicates` ("on conflict do nothing"), returning only the keys of
the rows actually inserted. Reads are paginated (`Prefer: count=exact`, then `offset`/`limit`
until the count is reached), because PostgREST silently caps a response at its `max-rows`.
PostgREST has no transaction across requests, so a replacement is two requests in an order
that a replay repeats harmlessly: the history row first (an upsert ignoring a duplicate
`history_key`), then the PATCH (or DELETE) of the row still under the previous key. A kill
between them leaves the old version active with its history already written; the replay
writes no second history row and replaces it. The history table must exist: its SQL is
`handlers/sql/idx_filings_history.sql`.
The client's own retries are off (the engine retries the file); its timeout is the setting
`timeout_s`. A table from an earlier schema may lack the optional columns: PostgREST refuses a
payload naming one (PGRST204), so the sink leaves that column out from then on, logs the
`ALTER TABLE` its owner runs, and sends again (a restart sends it once the column exists).
A 5xx, a timeout or a lost connection is a `TransientError`; the key is never logged, nor
repeated from a server that echoes it in an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import httpx
from postgrest.exceptions import APIError
from postgrest.types import CountMethod, ReturnMethod
from supabase import Client, create_client
from supabase.lib.client_options import SyncClientOptions

from daemon.errors import TransientError
from daemon.logs import get_logger
from daemon.scrub import register, scrub
from handlers.adapters.sinks.base import (
    COLUMNS,
    DEFAULT_TABLE,
    HISTORY_COLUMNS,
    OPTIONAL_COLUMNS,
    Row,
    SinkRefused,
    alter_statement,
    chunks,
    exact_text,
    history_table,
    holder_pattern,
)
from handlers.adapters.sinks.base import price_rows_json as _price_rows

KEYS_PER_QUERY = 100  # keeps the `in.(...)` filter well inside URL limits
# PostgreSQL error classes that mean "try again later": connection, resources, shutdown,
# serialization; PostgREST's own PGRST000-003 are its connection-pool errors.
TRANSIENT_SQLSTATE_PREFIXES = ("08", "53", "57P", "40001", "40P01", "PGRST00")
# "Could not find the 'x' column of 't' in the schema cache" / "Column 'x' of relation 't' ..."
_UNKNOWN_COLUMN = re.compile(r"PGRST204 .*?(?:the '([^']+)' column|Column '([^']+)' of)")
log = get_logger()
T = TypeVar("T")


class SupabaseSink:
    name = "supabase"

    def __init__(self, url: str, key: str, table: str = DEFAULT_TABLE, timeout_s: float = 30.0,
                 page_size: int = 1000):
        self.table, self.page_size = table, page_size
        self.history_table = history_table(table)
        self._missing: set[str] = set()  # optional columns the table turned out not to have
        register([key])  # a server may echo the key back in an error: it is never repeated
        self._http = httpx.Client(timeout=httpx.Timeout(timeout_s))
        options = SyncClientOptions(httpx_client=self._http, postgrest_client_retry=False,
                                    auto_refresh_token=False, persist_session=False)
        self._client: Client = create_client(url, key, options=options)

    def insert(self, rows: Sequence[Row]) -> set[str]:
        return self._sent(lambda columns: self._insert(rows, columns))

    def _insert(self, rows: Sequence[Row], columns: Sequence[str]) -> set[str]:
        payload = [to_json(row, columns) for row in rows]
        query = self._client.table(self.table).upsert(
            payload, on_conflict="dedup_key", ignore_duplicates=True,
            returning=ReturnMethod.representation, default_to_null=False).select("dedup_key")
        response = _execute(query)
        return {item["dedup_key"] for item in response.data}

    def _sent(self, send: Callable[[Sequence[str]], T]) -> T:
        """`send` with the columns the table has. Each optional column it turns out to lack
        costs one refused request, once."""
        for _ in range(len(OPTIONAL_COLUMNS) + 1):
            try:
                return send([c for c in COLUMNS if c not in self._missing])
            except SinkRefused as refused:
                if not self._left_out(refused):
                    raise
        raise SinkRefused("supabase refused the rows: every optional column was left out")

    def _left_out(self, refused: SinkRefused) -> bool:
        """A refusal naming an optional column the table lacks (PostgREST's PGRST204): leave
        that column out from now on, say so once, and tell the caller to send again."""
        column = unknown_column(refused)
        if column not in OPTIONAL_COLUMNS or column in self._missing:
            return False
        self._missing.add(column)
        log.warning("sink.columns_missing", sink="supabase", table=self.table,
                    columns=[column], run=alter_statement(self.table, [column]))
        return True

    def related(self, symbol: str, holder: str, document_key: str) -> list[dict[str, Any]]:
        # The pattern is word characters and `*` only (no separator of `or=`): unquoted, so
        # PostgREST surely reads its `*` as the wildcard.
        holders = (f"and(symbol.eq.{_quoted(symbol)},"
                   f"holder_name.ilike.{holder_pattern(holder, '*')})")
        either = f"{holders},document_key.eq.{_quoted(document_key)}"
        return self._pages(self.table, lambda q: q.or_(either))

    def replace(self, previous_key: str, history: Row, row: Row | None) -> None:
        entry = {column: history.get(column) for column in HISTORY_COLUMNS}
        _execute(self._client.table(self.history_table).upsert(
            entry, on_conflict="history_key", ignore_duplicates=True,
            returning=ReturnMethod.minimal, default_to_null=False))
        self._sent(lambda columns: self._put(previous_key, row, columns))

    def _put(self, previous_key: str, row: Row | None, columns: Sequence[str]) -> None:
        table = self._client.table(self.table)
        query = table.delete() if row is None else table.update(to_json(row, columns))
        _execute(query.eq("dedup_key", previous_key))

    def history(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for part in chunks(list(keys), KEYS_PER_QUERY):
            found += self._pages(self.history_table,
                                 lambda q, p=part: q.in_("superseded_by", p))
        return found

    def rows(self) -> list[dict[str, Any]]:
        return list(self._pages(self.table, lambda q: q))

    def close(self) -> None:
        self._http.close()

    def _pages(self, table: str, narrow: Any) -> list[dict[str, Any]]:
        """Every matching row, one page at a time, ordered so pages do not overlap."""
        items: list[dict[str, Any]] = []
        while True:
            query = narrow(self._client.table(table).select("*", count=CountMethod.exact))
            page = _execute(query.order("id").range(len(items), len(items) + self.page_size - 1))
            items.extend(page.data)
            total = page.count if page.count is not None else len(items)
            if not page.data or len(items) >= total:
                return items


def _execute(query: Any) -> Any:
    try:
        return query.execute()
    except (httpx.TimeoutException, httpx.TransportError) as error:
        raise TransientError(f"supabase unreachable: {type(error).__name__}") from error
    except APIError as error:
        code = str(error.code or "")
        if (code[:1] == "5" and code.isdigit()) or code.startswith(TRANSIENT_SQLSTATE_PREFIXES):
            raise TransientError(scrub(f"supabase unavailable: {code} {error.message}")
                                 ) from error
        raise SinkRefused(scrub(f"supabase refused the rows: {code} {error.message}")) from error


def _quoted(value: str) -> str:
    """A value inside PostgREST's `or=(…)`: in double quotes, since `.` and `,` are its
    separators (`SRTG.JK`)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unknown_column(refused: SinkRefused) -> str | None:
    """The column a PGRST204 refusal names, in the wording of PostgREST 12 or later."""
    found = _UNKNOWN_COLUMN.search(str(refused))
    return (found.group(1) or found.group(2)) if found else None


def to_json(row: Row, columns: Sequence[str] = COLUMNS) -> dict[str, Any]:
    """A row as PostgREST takes it: numbers as exact text, price rows as JSON numbers."""
    data: dict[str, Any] = {}
    for column in columns:
        value = row.get(column)
        if column == "price_transaction":
            value = _price_rows(value or [])
        elif column == "tags":
            value = list(value or [])
        data[column] = exact_text(value)
    return data
