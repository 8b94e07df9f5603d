"""Group commit: writes of many threads share transactions, and each still behaves as if alone."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from daemon.group_commit import GroupCommit


def database(path: Path) -> tuple[sqlite3.Connection, GroupCommit]:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    return db, GroupCommit(db, threading.RLock())


def committed(path: Path) -> set[int]:
    with sqlite3.connect(path) as other:  # another connection sees only what was committed
        return {n for (n,) in other.execute("SELECT n FROM t")}


def test_every_write_of_many_threads_is_committed_when_its_caller_returns(tmp_path: Path) -> None:
    db, writes = database(tmp_path / "db")
    seen_after_return: list[bool] = []

    def insert(base: int) -> None:
        for n in range(base, base + 200):
            inserted = writes.run(lambda c, n=n: c.execute("INSERT INTO t VALUES (?)", (n,)))
            assert inserted.rowcount == 1
            seen_after_return.append(n in committed(tmp_path / "db"))

    threads = [threading.Thread(target=insert, args=(k * 1000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(committed(tmp_path / "db")) == 800
    assert all(seen_after_return)
    db.close()


def test_a_failing_write_is_undone_alone_and_raises_in_its_own_thread(tmp_path: Path) -> None:
    db, writes = database(tmp_path / "db")
    writes.run(lambda c: c.execute("INSERT INTO t VALUES (1)"))
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def write(n: int) -> None:
        start.wait()
        try:
            writes.run(lambda c: c.execute("INSERT INTO t VALUES (?)", (n,)))
        except sqlite3.IntegrityError as error:  # n = 1 is there already
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 1
    assert committed(tmp_path / "db") == set(range(1, 9))
    db.close()


def test_a_commit_that_fails_fails_every_write_of_its_group(tmp_path: Path) -> None:
    db, writes = database(tmp_path / "db")
    db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    db.execute("CREATE TABLE child (p INTEGER REFERENCES parent DEFERRABLE INITIALLY DEFERRED)")
    db.execute("PRAGMA foreign_keys = ON")
    with pytest.raises(sqlite3.IntegrityError):  # the deferred check fails at COMMIT
        writes.run(lambda c: c.execute("INSERT INTO child VALUES (42)"))
    assert not db.in_transaction
    writes.run(lambda c: c.execute("INSERT INTO t VALUES (7)"))  # the next group works
    assert committed(tmp_path / "db") == {7}
    db.close()
