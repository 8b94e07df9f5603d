"""`idxd status` tells a healthy root from a degraded one, and says why in one line: ingest
failing (from real `idxd ingest` runs against an exchange that is down, then up), a source
resting, a stale company map, an email not delivered, failed files. A running file counts once;
disk use is per area; a mistyped or file-shaped root is one sentence and exit code 2."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon.ledger import Ledger
from daemon.lock import RootLock
from tests.e2e.exchange import Exchange
from tests.support import refused_port

REPO = Path(__file__).resolve().parents[2]


def idxd(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "daemon", "--root", str(root), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO), "IDXD_CONFIG": "", **env})


def report(root: Path, **env: str) -> tuple[int, dict, str]:
    result = idxd(root, "status", "--json", **env)
    return result.returncode, json.loads(result.stdout), result.stderr


def fresh_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    Ledger.open(root).close()
    return root


def test_a_fresh_root_is_healthy(tmp_path: Path) -> None:
    code, status, stderr = report(fresh_root(tmp_path))
    assert (code, stderr) == (0, "")
    assert status["health"] == {"ok": True, "problems": []}
    company = status["app"]["company_map"]
    # The bundled snapshot is old, but with no source to refresh it that is not a fault.
    assert company["stale"] is True and company["limit_h"] == 12.0 and "problem" not in company
    assert {status["app"][f"source {host}"]["state"] for host in ("www.idx.co.id", "idx.co.id")
            } == {"ok"}  # every host the pipeline asks, whether or not it ever refused


def test_failing_ingest_degrades_the_root_until_it_succeeds(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    with refused_port() as port:
        down = {"IDXD_IDX_API_URL": f"http://127.0.0.1:{port}/api", "IDXD_INGEST_ATTEMPTS": "1"}
        for _ in range(2):
            failed = idxd(root, "ingest", **down)
            assert failed.returncode == 1
            assert failed.stderr.splitlines()[-1] == (
                "idxd ingest: ingest failed: exchange unreachable (ConnectError).")
    code, status, stderr = report(root)
    ingest = status["app"]["last_ingest"]
    assert code == 1 and ingest["at"] is None and ingest["consecutive_failures"] == 2
    assert ingest["last_error"] == "exchange unreachable (ConnectError)"
    failed_at = ingest["last_attempt_at"]
    assert failed_at is not None
    assert status["health"]["problems"] == [
        "ingest failing: 2 attempt(s) in a row since the last success, last error: exchange "
        "unreachable (ConnectError)"]
    assert stderr == "idxd: degraded: " + status["health"]["problems"][0] + "\n"
    text = idxd(root, "status").stdout
    assert "health: degraded: ingest failing: 2 attempt(s)" in text
    with Exchange() as exchange:
        assert idxd(root, "ingest", IDXD_IDX_API_URL=exchange.api_url).returncode == 0
    code, status, _ = report(root)
    ingest = status["app"]["last_ingest"]
    assert code == 0 and ingest["consecutive_failures"] == 0 and ingest["at"] is not None
    assert ingest["last_attempt_at"] > failed_at and ingest["last_error"] is None


def test_a_resting_source_a_stale_map_and_an_undelivered_email_each_say_so(
        tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    now = datetime.now(UTC)
    ledger = Ledger.open(root)
    ledger.set_state("source.health.www.idx.co.id", {
        "refusals": 3, "blocked_since": (now - timedelta(minutes=5)).isoformat(),
        "blocked_until": (now + timedelta(minutes=1)).isoformat()})
    ledger.set_state("rollover.window.W", {"state": "sending", "attempts": 4,
                                           "last_error": "smtp.example: connection refused",
                                           "closing_at": now.isoformat(), "alerts": []})
    ledger.set_state("app.rollover", {"last_window": {"window": "W", "state": "sending"}})
    ledger.close()
    source = {"SUPABASE_URL": "http://127.0.0.1:9", "SUPABASE_KEY": "k"}
    code, status, stderr = report(root, **source)
    problems = status["health"]["problems"]
    assert code == 1 and len(problems) == 3, problems
    assert problems[0] == ("email of window W not delivered after 4 attempt(s): "
                           "smtp.example: connection refused")
    assert problems[1].startswith("company map stale: ") and problems[1].endswith(
        " h old, limit 12 h")
    assert problems[2].startswith("www.idx.co.id blocked since ")
    assert stderr.count("\n") == 1 and "k" not in status["app"]["company_map"].values()
    assert status["app"]["source www.idx.co.id"]["state"] == "blocked"


def test_failed_quarantined_and_crashed_files_are_counted(tmp_path: Path) -> None:
    from daemon.ledger import FileState

    root = fresh_root(tmp_path)
    ledger = Ledger.open(root)
    for name, state, error_code in (("a", FileState.FAILED, "transient_error"),
                                    ("b", FileState.QUARANTINED, "crashed_process"),
                                    ("c", FileState.QUARANTINED, "label_missing")):
        claim = ledger.claim("parse", f"downloads/idx-format/{name}.pdf", name * 64, 1, 1)
        assert claim is not None
        ledger.fail(claim.row_id, state=state, code=error_code, error="x", duration_ms=1)
    ledger.close()
    code, status, _ = report(root)
    assert code == 1 and status["files"] == {"failed": 1, "quarantined": 2, "crashed": 1}
    assert status["health"]["problems"] == ["1 file(s) failed", "2 file(s) quarantined"]
    assert "files: 1 failed, 2 quarantined (1 crashed the process)" in idxd(root, "status").stdout


def test_a_running_file_counts_once(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    inbox = root / "downloads" / "idx-format"
    inbox.mkdir(parents=True)
    for name in ("running.pdf", "queued.pdf"):
        (inbox / name).write_bytes(b"%PDF-1.4 " + name.encode())
    ledger = Ledger.open(root)
    info = (inbox / "running.pdf").stat()
    assert ledger.claim("parse", "downloads/idx-format/running.pdf", "r" * 64, info.st_size,
                        info.st_mtime_ns) is not None
    ledger.close()
    with RootLock(root):  # a daemon holds the root while the handler has the file
        _, status, _ = report(root)
    assert status["daemon"]["running"] is True
    assert (status["stages"]["parse"]["queued"], status["stages"]["parse"]["running"]) == (1, 1)


def test_disk_use_per_area(tmp_path: Path) -> None:
    root = fresh_root(tmp_path)
    for area, size in (("outbox", 3000), ("artifacts", 5000), ("alerts_inserted/W", 700),
                       ("quarantine/parse", 11), ("data/filings", 40)):
        (root / area).mkdir(parents=True)
        (root / area / "f").write_bytes(b"x" * size)
    _, status, _ = report(root)
    disk = status["disk"]
    assert (disk["outbox"], disk["artifacts"], disk["alerts_inserted"]) == (3000, 5000, 700)
    assert (disk["quarantine"], disk["data"]) == (11, 40)
    assert disk["ledger"] == (root / "state" / "ledger.sqlite3").stat().st_size + sum(
        path.stat().st_size for path in (root / "state").glob("ledger.sqlite3-*"))
    assert "outbox 2.9 KB" in idxd(root, "status").stdout


def test_a_mistyped_or_file_shaped_root_is_one_sentence_and_exit_code_2(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a root")
    (tmp_path / "empty").mkdir()
    for name, words in (("nosuch", "does not exist"), ("a-file", "is a file"),
                        ("empty", "is not an idxd root")):
        for args in (("status",), ("status", "--json")):
            result = idxd(tmp_path / name, *args)
            assert (result.returncode, result.stdout) == (2, ""), result
            assert result.stderr.count("\n") == 1 and words in result.stderr
            assert "daemon: stopped" not in result.stderr


def test_a_fact_the_engine_does_not_know_is_shown_and_can_degrade(tmp_path: Path) -> None:
    """Another part of the pipeline (a backfill) adds its own fact through the status hook."""
    root = fresh_root(tmp_path)
    ledger = Ledger.open(root)
    ledger.set_state("app.extras", ["app.extra.backfill"])
    ledger.set_state("app.extra.backfill", {"at": datetime.now(UTC).isoformat(), "days_done": 3,
                                            "days_total": 30, "downloaded_bytes": 5 * 1024 ** 2,
                                            "problem": "backfill paused: exchange refused"})
    ledger.close()
    app = {"IDXD_APP": "tests.ops.statusapp:APP"}
    code, status, _ = report(root, **app)
    assert code == 1 and status["app"]["backfill"]["days_done"] == 3
    assert status["health"]["problems"] == ["backfill paused: exchange refused"]
    text = idxd(root, "status", **app).stdout
    line = next(line for line in text.splitlines() if line.startswith("backfill: "))
    assert re.search(r" \(\d+ s ago\)  days_done=3 days_total=30 downloaded_bytes=5\.0 MB$", line)
