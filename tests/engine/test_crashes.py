"""What the ledger remembers of the process dying: a crash counted per file, never a false one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from daemon.ledger import LEDGER_NAME, Ledger


def test_a_row_found_running_counts_one_crash_and_keeps_its_attempts(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    first = ledger.claim("a", "in/a/x.txt", "s" * 64, 1, 1)
    assert first is not None and (first.attempts, first.crashes) == (0, 0)
    assert ledger.recover() == 1
    second = ledger.claim("a", "in/a/x.txt", "s" * 64, 1, 1)
    assert second is not None and (second.attempts, second.crashes) == (1, 1)
    [row] = ledger.rows_for("in/a/x.txt")
    assert (row["state"], row["attempts"], row["crashes"]) == ("running", 2, 1)


def test_a_death_with_several_files_running_blames_none_until_each_ran_alone(
        tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    for name in ("x", "y"):
        ledger.claim("a", f"in/a/{name}.txt", name * 64, 1, 1)
    assert ledger.recover() == 2
    assert ledger.suspects() == {"in/a/x.txt", "in/a/y.txt"}
    alone = ledger.claim("a", "in/a/x.txt", "x" * 64, 1, 1)
    assert alone is not None and alone.crashes == 0
    assert ledger.recover() == 1  # it died again, alone this time: that one counts
    [row] = ledger.rows_for("in/a/x.txt")
    assert (row["crashes"], row["suspect"]) == (1, 1)
    [other] = ledger.rows_for("in/a/y.txt")
    assert other["crashes"] == 0


def test_a_death_while_the_file_was_still_handing_off_output_is_not_its_crash(
        tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    claim = ledger.claim("download", "data/announcements/b.json", "b" * 64, 1, 1)
    assert claim is not None
    ledger.note_progress(claim.row_id)  # a long batch, killed from outside mid-way
    ledger.commit_progress()  # the loop's next turn
    assert ledger.recover() == 1
    [row] = ledger.rows_for("data/announcements/b.json")
    assert (row["crashes"], row["suspect"]) == (0, 1)
    again = ledger.claim("download", "data/announcements/b.json", "b" * 64, 1, 1)
    assert again is not None
    assert ledger.recover() == 1  # this attempt produced nothing before the death
    [row] = ledger.rows_for("data/announcements/b.json")
    assert row["crashes"] == 1


def test_leaving_on_purpose_counts_no_crash(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    ledger.claim("a", "in/a/x.txt", "s" * 64, 1, 1)
    assert ledger.release_running() == 1
    assert ledger.recover() == 0
    [row] = ledger.rows_for("in/a/x.txt")
    assert (row["state"], row["crashes"]) == ("pending", 0)


def test_a_ledger_from_before_crash_counting_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / LEDGER_NAME
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE files (id INTEGER PRIMARY KEY, stage TEXT NOT NULL, "
                   "path TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL DEFAULT 0, "
                   "mtime_ns INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL, "
                   "attempts INTEGER NOT NULL DEFAULT 0, error_code TEXT, last_error TEXT, "
                   "first_seen_at REAL NOT NULL, started_at REAL, finished_at REAL, "
                   "duration_ms REAL, outputs TEXT NOT NULL DEFAULT '[]', quarantine_path TEXT, "
                   "UNIQUE (stage, path, sha256))")
        db.execute("INSERT INTO files (stage, path, sha256, state, first_seen_at) "
                   "VALUES ('a', 'in/a/old.txt', 'o', 'running', 0)")
    db.close()
    ledger = Ledger.open(tmp_path)
    assert ledger.recover() == 1
    [row] = ledger.rows_for("in/a/old.txt")
    assert (row["state"], row["crashes"]) == ("pending", 1)


def test_a_progress_note_reaches_the_ledger_only_once_committed_and_only_while_running(
        tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    running = ledger.claim("download", "data/announcements/a.json", "a" * 64, 1, 1)
    finished = ledger.claim("download", "data/announcements/b.json", "b" * 64, 1, 1)
    assert running is not None and finished is not None
    ledger.note_progress(running.row_id)
    ledger.note_progress(finished.row_id)
    ledger.finish(finished.row_id, [], 1.0)  # ended before the note was committed
    assert [row["progressed"] for row in ledger.rows_for("data/announcements/a.json")] == [0]
    ledger.commit_progress()
    assert [row["progressed"] for row in ledger.rows_for("data/announcements/a.json")] == [1]
    assert [row["progressed"] for row in ledger.rows_for("data/announcements/b.json")] == [0]
