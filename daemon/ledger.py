"""The ledger: what the daemon has done with every file, in SQLite (WAL) under `state/`.

One row per (stage, file path, content sha256) with its state, attempts, last error, timings
and the outputs it produced. A kernel event is only a hint; this table is the truth. A file is
processed when its row is not `done`. An attempt is recorded when a file is claimed, before its
handler starts, so a row found `running` at start is a file the process died on (what that
costs the file is `daemon.crashes`). A small key-value table keeps the application's own
durable state. The schema and connections are `daemon.ledger_db`.

A file that is not an SQLite database is refused with `LedgerUnusable` (one sentence, never a
raw traceback), and the ledger remembers which file it opened (device and inode), so a ledger
deleted or replaced under a running daemon can be told apart from the one it writes to.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.crashes import CrashAccounting
from daemon.group_commit import GroupCommit
from daemon.ledger_db import FINAL_STATES, FileState, connect, connect_readonly
from daemon.scrub import scrub, scrub_data

__all__ = ["FINAL_STATES", "Claim", "FileState", "Ledger", "LedgerUnusable"]

LEDGER_NAME = "state/ledger.sqlite3"
SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file


class LedgerUnusable(Exception):
    """The ledger cannot be used as it is; the message is one sentence naming the fix."""


@dataclass(frozen=True)
class Claim:
    row_id: int
    attempts: int  # attempts made before this one
    crashes: int = 0  # how many of those the process died in


class Ledger(CrashAccounting):
    def __init__(self, path: Path, *, readonly: bool = False):
        self.path = path
        try:
            self._db = connect_readonly(path) if readonly else connect(path)
            self._db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as error:
            raise LedgerUnusable(unreadable_sentence(path, error)) from None
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        # The file lifecycle's writes, many threads' in one transaction (`daemon.group_commit`).
        self._writes = GroupCommit(self._db, self._lock)
        self._progress_lock = threading.Lock()
        self._progressed: set[int] = set()  # running attempts that handed off an output
        self.identity = file_identity(path)  # the file this connection writes to

    def replaced(self) -> str | None:
        """What became of the opened file, if it is no longer the ledger at its path."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return "was deleted"
        if (info.st_dev, info.st_ino) != self.identity:
            return "was replaced by another file"
        return "was emptied" if info.st_size == 0 else None

    def has_files(self) -> bool:
        """Any file was ever recorded: a ledger without one has done nothing yet."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM files LIMIT 1").fetchone() is not None

    @classmethod
    def open(cls, root: Path) -> Ledger:
        return cls(root / LEDGER_NAME)

    @classmethod
    def open_readonly(cls, root: Path) -> Ledger | None:
        """The ledger for reading only, or None when there is none yet; nothing is written."""
        path = root / LEDGER_NAME
        return cls(path, readonly=True) if path.exists() else None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                # A COMMIT that failed (a full disk) may leave the transaction open, and every
                # later BEGIN would fail; SQLite may also have rolled it back already.
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise

    # --- the file lifecycle -------------------------------------------------------------

    def claim(self, stage: str, path: str, sha256: str, size: int, mtime_ns: int) -> Claim | None:
        """Mark (stage, path, sha256) running and record its first attempt, unless it already
        reached a final state. Content that comes back after it was superseded starts afresh."""
        now = time.time()
        return self._writes.run(lambda db: _claim(db, stage, path, sha256, size, mtime_ns, now))

    def count_attempt(self, row_id: int, error: str) -> None:
        """Record another attempt, before it starts, with the error that ended the last one."""
        self._writes.run(lambda db: db.execute(
            "UPDATE files SET attempts = attempts + 1, last_error = ? WHERE id = ?",
            (scrub(error), row_id)))

    def finish(self, row_id: int, outputs: list[str], duration_ms: float) -> None:
        self._ended(row_id)
        now = time.time()
        self._writes.run(lambda db: _finish(db, row_id, outputs, duration_ms, now))

    def finish_and_claim(self, row_id: int, outputs: list[str], duration_ms: float,
                         stage: str, path: str, sha256: str, size: int, mtime_ns: int
                         ) -> Claim | None:
        """`finish` of one file and `claim` of another, in one transaction."""
        self._ended(row_id)
        now = time.time()

        def write(db: sqlite3.Connection) -> Claim | None:
            _finish(db, row_id, outputs, duration_ms, now)
            return _claim(db, stage, path, sha256, size, mtime_ns, now)

        return self._writes.run(write)

    def fail(self, row_id: int, *, state: FileState, code: str, error: str, duration_ms: float,
             quarantine_path: str | None = None) -> None:
        self._ended(row_id)
        values = (state, code, scrub(error), time.time(), duration_ms, quarantine_path, row_id)
        self._writes.run(lambda db: db.execute(
            "UPDATE files SET state = ?, error_code = ?, last_error = ?, finished_at = ?, "
            "duration_ms = ?, quarantine_path = ? WHERE id = ?", values))

    def release(self, row_id: int) -> None:
        """Put a row back to `pending` (shutdown interrupted it)."""
        self._ended(row_id)
        self._writes.run(lambda db: db.execute("UPDATE files SET state = ? WHERE id = ?",
                                               (FileState.PENDING, row_id)))

    def release_path(self, stage: str, path: str) -> None:
        """Every `running` row of (stage, path) back to `pending`."""
        with self._transaction() as db:
            db.execute("UPDATE files SET state = ? WHERE stage = ? AND path = ? AND state = ?",
                       (FileState.PENDING, stage, path, FileState.RUNNING))

    def reopen(self, stage: str, path: str) -> int:
        """Let a replayed file be processed again: its failed or quarantined rows go pending."""
        with self._transaction() as db:
            return db.execute("UPDATE files SET state = ?, attempts = 0, crashes = 0, "
                              "suspect = 0, quarantine_path = NULL "
                              "WHERE stage = ? AND path = ? AND state IN (?, ?)",
                              (FileState.PENDING, stage, path, FileState.FAILED,
                               FileState.QUARANTINED)).rowcount

    # --- what sweeps need -------------------------------------------------------------

    def settled_signatures(self, stage: str) -> dict[str, tuple[int, int]]:
        """path -> (size, mtime_ns) of files whose latest content reached a final state."""
        with self._lock:
            rows = self._db.execute("SELECT path, size, mtime_ns FROM files "
                                    "WHERE stage = ? AND state IN (?, ?) ORDER BY id",
                                    (stage, *FINAL_STATES)).fetchall()
        return {row["path"]: (row["size"], row["mtime_ns"]) for row in rows}

    def has_finished(self, path: str, size: int, mtime_ns: int) -> bool:
        """The ledger is done with this content of `path` (done, failed or quarantined): its
        latest row with this signature is not waiting or running."""
        with self._lock:
            row = self._db.execute("SELECT state FROM files WHERE path = ? AND size = ? "
                                   "AND mtime_ns = ? ORDER BY id DESC LIMIT 1",
                                   (path, size, mtime_ns)).fetchone()
        return row is not None and row["state"] not in (FileState.PENDING, FileState.RUNNING)

    def recently_failed(self, stage: str, since: float) -> set[str]:
        with self._lock:
            rows = self._db.execute("SELECT path FROM files WHERE stage = ? AND state = ? "
                                    "AND finished_at >= ?",
                                    (stage, FileState.FAILED, since)).fetchall()
        return {row["path"] for row in rows}

    # --- reading ----------------------------------------------------------------------

    def counts(self) -> dict[str, dict[str, int]]:
        with self._lock:
            rows = self._db.execute("SELECT stage, state, COUNT(*) AS n FROM files "
                                    "GROUP BY stage, state").fetchall()
        result: dict[str, dict[str, int]] = {}
        for row in rows:
            result.setdefault(row["stage"], {})[row["state"]] = row["n"]
        return result

    def oldest_unfinished(self) -> float | None:
        """When the oldest file not yet done or failed was first seen (epoch seconds)."""
        with self._lock:
            row = self._db.execute("SELECT MIN(first_seen_at) FROM files WHERE state IN (?, ?)",
                                   (FileState.PENDING, FileState.RUNNING)).fetchone()
        return None if row[0] is None else float(row[0])

    def rows_for(self, path: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM files WHERE path = ? OR quarantine_path = ? "
                                    "ORDER BY id", (path, path)).fetchall()
        return [_row_dict(row) for row in rows]

    def finished_outputs(self, path: str) -> list[str]:
        """What the latest run of `path` that ended done handed on (by the path's index, so
        a look-up costs the same however long the ledger)."""
        with self._lock:
            row = self._db.execute("SELECT outputs FROM files WHERE path = ? AND state = ? "
                                   "ORDER BY id DESC LIMIT 1", (path, FileState.DONE)).fetchone()
        return list(json.loads(row["outputs"])) if row is not None else []

    def rows_in_state(self, state: FileState) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM files WHERE state = ? ORDER BY id",
                                    (state,)).fetchall()
        return [_row_dict(row) for row in rows]

    def finished_before(self, before: float) -> list[dict[str, Any]]:
        """Rows done or quarantined before `before` (epoch seconds), but for the newest row:
        a ledger left with no file would read as a lost one at the next start."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM files WHERE state IN (?, ?) AND finished_at < ? "
                "AND id < (SELECT MAX(id) FROM files) ORDER BY id",
                (*FINAL_STATES, before)).fetchall()
        return [_row_dict(row) for row in rows]

    def forget(self, row_ids: Sequence[int]) -> None:
        """Remove rows and the lineage they recorded (retention, for files gone from disk)."""
        with self._transaction() as db:
            for row_id in row_ids:
                db.execute("DELETE FROM lineage WHERE parent_id = ?", (row_id,))
                db.execute("DELETE FROM files WHERE id = ?", (row_id,))

    def parents_of(self, path: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT files.* FROM lineage JOIN files "
                                    "ON files.id = lineage.parent_id WHERE child_path = ?",
                                    (path,)).fetchall()
        return [_row_dict(row) for row in rows]

    # --- the application's durable state ----------------------------------------------

    def get_state(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row["value"])

    def set_state(self, key: str, value: Any) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                       "updated_at = excluded.updated_at",
                       (key, json.dumps(scrub_data(value)), time.time()))

    def states_with_prefix(self, prefix: str) -> dict[str, Any]:
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM kv WHERE key >= ? AND key < ?",
                                    (prefix, prefix + "\uffff")).fetchall()
        return {row["key"]: json.loads(row["value"]) for row in rows}


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`, or None when there is none."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_dev, info.st_ino


def unreadable_sentence(path: Path, error: Exception | str) -> str:
    return (f"the ledger {path} is not a usable SQLite database ({error}); run `idxd ledger "
            "check` to see what is wrong and `idxd ledger rebuild` to set it aside and rebuild "
            "it from the files on disk")


