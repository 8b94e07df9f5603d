"""The ledger's database: the states a row can be in, its schema (and the columns added since
the first release), and how a connection is opened, for writing (WAL) or for reading only
without creating anything.
"""

from __future__ import annotations

import sqlite3
from enum import StrEnum
from pathlib import Path


class FileState(StrEnum):
    """A ledger row's state; the values are what the database stores."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    QUARANTINED = "quarantined"
    SUPERSEDED = "superseded"  # pending content the file no longer has


FINAL_STATES = (FileState.DONE, FileState.QUARANTINED)


SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    stage TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    mtime_ns INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    crashes INTEGER NOT NULL DEFAULT 0,
    suspect INTEGER NOT NULL DEFAULT 0,
    progressed INTEGER NOT NULL DEFAULT 0,
    error_code TEXT,
    last_error TEXT,
    first_seen_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    duration_ms REAL,
    outputs TEXT NOT NULL DEFAULT '[]',
    quarantine_path TEXT,
    UNIQUE (stage, path, sha256)
);
CREATE INDEX IF NOT EXISTS files_by_state ON files (state, stage);
CREATE INDEX IF NOT EXISTS files_by_path ON files (path);
CREATE TABLE IF NOT EXISTS lineage (
    parent_id INTEGER NOT NULL REFERENCES files (id),
    child_path TEXT NOT NULL,
    PRIMARY KEY (parent_id, child_path)
);
CREATE INDEX IF NOT EXISTS lineage_by_child ON lineage (child_path);
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at REAL NOT NULL
);
"""


# Columns added after the first release, with their definitions, for ledgers made before.
ADDED_COLUMNS = {"crashes": "INTEGER NOT NULL DEFAULT 0",
                 "suspect": "INTEGER NOT NULL DEFAULT 0",
                 "progressed": "INTEGER NOT NULL DEFAULT 0"}


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    add_missing_columns(db)
    return db


def add_missing_columns(db: sqlite3.Connection) -> None:
    present = {row[1] for row in db.execute("PRAGMA table_info(files)")}
    for name, definition in ADDED_COLUMNS.items():
        if name not in present:
            db.execute(f"ALTER TABLE files ADD COLUMN {name} {definition}")


def connect_readonly(path: Path) -> sqlite3.Connection:
    # A WAL database has its -wal and -shm files while any connection is open. Without them
    # no writer is there, and even a `mode=ro` connection would create them: `immutable`
    # reads the file as it is. (A daemon starting meanwhile only appends to its new -wal.)
    wal = path.with_name(path.name + "-wal")
    flags = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    return sqlite3.connect(f"{path.absolute().as_uri()}?{flags}", uri=True,
                           check_same_thread=False, isolation_level=None, timeout=30)
