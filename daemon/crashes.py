"""Crash accounting in the ledger: which files the process died on, and whether to blame them.

An attempt is in the ledger before its handler starts (`Ledger.claim`), so a row found
`running` at start is a file the process died on: it goes back to `pending` as a suspect, to be
run alone first. When it was the only file running and its attempt had handed off no output
yet, the death is counted against it as a crash (the worker sets a file aside once it has too
many). A death with several files running blames none of them until each has run alone, and a
handler still producing output (`note_progress`) was not what killed it; the note reaches the
ledger within a quarter second of the first hand-off, so a death sooner than that still counts.
A daemon leaving on purpose with handlers still at work puts their rows back without counting
anything.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import AbstractContextManager
from typing import Protocol

from daemon.group_commit import GroupCommit
from daemon.ledger_db import FileState


class _Transactional(Protocol):
    _db: sqlite3.Connection
    _lock: threading.RLock
    _writes: GroupCommit
    _progress_lock: threading.Lock
    _progressed: set[int]

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...


class CrashAccounting:
    """The ledger's part that knows about deaths of the process (mixed into `Ledger`)."""

    def recover(self: _Transactional) -> int:
        """Rows a crash left `running` go back to `pending` as suspects; a lone one that had
        handed off nothing in its attempt has the crash counted against it. Returns how many."""
        with self._transaction() as db:
            running = int(db.execute("SELECT COUNT(*) FROM files WHERE state = ?",
                                     (FileState.RUNNING,)).fetchone()[0])
            db.execute("UPDATE files SET state = ?, suspect = 1, "
                       "crashes = crashes + (CASE WHEN progressed = 0 THEN ? ELSE 0 END) "
                       "WHERE state = ?", (FileState.PENDING, int(running == 1),
                                           FileState.RUNNING))
            return running

    def suspects(self: _Transactional) -> set[str]:
        """Paths of pending rows the process died on: each is to run with no other file."""
        with self._lock:
            rows = self._db.execute("SELECT path FROM files WHERE state = ? AND suspect = 1",
                                    (FileState.PENDING,)).fetchall()
        return {row["path"] for row in rows}

    def note_progress(self: _Transactional, row_id: int) -> None:
        """The running attempt handed off an output: the process was alive and working. Kept
        in memory until `commit_progress` (the loop calls it at every turn, a quarter second
        apart at most), and dropped if the attempt ends first: most end within a millisecond
        of their hand-off, when the note no longer matters, and a transaction of its own
        would cost a stage run more than its statement."""
        with self._progress_lock:
            self._progressed.add(row_id)

    def commit_progress(self: _Transactional) -> None:
        """Write the progress notes of attempts still running."""
        with self._progress_lock:
            rows = sorted(self._progressed)
            self._progressed.clear()
        if rows:
            marks = ", ".join("?" * len(rows))
            self._writes.run(lambda db: db.execute(
                f"UPDATE files SET progressed = 1 WHERE state = ? AND id IN ({marks})",
                (FileState.RUNNING, *rows)))

    def _ended(self: _Transactional, row_id: int) -> None:
        """The attempt on `row_id` ended: its progress no longer matters."""
        with self._progress_lock:
            self._progressed.discard(row_id)

    def release_running(self: _Transactional) -> int:
        """Every `running` row back to `pending`, with no crash counted: the daemon is leaving
        on purpose with handlers still at work (a drain that timed out)."""
        with self._transaction() as db:
            return db.execute("UPDATE files SET state = ? WHERE state = ?",
                              (FileState.PENDING, FileState.RUNNING)).rowcount