def _finish(db: sqlite3.Connection, row_id: int, outputs: list[str], duration_ms: float,
            now: float) -> None:
    db.execute("UPDATE files SET state = ?, finished_at = ?, duration_ms = ?, outputs = ?, "
               "error_code = NULL WHERE id = ?",
               (FileState.DONE, now, duration_ms, json.dumps(outputs), row_id))
    db.executemany("INSERT OR IGNORE INTO lineage (parent_id, child_path) VALUES (?, ?)",
                   [(row_id, output) for output in outputs])


def _claim(db: sqlite3.Connection, stage: str, path: str, sha256: str, size: int, mtime_ns: int,
           now: float) -> Claim | None:
    # This content's row, and any row of other content still pending: one query, as a new
    # path (the usual case) has neither.
    rows = db.execute("SELECT id, sha256, state, attempts, crashes FROM files "
                      "WHERE stage = ? AND path = ? AND (sha256 = ? OR state = ?)",
                      (stage, path, sha256, FileState.PENDING)).fetchall()
    row = next((found for found in rows if found["sha256"] == sha256), None)
    if len(rows) > (row is not None):
        # Content the file no longer has (a crash left it pending, then the file was
        # rewritten) will never be processed: retire it, or it would look queued forever.
        db.execute("UPDATE files SET state = ? WHERE stage = ? AND path = ? AND sha256 != ? "
                   "AND state = ?",
                   (FileState.SUPERSEDED, stage, path, sha256, FileState.PENDING))
    if row is None:
        cursor = db.execute(
            "INSERT INTO files (stage, path, sha256, size, mtime_ns, state, attempts, "
            "first_seen_at, started_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)",
            (stage, path, sha256, size, mtime_ns, FileState.RUNNING, now, now))
        return Claim(int(cursor.lastrowid or 0), 0)
    if row["state"] in FINAL_STATES or row["state"] == FileState.RUNNING:
        # Same content again: remember its signature so the next sweep skips hashing.
        db.execute("UPDATE files SET size = ?, mtime_ns = ? WHERE id = ?",
                   (size, mtime_ns, row["id"]))
        return None
    attempts, crashes = int(row["attempts"]), int(row["crashes"])
    if row["state"] == FileState.SUPERSEDED:
        attempts = crashes = 0
    db.execute("UPDATE files SET state = ?, started_at = ?, size = ?, mtime_ns = ?, "
               "attempts = ?, crashes = ?, suspect = suspect * ?, progressed = 0 "
               "WHERE id = ?",
               (FileState.RUNNING, now, size, mtime_ns, attempts + 1, crashes,
                int(row["state"] != FileState.SUPERSEDED), row["id"]))
    return Claim(int(row["id"]), attempts, crashes)


def _row_dict(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data["outputs"] = json.loads(data["outputs"])
    return data
