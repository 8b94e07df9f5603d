"""Retention: files older than their area's days go, on real directories with real ages
(os.utime); what an unclosed window, an unfinished file or an undelivered email needs stays,
whatever its age; ledger rows go only once their file is gone. A real daemon runs the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon.ledger import FileState, Ledger
from handlers.app import APP
from handlers.jobs.retention import RETENTION_JOB, prune
from handlers.jobs.rollover import STATE_PREFIX, SUMMARY_KEY
from handlers.settings import PipelineSettings

REPO = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC)


def aged(root: Path, relative: str, days: float, body: bytes = b"x") -> Path:
    """A file whose mtime is `days` ago."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    moment = (NOW - timedelta(days=days)).timestamp()
    os.utime(path, (moment, moment))
    return path


def windows_closed_until(ctx, days_ago: float) -> None:
    """The rollover has closed every window up to `days_ago` days before now."""
    ctx.ledger.set_state(SUMMARY_KEY, {"next_start": (NOW - timedelta(days=days_ago)).isoformat()})


def test_outbox_artifacts_and_quarantine_age_out_but_an_undelivered_email_stays(
        make_ctx) -> None:
    ctx = make_ctx({"retention": {"outbox_days": 10, "artifacts_days": 5,
                                  "quarantine_days": 3}})
    root = ctx.root
    old_eml, young_eml = aged(root, "outbox/a.eml", 11), aged(root, "outbox/b.eml", 9)
    unsent = aged(root, "outbox/c.eml", 40)
    ctx.ledger.set_state(STATE_PREFIX + "c", {"state": "sending", "eml": "outbox/c.eml"})
    old_zip, young_zip = aged(root, "artifacts/a.zip", 6), aged(root, "artifacts/b.zip", 4)
    quarantined = aged(root, "quarantine/parse/bad.pdf", 4)
    error = aged(root, "quarantine/parse/bad.pdf.error.json", 4)
    recent = aged(root, "quarantine/parse/new.pdf", 1)
    removed = prune(ctx, NOW)
    assert (removed["outbox"], removed["artifacts"], removed["quarantine"]) == (1, 1, 1)
    assert not old_eml.exists() and young_eml.exists() and unsent.exists()
    assert not old_zip.exists() and young_zip.exists()
    assert not quarantined.exists() and not error.exists() and recent.exists()


def test_data_goes_only_once_finished_and_its_window_closed(make_ctx) -> None:
    ctx = make_ctx({"retention": {"data_days": 7}})
    root = ctx.root
    done = aged(root, "data/announcements/done.json", 20)
    unfinished = aged(root, "data/announcements/waiting.json", 20)
    info = done.stat()
    claim = ctx.ledger.claim("download", "data/announcements/done.json", "d" * 64,
                             info.st_size, info.st_mtime_ns)
    assert claim is not None
    ctx.ledger.finish(claim.row_id, [], 1.0)
    filing = aged(root, "data/filings/x.json", 20)
    open_window = aged(root, "data/filings/y.json", 8)  # old enough, but its window is open
    pdf = aged(root, "downloads/non-idx-format/x.pdf", 20)  # no stage takes it: no row
    sidecar = aged(root, "downloads/non-idx-format/x.pdf.meta.json", 20)
    assert prune(ctx, NOW)["data"] == 0  # no window closed yet: every window may need them
    windows_closed_until(ctx, 10)
    assert prune(ctx, NOW)["data"] == 4
    assert not done.exists() and not filing.exists() and not pdf.exists()
    assert not sidecar.exists()
    assert unfinished.exists() and open_window.exists()


def test_buckets_of_closed_windows_age_out_with_their_directory(make_ctx) -> None:
    ctx = make_ctx({"retention": {"buckets_days": 5}})
    root = ctx.root
    old = aged(root, "alerts_inserted/20261101_1000_20261101_1200/a.json", 6)
    other = aged(root, "alerts_not_inserted/20261101_1000_20261101_1200/b.json", 6)
    stub = f"{NOW:%Y%m%d}_0000_{NOW:%Y%m%d}_0200"
    unclosed = aged(root, f"alerts_inserted/{stub}/c.json", 6)  # mtime old, window not closed
    windows_closed_until(ctx, 1)
    assert prune(ctx, NOW)["buckets"] == 2
    assert not old.exists() and not other.exists() and not old.parent.exists()
    assert unclosed.exists()


def test_ledger_rows_go_once_their_file_is_gone_and_the_newest_stays(make_ctx) -> None:
    ctx = make_ctx({"retention": {"ledger_days": 1}})
    root = ctx.root
    rows = {}
    for name in ("gone-1", "kept-on-disk", "gone-2", "newest"):
        path = aged(root, f"alerts/{name}.json", 0)
        claim = ctx.ledger.claim("bucketize", f"alerts/{name}.json", name.ljust(64, "0"), 1, 1)
        assert claim is not None
        ctx.ledger.finish(claim.row_id, [], 1.0)
        rows[name] = path
    for name in ("gone-1", "gone-2", "newest"):
        rows[name].unlink()
    assert prune(ctx, NOW)["ledger"] == 0  # finished today: younger than a day
    assert prune(ctx, NOW + timedelta(days=2))["ledger"] == 2
    left = {row["path"] for row in ctx.ledger.rows_in_state(FileState.DONE)}
    assert left == {"alerts/kept-on-disk.json", "alerts/newest.json"}


def test_zero_days_keeps_forever(make_ctx) -> None:
    zeros = dict.fromkeys(("outbox_days", "artifacts_days", "quarantine_days", "buckets_days",
                           "data_days", "ledger_days"), 0)
    ctx = make_ctx({"retention": zeros})
    kept = [aged(ctx.root, "outbox/a.eml", 999), aged(ctx.root, "artifacts/a.zip", 999)]
    windows_closed_until(ctx, 0)
    assert set(prune(ctx, NOW).values()) == {0}
    assert all(path.exists() for path in kept)


def test_a_real_daemon_prunes_at_start_and_daily(tmp_path: Path) -> None:
    assert RETENTION_JOB in APP.timer_jobs
    assert RETENTION_JOB.period_s(PipelineSettings()) == 86400
    root = tmp_path / "root"
    ledger = Ledger.open(root)  # a root that has worked: one file recorded
    claim = ledger.claim("bucketize", "alerts/a.json", "a" * 64, 1, 1)
    assert claim is not None
    ledger.finish(claim.row_id, [], 1.0)
    ledger.close()
    old, young = aged(root, "outbox/old.eml", 400), aged(root, "outbox/young.eml", 1)
    env = {**os.environ, "PYTHONPATH": str(REPO), "IDXD_CONFIG": "", "IDXD_INGEST_ENABLED": "0",
           "IDXD_ROLLOVER_ENABLED": "0", "IDXD_COMPANY_MAP_CHECK_PERIOD_S": "86400"}
    daemon = subprocess.Popen([sys.executable, "-m", "daemon", "--root", str(root), "run"],
                              cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        deadline = time.monotonic() + 60
        while old.exists() and daemon.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not old.exists() and young.exists()
    finally:
        daemon.send_signal(signal.SIGTERM)
        output, _ = daemon.communicate(timeout=60)
    assert daemon.returncode == 0
    assert '"event": "retention.pruned"' in output and '"outbox": 1' in output
