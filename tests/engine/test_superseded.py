"""A crash leaves a file's row pending; the file is then rewritten: the old content must not
look queued forever (status, the oldest-pending metric), and the new content is processed."""

from __future__ import annotations

from pathlib import Path

from daemon.ledger import Ledger


def test_pending_content_the_file_no_longer_has_is_retired(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    assert ledger.claim("download", "data/announcements/a.json", "old", 10, 1) is not None
    assert ledger.recover() == 1  # killed while running: back to pending at the next start
    claim = ledger.claim("download", "data/announcements/a.json", "new", 12, 2)
    assert claim is not None
    ledger.finish(claim.row_id, [], 1.0)

    assert ledger.counts() == {"download": {"done": 1, "superseded": 1}}
    assert ledger.oldest_unfinished() is None


def test_content_that_comes_back_is_processed_again(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    ledger.claim("parse", "downloads/idx-format/f.pdf", "first", 10, 1)
    ledger.recover()
    second = ledger.claim("parse", "downloads/idx-format/f.pdf", "second", 10, 2)
    assert second is not None
    ledger.finish(second.row_id, [], 1.0)

    again = ledger.claim("parse", "downloads/idx-format/f.pdf", "first", 10, 3)

    assert again is not None and again.attempts == 0
