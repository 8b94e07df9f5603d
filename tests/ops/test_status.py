"""`idxd status` on a root the daemon has worked in: per-stage counts, the oldest pending age,
and the IDX facts (last ingest, last window and email, company map age) from the status hook.
The health it derives and its exit code are `test_health.py`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon.ledger import FileState, Ledger

REPO = Path(__file__).resolve().parents[2]
WINDOW = "20261127_1600_20261127_1800"


def status(root: Path, *args: str, code: int = 1) -> str:
    """The status output; the seeded root has a failed and a quarantined file: degraded."""
    result = subprocess.run([sys.executable, "-m", "daemon", "--root", str(root), "status", *args],
                            cwd=REPO, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO), "IDXD_CONFIG": ""})
    assert result.returncode == code, result.stderr
    return result.stdout


def seed(root: Path) -> None:
    """What a day of work leaves in the ledger: files in each state and the IDX state keys."""
    ledger = Ledger.open(root)
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    for name in ("a", "b"):
        claim = ledger.claim("download", f"data/announcements/{name}.json", name * 64, 1, 1)
        assert claim is not None
        ledger.finish(claim.row_id, [], 1.0)
    failed = ledger.claim("parse", "downloads/idx-format/x.pdf", "f" * 64, 1, 1)
    quarantined = ledger.claim("parse", "downloads/idx-format/y.pdf", "e" * 64, 1, 1)
    assert failed is not None and quarantined is not None
    ledger.fail(failed.row_id, state=FileState.FAILED, code="transient_error", error="x",
                duration_ms=1)
    ledger.fail(quarantined.row_id, state=FileState.QUARANTINED, code="label_missing", error="y",
                duration_ms=1)
    ledger.claim("generate", "data/parsed/z.json", "d" * 64, 1, 1)  # left running: pending
    ledger.recover()
    ledger.set_state("ingest.last_end", {"last_end": "2026-11-27T18:00:00+07:00",
                                         "window": WINDOW, "updated_at": hour_ago})
    ledger.set_state("rollover.window." + WINDOW, {"state": "sent", "closing_at": hour_ago,
                                                   "alerts": ["alerts/1.json", "alerts/2.json"]})
    ledger.set_state("app.rollover", {
        "last_window": {"window": WINDOW, "state": "sent"},
        "last_email": {"window": WINDOW, "sent_at": hour_ago, "transport": "smtp"}})
    ledger.close()


def test_json_status_has_the_counts_and_the_idx_facts(tmp_path: Path) -> None:
    root = tmp_path / "root"
    seed(root)
    report = json.loads(status(root, "--json"))
    stages = report["stages"]
    assert stages["download"]["done"] == 2
    assert (stages["parse"]["failed"], stages["parse"]["quarantined"]) == (1, 1)
    assert report["oldest_pending_age_s"] is not None
    facts = report["app"]
    assert facts["last_ingest"]["up_to"] == "2026-11-27T18:00:00+07:00"
    assert 3500 < facts["last_ingest"]["age_s"] < 7200
    assert facts["last_window"]["window"] == WINDOW and facts["last_window"]["alerts"] == 2
    assert facts["last_email"]["transport"] == "smtp" and facts["last_email"]["age_s"] > 3500
    assert facts["company_map"]["origin"] == "bundled" and facts["company_map"]["age_s"] > 0


def test_text_status_reads_like_a_report(tmp_path: Path) -> None:
    root = tmp_path / "root"
    seed(root)
    text = status(root)
    assert "daemon: stopped" in text
    assert "last ingest: " in text and "(60 min ago)" in text
    assert "last email: " in text and f"window={WINDOW}" in text
    assert "company map: " in text and "origin=bundled" in text


def test_a_fresh_root_says_never(tmp_path: Path) -> None:
    Ledger.open(tmp_path / "fresh").close()  # what the first start leaves
    text = status(tmp_path / "fresh", code=0)
    assert "last ingest: never" in text and "last email: never" in text
    assert "last window: never" in text



def killed_daemon_writes(root: Path) -> None:
    """A daemon killed after a write: its changes still in the -wal file, never checkpointed."""
    code = ("import os, pathlib, signal; from daemon.ledger import Ledger\n"
            f"ledger = Ledger.open(pathlib.Path({str(root)!r}))\n"
            "ledger.set_state('app.rollover', {'last_window': {'window': 'late'}})\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n")
    killed = subprocess.run([sys.executable, "-c", code], cwd=REPO, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert killed.returncode == -9


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under the root with its mtime and bytes, but for the -wal's shared-memory
    index, in which every reader takes its read lock."""
    return {path.relative_to(root).as_posix(): (path.stat().st_mtime_ns, path.read_bytes())
            for path in sorted(root.rglob("*"))
            if path.is_file() and not path.name.endswith("-shm")}


def test_status_writes_nothing_not_even_the_ledger(tmp_path: Path) -> None:
    root = tmp_path / "root"
    seed(root)
    killed_daemon_writes(root)
    before = snapshot(root)
    assert {"state/ledger.sqlite3", "state/ledger.sqlite3-wal"} <= set(before)
    assert '"late"' in status(root)  # read from the -wal, which stays as it was
    status(root, "--json")
    assert snapshot(root) == before
