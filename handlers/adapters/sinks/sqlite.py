"""The embedded default sink: `idx_filings` in a SQLite file under the root.

The sink applies its own schema (`handlers/sql/idx_filings.sqlite.sql`) on open. One
connection is shared by the stage's workers behind a lock; a busy or locked database is a
`TransientError`, so the file waits instead of failing.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from daemon.errors import TransientError
from handlers.adapters.sinks.base import (
    COLUMNS,
    DEFAULT_TABLE,
    Row,
    SinkRefused,
    chunks,
    exact_text,
    price_rows_json,
    schema_sql,
)

BUSY_TIMEOUT_S = 5.0
KEYS_PER_QUERY = 500  # below SQLite's host-parameter limit


class SqliteSink:
    name = "sqlite"

    def __init__(self, path: Path, table: str = DEFAULT_TABLE,
                 busy_timeout_s: float = BUSY_TIMEOUT_S):
        self.path, self.table = path, table
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, timeout=busy_timeout_s, check_same_thread=False,
                                     isolation_level=None)
        with self._guard():
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(schema_sql("sqlite", table))
        columns = ", ".join(f'"{c}"' for c in COLUMNS)
        marks = ", ".join("?" for _ in COLUMNS)
        self._insert_sql = (f"INSERT INTO {table} ({columns}) VALUES ({marks}) "
                            "ON CONFLICT(dedup_key) DO NOTHING RETURNING dedup_key")

    def insert(self, rows: Sequence[Row]) -> set[str]:
        inserted: set[str] = set()
        with self._guard():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for row in rows:
                    found = self._conn.execute(self._insert_sql, to_params(row)).fetchone()
                    if found:
                        inserted.add(found[0])
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return inserted

    def sources(self, keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self._guard():
            for part in chunks(list(keys), KEYS_PER_QUERY):
                marks = ", ".join("?" for _ in part)
                query = f"SELECT dedup_key, source FROM {self.table} WHERE dedup_key IN ({marks})"
                found.update(dict(self._conn.execute(query, tuple(part)).fetchall()))
        return found

    def rows(self) -> list[dict[str, Any]]:
        with self._guard():
            cursor = self._conn.execute(f"SELECT * FROM {self.table} ORDER BY id")
            names = [d[0] for d in cursor.description]
            return [from_stored(dict(zip(names, values, strict=True))) for values in cursor]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _guard(self) -> _Guard:
        return _Guard(self._lock)


class _Guard:
    """Holds the lock and turns SQLite's errors into the stage's two kinds of failure."""

    def __init__(self, lock: threading.Lock):
        self.lock = lock

    def __enter__(self) -> None:
        self.lock.acquire()

    def __exit__(self, kind: Any, error: BaseException | None, _tb: Any) -> None:
        self.lock.release()
        if isinstance(error, sqlite3.OperationalError):
            raise TransientError(f"sqlite sink unavailable: {error}") from error
        if isinstance(error, sqlite3.DatabaseError):
            raise SinkRefused(f"sqlite sink refused the rows: {error}") from error


def to_params(row: Row) -> tuple[Any, ...]:
    values = []
    for column in COLUMNS:
        value = row.get(column)
        if column == "price_transaction":
            value = json.dumps(price_rows_json(value or []))
        elif column == "tags":
            value = json.dumps(list(value or []))
        elif column == "source_is_manual":
            value = int(bool(value))
        values.append(exact_text(value))
    return tuple(values)


def from_stored(row: dict[str, Any]) -> dict[str, Any]:
    for column in ("tags", "price_transaction", "idx_investor_slug",
                   "idx_conglomerates_group_slug"):
        if isinstance(row.get(column), str):
            row[column] = json.loads(row[column])
    return row
