"""The PostgreSQL sink: `idx_filings` written directly with psycopg (Supabase is PostgreSQL too).

The shipped schema (the filings table and its `_history` table) is applied on first connection
when one of its indexes or columns is missing, under an advisory lock so two daemons starting
together do not race. Inserts use `ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key`, so
concurrent writers of the same filing leave one row. A replacement writes the history row (`ON
CONFLICT (history_key) DO NOTHING`) and the new version in one transaction. A lost or refused
connection is a `TransientError`; the next call reconnects. Errors are reported as their class
and message, with nothing of the DSN in them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from daemon.errors import TransientError
from daemon.logs import get_logger
from daemon.scrub import register, secrets_in_url
from handlers.adapters.sinks.base import (
    COLUMNS,
    DEFAULT_TABLE,
    HISTORY_COLUMNS,
    Row,
    SinkRefused,
    alter_statement,
    chunks,
    describe,
    history_table,
    holder_pattern,
    missing_columns,
    price_rows_json,
    schema_sql,
    usable_columns,
)

CONNECT_TIMEOUT_S = 10
KEYS_PER_QUERY = 1000
SCHEMA_LOCK_ID = 0x1D4D  # advisory lock key for applying the schema
log = get_logger()


class PostgresSink:
    name = "postgres"

    def __init__(self, dsn: str, table: str = DEFAULT_TABLE, timeout_s: float = 30.0):
        self._dsn, self.table, self._timeout_s = dsn, table, timeout_s
        register(secrets_in_url(dsn))  # libpq may quote the DSN's password in an error
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._columns: tuple[str, ...] = COLUMNS  # what the table has, known once connected
        self.history_table = history_table(table)
        self._history = sql.SQL(
            "INSERT INTO {table} ({columns}) VALUES ({values}) "
            "ON CONFLICT (history_key) DO NOTHING").format(
            table=sql.Identifier(self.history_table),
            columns=sql.SQL(", ").join(map(sql.Identifier, HISTORY_COLUMNS)),
            values=sql.SQL(", ").join(sql.Placeholder() * len(HISTORY_COLUMNS)))

    def insert(self, rows: Sequence[Row]) -> set[str]:
        inserted: set[str] = set()
        with self._session() as conn:
            insert = insert_sql(self.table, self._columns)
            for row in rows:
                found = conn.execute(insert, to_params(row, self._columns)).fetchone()
                if found:
                    inserted.add(found[0])
        return inserted

    def related(self, symbol: str, holder: str, document_key: str) -> list[dict[str, Any]]:
        query = sql.SQL("SELECT * FROM {} WHERE (symbol = %s AND holder_name ILIKE %s) "
                        "OR document_key = %s ORDER BY id").format(sql.Identifier(self.table))
        return self._select(query, (symbol, holder_pattern(holder), document_key))

    def replace(self, previous_key: str, history: Row, row: Row | None) -> None:
        with self._session() as conn:  # one transaction: committed whole or not at all
            conn.execute(self._history, history_params(history))
            self._put(conn, previous_key, row)

    def _put(self, conn: psycopg.Connection[Any], previous_key: str, row: Row | None) -> None:
        if row is None:
            conn.execute(sql.SQL("DELETE FROM {} WHERE dedup_key = %s").format(
                sql.Identifier(self.table)), (previous_key,))
        else:
            conn.execute(update_sql(self.table, self._columns),
                         (*to_params(row, self._columns), previous_key))

    def history(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        query = sql.SQL("SELECT * FROM {} WHERE superseded_by = ANY(%s) ORDER BY id").format(
            sql.Identifier(self.history_table))
        found: list[dict[str, Any]] = []
        for part in chunks(list(keys), KEYS_PER_QUERY):
            found += self._select(query, (list(part),))
        return found

    def rows(self) -> list[dict[str, Any]]:
        return self._select(sql.SQL("SELECT * FROM {} ORDER BY id").format(
            sql.Identifier(self.table)), ())

    def _select(self, query: sql.Composed, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        with self._session() as conn, conn.cursor() as cursor:
            cursor.execute(query, params)
            names = [d.name for d in cursor.description or ()]
            return [dict(zip(names, values, strict=True)) for values in cursor]

    def close(self) -> None:
        with self._lock:
            self._drop_connection()

    @contextmanager
    def _session(self) -> Iterator[psycopg.Connection[Any]]:
        """One transaction under the lock, psycopg's errors mapped to the stage's kinds. A
        connection that failed (the server went away, a broken socket) is dropped, and the next
        call connects again."""
        with self._lock:
            try:
                conn = self._connection()
            except psycopg.Error as error:
                self._drop_connection()
                raise TransientError(f"postgres sink unreachable: {self._describe(error)}"
                                     ) from error
            try:
                yield conn
                conn.commit()
            except BaseException as error:
                self._settle(conn)
                if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
                    raise TransientError(f"postgres sink unavailable: {self._describe(error)}"
                                         ) from error
                if isinstance(error, psycopg.Error):
                    raise SinkRefused(f"postgres refused the rows: {self._describe(error)}"
                                      ) from error
                raise

    def _settle(self, conn: psycopg.Connection[Any]) -> None:
        """After a failure: roll back, or drop a connection that cannot even do that."""
        try:
            if not (conn.closed or conn.broken):
                conn.rollback()
                return
        except psycopg.Error:
            pass
        self._drop_connection()

    def _describe(self, error: BaseException) -> str:
        return describe(error, self._dsn)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            timeout_ms = int(self._timeout_s * 1000)
            conn = psycopg.connect(self._dsn, connect_timeout=CONNECT_TIMEOUT_S,
                                   options=f"-c statement_timeout={timeout_ms}")
            try:
                self._ensure_schema(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _ensure_schema(self, conn: psycopg.Connection[Any]) -> None:
        """Apply the shipped schema when an index or a column is missing. A table this role
        may not alter keeps working without the optional columns, said once in the log with
        the statement its owner runs."""
        indexes = [f"{self.table}_dedup_key", f"{self.table}_document_key",
                   f"{self.history_table}_key"]
        found = conn.execute("SELECT bool_and(to_regclass(name) IS NOT NULL) FROM "
                             "unnest(%s::text[]) AS name", (indexes,)).fetchone()
        present = self._columns_of(conn)
        if not (found and found[0]) or missing_columns(present):
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_ID,))
            try:
                conn.execute(schema_sql("postgres", self.table).encode())
                conn.execute(schema_sql("postgres", self.table, "idx_filings_history").encode())
            except psycopg.errors.InsufficientPrivilege:
                if not present:
                    raise  # no table at all: nothing to write into
                conn.rollback()
            present = self._columns_of(conn)
        conn.commit()
        self._require_identity(conn, present)
        self._columns = usable_columns(present)
        if missing := missing_columns(present):
            log.warning("sink.columns_missing", sink="postgres", table=self.table,
                        columns=list(missing), run=alter_statement(self.table, missing))

    def _require_identity(self, conn: psycopg.Connection[Any], present: set[str]) -> None:
        """Without `document_key` and the history table no new version can be told from a
        new filing: the files wait (a TransientError) until the table's owner adds them."""
        history = conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                               (self.history_table,)).fetchone()
        lacking = [name for name, there in (("column document_key", "document_key" in present),
                                            (f"table {self.history_table}",
                                             bool(history and history[0]))) if not there]
        if lacking:
            raise TransientError(
                f"postgres sink: {self.table} lacks {' and '.join(lacking)}, and this role may "
                "not add them; the table's owner applies the shipped SQL (idx_filings.sql and "
                "idx_filings_history.sql), then the waiting files are stored")

    def _columns_of(self, conn: psycopg.Connection[Any]) -> set[str]:
        rows = conn.execute("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) "
                            "AND attnum > 0 AND NOT attisdropped", (self.table,)).fetchall()
        return {row[0] for row in rows}

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def insert_sql(table: str, columns: Sequence[str]) -> sql.Composed:
    return sql.SQL(
        "INSERT INTO {table} ({columns}) VALUES ({values}) "
        "ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key").format(
        table=sql.Identifier(table), columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        values=sql.SQL(", ").join(sql.Placeholder() * len(columns)))


def update_sql(table: str, columns: Sequence[str]) -> sql.Composed:
    pairs = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in columns)
    return sql.SQL("UPDATE {table} SET {pairs} WHERE dedup_key = %s").format(
        table=sql.Identifier(table), pairs=pairs)


def history_params(history: Row) -> tuple[Any, ...]:
    return tuple(Jsonb(history[c]) if c in ("changes", "previous") else history.get(c)
                 for c in HISTORY_COLUMNS)


def to_params(row: Row, columns: Sequence[str] = COLUMNS) -> tuple[Any, ...]:
    values: list[Any] = []
    for column in columns:
        value = row.get(column)
        if column == "price_transaction":
            value = Jsonb(price_rows_json(value or []))
        elif column == "tags":
            value = list(value or [])
        elif column == "timestamp":
            value = datetime.fromisoformat(value) if value else None
        values.append(value)
    return tuple(values)
