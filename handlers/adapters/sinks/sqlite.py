"""The embedded default sink: `idx_filings` in a SQLite file under the root.

The sink applies its own schema (`handlers/sql/idx_filings.sqlite.sql`, and
`idx_filings_history.sqlite.sql` for the versions replaced) on open, adding `document_key` to a
file made before it existed, and gives a table from an earlier version the nullable columns
added since. A replacement writes the history row and the new version in one
transaction, so a kill between the two leaves the old version active and no history. One
connection is shared by the stage's workers behind a lock; a busy, locked or read-only database
is a `TransientError`, so the file waits instead of failing, and the connection that failed is
replaced by a fresh one at the next attempt.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from daemon.errors import TransientError
from daemon.logs import get_logger
from handlers.adapters.sinks.base import (
    COLUMNS,
    DEFAULT_TABLE,
    HISTORY_COLUMNS,
    Row,
    SinkRefused,
    chunks,
    describe,
    exact_text,
    history_table,
    holder_pattern,
    missing_columns,
    price_rows_json,
    schema_sql,
    usable_columns,
)

BUSY_TIMEOUT_S = 5.0
KEYS_PER_QUERY = 500  # below SQLite's host-parameter limit
log = get_logger()


class SqliteSink:
    name = "sqlite"

    def __init__(self, path: Path, table: str = DEFAULT_TABLE,
                 busy_timeout_s: float = BUSY_TIMEOUT_S):
        self.path, self.table, self._busy_timeout_s = path, table, busy_timeout_s
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._columns: tuple[str, ...] = COLUMNS  # what the table has, known once it is open
        self.history_table = history_table(table)
        self._history_sql = (
            f"INSERT INTO {self.history_table} ({', '.join(HISTORY_COLUMNS)}) VALUES "
            f"({', '.join('?' for _ in HISTORY_COLUMNS)}) ON CONFLICT(history_key) DO NOTHING")
        with self._session():  # open now: a file that cannot be used is seen at start
            pass

    def insert(self, rows: Sequence[Row]) -> set[str]:
        inserted: set[str] = set()
        with self._session() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                insert = insert_sql(self.table, self._columns)
                for row in rows:
                    found = conn.execute(insert, to_params(row, self._columns)).fetchone()
                    if found:
                        inserted.add(found[0])
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite may have rolled back already
                    conn.execute("ROLLBACK")
                raise
        return inserted

    def related(self, symbol: str, holder: str, document_key: str) -> list[dict[str, Any]]:
        query = (f"SELECT * FROM {self.table} WHERE (symbol = ? AND holder_name LIKE ?) "
                 "OR document_key = ? ORDER BY id")  # LIKE ignores ASCII case in SQLite
        return self._select(query, (symbol, holder_pattern(holder), document_key))

    def replace(self, previous_key: str, history: Row, row: Row | None) -> None:
        with self._session() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(self._history_sql, history_params(history))
                self._put(conn, previous_key, row)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _put(self, conn: sqlite3.Connection, previous_key: str, row: Row | None) -> None:
        if row is None:
            conn.execute(f"DELETE FROM {self.table} WHERE dedup_key = ?", (previous_key,))
        else:
            conn.execute(update_sql(self.table, self._columns),
                         (*to_params(row, self._columns), previous_key))

    def history(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for part in chunks(list(keys), KEYS_PER_QUERY):
            marks = ", ".join("?" for _ in part)
            found += self._select(f"SELECT * FROM {self.history_table} WHERE superseded_by "
                                  f"IN ({marks}) ORDER BY id", tuple(part))
        return found

    def rows(self) -> list[dict[str, Any]]:
        return self._select(f"SELECT * FROM {self.table} ORDER BY id", ())

    def _select(self, query: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        with self._session() as conn:
            cursor = conn.execute(query, params)
            names = [d[0] for d in cursor.description]
            return [from_stored(dict(zip(names, values, strict=True))) for values in cursor]

    def close(self) -> None:
        with self._lock:
            self._drop()

    @contextmanager
    def _session(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock, with SQLite's errors turned into the stage's two
        kinds of failure. A connection that failed is dropped and the next call opens a new
        one: SQLite opens a file it may not write read-only, and that connection would stay
        read-only after the file is made writable again."""
        with self._lock:
            try:
                yield self._connection()
            except (sqlite3.OperationalError, OSError) as error:
                self._drop()
                raise TransientError(f"sqlite sink unavailable: {describe(error)}") from error
            except sqlite3.DatabaseError as error:
                raise SinkRefused(f"sqlite sink refused the rows: {describe(error)}") from error

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout_s,
                                   check_same_thread=False, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                self._apply_schema(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _apply_schema(self, conn: sqlite3.Connection) -> None:
        conn.executescript(schema_sql("sqlite", self.table))
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({self.table})")}
        if "document_key" not in columns:  # a file made before documents were told apart
            conn.execute(f"ALTER TABLE {self.table} ADD COLUMN document_key TEXT")
        conn.execute(f"CREATE INDEX IF NOT EXISTS {self.table}_document_key "
                     f"ON {self.table} (document_key)")
        self._columns = usable_columns(add_missing_columns(conn, self.table))
        conn.executescript(schema_sql("sqlite", self.table, "idx_filings_history"))

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def insert_sql(table: str, columns: Sequence[str]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    return (f"INSERT INTO {table} ({names}) VALUES ({marks}) "
            "ON CONFLICT(dedup_key) DO NOTHING RETURNING dedup_key")


def update_sql(table: str, columns: Sequence[str]) -> str:
    pairs = ", ".join(f'"{c}" = ?' for c in columns)
    return f"UPDATE {table} SET {pairs} WHERE dedup_key = ?"


def add_missing_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    """Give a table from an earlier schema the nullable columns added since, declared as the
    shipped schema declares them; returns the table's columns afterwards. The file is the
    daemon's own, so nobody else is expected to run this `ALTER TABLE`."""
    present = _columns_of(conn, table)
    missing = missing_columns(present)
    if missing:
        declared = _shipped_declarations(table)
        for column in missing:
            conn.execute(f'ALTER TABLE {table} ADD COLUMN "{column}" {declared[column]}')
        log.info("sink.columns_added", sink="sqlite", table=table, columns=list(missing))
    return _columns_of(conn, table)


def _columns_of(conn: sqlite3.Connection, table: str) -> set[str]:
    return {info[1] for info in conn.execute(f"PRAGMA table_info({table})")}


def _shipped_declarations(table: str) -> dict[str, str]:
    """Column -> declared type, read from the shipped schema applied to an empty database."""
    scratch = sqlite3.connect(":memory:")
    try:
        scratch.executescript(schema_sql("sqlite", table))
        return {info[1]: info[2] for info in scratch.execute(f"PRAGMA table_info({table})")}
    finally:
        scratch.close()


def to_params(row: Row, columns: Sequence[str] = COLUMNS) -> tuple[Any, ...]:
    values = []
    for column in columns:
        value = row.get(column)
        if column == "price_transaction":
            value = json.dumps(price_rows_json(value or []))
        elif column == "tags":
            value = json.dumps(list(value or []))
        elif column == "source_is_manual":
            value = int(bool(value))
        values.append(exact_text(value))
    return tuple(values)


def history_params(history: Row) -> tuple[Any, ...]:
    return tuple(json.dumps(history[c], sort_keys=True) if c in ("changes", "previous")
                 else history.get(c) for c in HISTORY_COLUMNS)


def from_stored(row: dict[str, Any]) -> dict[str, Any]:
    for column in ("tags", "price_transaction", "idx_investor_slug",
                   "idx_conglomerates_group_slug", "changes", "previous"):
        if isinstance(row.get(column), str):
            row[column] = json.loads(row[column])
    if isinstance(row.get("controlling_shareholder"), int):
        row["controlling_shareholder"] = bool(row["controlling_shareholder"])
    return row
