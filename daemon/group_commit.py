"""Group commit: the ledger writes of many worker threads in one SQLite transaction.

A ledger transition costs little in its statements and much in its COMMIT (the WAL append,
the locks): measured on this machine, a claim's three statements take ~25 µs, its commit
another 25-120 µs on tmpfs and up to ~500 µs on disk under load. So a write is queued, and
the first thread to find no commit under way leads: it runs every queued write in one
transaction, each under its own savepoint (a write that raises is undone alone and raises in
its own thread), commits once, and hands the lead to a thread whose write arrived meanwhile.
Every caller returns only once its write is committed, exactly as with a transaction of its
own: a crash loses only writes whose callers had not returned, so crash safety and what a
restart finds are unchanged. If the COMMIT fails, or SQLite abandons the transaction (a full
disk), every write of the group fails with that error, as each would have alone.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Write = Callable[[sqlite3.Connection], T]


class _Queued(Generic[T]):
    def __init__(self, write: Write[T]):
        self.write = write
        # Held from the moment a thread queues behind a commit under way, released when its
        # write is committed (or it is to lead the next group); a thread that leads at once
        # needs none.
        self.wake: threading.Lock | None = None
        self.lead = False  # woken to lead the next group rather than with a result
        self.value: T | None = None
        self.error: BaseException | None = None

    def hold(self) -> None:
        self.wake = threading.Lock()
        self.wake.acquire()

    def result(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # set by the write that ran


class GroupCommit:
    """Runs writes on `db`, holding `lock` (the connection's lock, shared with readers) while
    a group's transaction is open."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock):
        self._db, self._lock = db, lock
        self._mutex = threading.Lock()  # guards the queue and the lead, never held on SQLite
        self._queue: list[_Queued[Any]] = []
        self._leading = False

    def run(self, write: Write[T]) -> T:
        """`write(db)` inside a committed transaction; its result, or its exception."""
        queued = _Queued(write)
        with self._mutex:
            if self._leading:
                queued.hold()
            self._queue.append(queued)
            lead, self._leading = not self._leading, True
        if not lead:
            assert queued.wake is not None
            queued.wake.acquire()  # until the leader releases it
            if not queued.lead:
                return queued.result()
            queued.wake = None  # released already: it leads the group it is part of
        self._lead_one_group()
        return queued.result()

    def _lead_one_group(self) -> None:
        with self._mutex:
            group, self._queue = self._queue, []
        self._commit(group)
        with self._mutex:
            if self._queue:  # arrived during the commit: the first of them leads next
                self._queue[0].lead = True
                _release(self._queue[0])
            else:
                self._leading = False
        for queued in group:
            _release(queued)

    def _commit(self, group: list[_Queued[Any]]) -> None:
        alone = len(group) == 1
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for queued in group:
                    self._run_one(queued, alone)
                self._db.execute("COMMIT")
            except BaseException as error:
                # A COMMIT that failed (a full disk) may leave the transaction open, and every
                # later BEGIN would fail; SQLite may also have rolled it back already.
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                for queued in group:
                    queued.error = queued.error or error
                    queued.value = None

    def _run_one(self, queued: _Queued[Any], alone: bool) -> None:
        if alone:  # no other write to protect: its error ends the transaction
            queued.value = queued.write(self._db)
            return
        self._db.execute("SAVEPOINT one_write")
        try:
            queued.value = queued.write(self._db)
        except Exception as error:
            queued.error = error
            if not self._db.in_transaction:
                raise  # SQLite abandoned the whole transaction: the group fails with it
            self._db.execute("ROLLBACK TO one_write")
        self._db.execute("RELEASE one_write")


def _release(queued: _Queued[Any]) -> None:
    if queued.wake is not None:
        queued.wake.release()
