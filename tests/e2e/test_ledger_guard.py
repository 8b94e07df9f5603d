"""A lost, emptied, corrupt or swapped ledger, against the real `python -m daemon`.

A root that has done work (forms downloaded, parsed, stored in the SQLite sink, one window
emailed through a real SMTP server) refuses to start once its ledger is emptied or removed, with
exit 2 and the sentence naming `idxd ledger rebuild`; after the rebuild the daemon starts,
queues nothing, writes nothing and mails nothing again. A ledger that is not SQLite is one
sentence and exit 2 from every command; a ledger deleted under a running daemon stops it with
exit 2 within a heartbeat.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.ledger import Ledger
from handlers.domain.windows import aligned_window
from tests.e2e.checks import drained, sink_rows
from tests.e2e.daemon import REPO, DaemonProcess, pipeline_config
from tests.e2e.exchange import Exchange
from tests.e2e.mailbox import Mailbox, smtp_env, smtp_server, window_states
from tests.e2e.scenario import Scenario
from tests.support import wait_for

WINDOW_S = 3600  # the window before now stays "the window before now" for the whole test
FORMS = 8
OUTPUT_DIRS = ("data", "downloads", "alerts", "alerts_inserted", "alerts_not_inserted",
               "artifacts", "outbox")
LEDGER = Path("state/ledger.sqlite3")
FIX = "idxd ledger rebuild"


def idxd(config: Path, *args: str, env: dict[str, str] | None = None,
         timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "daemon", "--config", str(config), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout_s,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def guard_config(path: Path, root: Path, exchange: Exchange | None, *,
                 rollover: bool = True, log_level: str = "info") -> Path:
    return pipeline_config(
        path, root, exchange.api_url if exchange else None,
        daemon={"log_level": log_level}, ingest={"lookback_min": 2 * WINDOW_S / 60},
        rollover={"enabled": rollover, "period_s": WINDOW_S, "grace_s": 0.5, "tick_s": 0.5,
                  "max_wait_s": 900.0})


def run_until(config: Path, log: Path, env: dict[str, str],
              done: Callable[[DaemonProcess], bool], what: str) -> DaemonProcess:
    daemon = DaemonProcess(config, log, env)
    try:
        daemon.wait_started()
        wait_for(lambda: done(daemon), 90, what, alive=daemon.process, every_s=0.25)
        assert daemon.stop() == 0
    finally:
        daemon.close()
    return daemon


def outputs(root: Path) -> dict[str, tuple[int, int]]:
    """Every output file with its (size, mtime_ns): a rewrite changes the mtime."""
    found = {}
    for directory in OUTPUT_DIRS:
        for path in (root / directory).rglob("*"):
            if path.is_file():
                info = path.stat()
                found[path.relative_to(root).as_posix()] = (info.st_size, info.st_mtime_ns)
    return found


def one_sentence(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    text = result.stderr.strip()
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert len(text.splitlines()) == 1, text
    for needle in needles:
        assert needle in text, text


@pytest.fixture
def worked_root(tmp_path: Path, exchange: Exchange) -> tuple[Path, Path, Mailbox, str]:
    """A root whose daemon stored FORMS filings and emailed the window before now."""
    root, mailbox = tmp_path / "root", Mailbox()
    window = aligned_window(datetime.now(UTC), WINDOW_S)
    emailed = aligned_window(window.start - timedelta(seconds=1), WINDOW_S)
    scenario = Scenario(count=FORMS, first=emailed.start + timedelta(seconds=30), spread_s=60)
    scenario.publish(exchange, tmp_path / "forms")
    # Everything processed first, then the window closed on a quiet root: one email, 8 alerts.
    fetching = guard_config(tmp_path / "fetch.toml", root, exchange, rollover=False)
    run_until(fetching, tmp_path / "fetch.log", {},
              lambda _: len(list(root.glob(f"alerts_*/{emailed.stub}/*.json"))) == FORMS
              and len(sink_rows(root)) == FORMS and drained(root), "every form stored")
    config = guard_config(tmp_path / "idxd.toml", root, None)
    with smtp_server(mailbox) as port:
        run_until(config, tmp_path / "mail.log", smtp_env(port),
                  lambda _: window_states(root).get(emailed.stub, {}).get("state") == "sent",
                  "the window emailed")
    assert len(mailbox.raw) == 1
    return root, config, mailbox, emailed.stub


@pytest.mark.parametrize("loss", ["emptied", "removed"])
def test_a_lost_ledger_refuses_to_start_and_a_rebuild_mails_and_processes_nothing_again(
        tmp_path: Path, exchange: Exchange, worked_root: tuple[Path, Path, Mailbox, str],
        loss: str) -> None:
    root, config, mailbox, stub = worked_root
    message_id = mailbox.messages()[0]["Message-ID"]
    rows, before = len(sink_rows(root)), outputs(root)
    # The checks' SQLite connections close when collected, and the last one to close would
    # checkpoint its WAL into the file emptied next: close them now, as a stopped root is.
    gc.collect()
    assert not (root / "state" / "ledger.sqlite3-wal").exists()
    if loss == "emptied":
        os.truncate(root / LEDGER, 0)  # what `truncate -s0` does
    else:
        (root / LEDGER).unlink()
    for command in (("run",), ("once", "--no-ingest")):
        refused = idxd(config, *command)
        assert refused.returncode == 2, refused.stderr
        one_sentence(refused, "is empty" if loss == "emptied" else "is missing", FIX)
    assert outputs(root) == before, "a refused start wrote nothing"

    rebuilt = idxd(config, "ledger", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert ", 0 left to process" in rebuilt.stdout, rebuilt.stdout
    assert "1 window(s) already emailed" in rebuilt.stdout
    assert drained(root), "every inbox file has a final row for its current content"
    assert window_states(root)[stub]["message_id"] == message_id.strip()

    quiet = guard_config(tmp_path / "quiet.toml", root, None, log_level="debug")
    with smtp_server(mailbox) as port:
        # Three rollover ticks: the window emailed before the loss was due on each of them.
        daemon = run_until(quiet, tmp_path / "after.log", smtp_env(port), lambda running: sum(
            e.get("event") == "timer.ran" and e.get("job") == "rollover"
            for e in running.events()) >= 3, "three rollover ticks")
    swept = [e for e in daemon.events() if e.get("event") == "inbox.swept"]
    assert swept and swept[0]["queued"] == 0
    assert not daemon.has("file.processed")
    assert len(mailbox.raw) == 1, "the window emailed before the loss is not mailed again"
    assert len(sink_rows(root)) == rows
    assert outputs(root) == before


def test_a_corrupt_ledger_is_one_sentence_and_exit_2_from_every_command(tmp_path: Path) -> None:
    root = tmp_path / "root"
    config = guard_config(tmp_path / "idxd.toml", root, None)
    (root / "state").mkdir(parents=True)
    (root / LEDGER).write_bytes(b"this is not a database\n" * 200)
    form = tmp_path / "form.pdf"
    form.write_bytes(b"%PDF-1.4\n")
    for command in (("run",), ("once", "--no-ingest"), ("status",), ("trace", "x.pdf"),
                    ("replay", "--failed"), ("drop", str(form), "--stage", "parse")):
        result = idxd(config, *command)
        assert result.returncode == 2, (command, result.stderr)
        one_sentence(result, "not a usable SQLite database", FIX)
    assert not (root / "downloads" / "idx-format" / "form.pdf").exists(), "drop was refused"
    check = idxd(config, "ledger", "check")
    assert check.returncode == 2
    one_sentence(check, "failed SQLite's integrity check", FIX)


def test_ledger_check_passes_a_good_ledger(tmp_path: Path) -> None:
    root = tmp_path / "root"
    config = guard_config(tmp_path / "idxd.toml", root, None)
    assert idxd(config, "status").returncode == 2  # not an idxd root yet, and left so
    assert not (root / LEDGER).exists()
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_started()
        assert daemon.stop() == 0
    finally:
        daemon.close()
    check = idxd(config, "ledger", "check")
    assert check.returncode == 0, check.stderr
    assert "passed SQLite's integrity check" in check.stdout
    with sqlite3.connect(root / LEDGER) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("swap", ["deleted", "replaced"])
def test_a_ledger_lost_under_a_running_daemon_stops_it_with_exit_2(
        tmp_path: Path, swap: str) -> None:
    root = tmp_path / "root"
    config = guard_config(tmp_path / "idxd.toml", root, None)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_started()
        ledger = root / LEDGER
        if swap == "deleted":
            ledger.unlink()
        else:
            other = tmp_path / "other.sqlite3"
            sqlite3.connect(other).close()
            os.replace(other, ledger)
        assert daemon.process.wait(30) == 2
    finally:
        daemon.close()
    log = (tmp_path / "daemon.log").read_text()
    assert f"was {swap}" in log and FIX in log
    assert "Traceback" not in log
    restart = idxd(config, "run")
    assert restart.returncode == 2, "the next start refuses too"
    one_sentence(restart, FIX)


def test_once_runs_again_on_a_root_whose_ledger_never_held_a_file(tmp_path: Path) -> None:
    """A run that only closed an empty window leaves its zip and a ledger with no file: that
    ledger is the root's own (it carries the root's id), so the next run starts; a fresh
    ledger put in its place is refused."""
    root = tmp_path / "root"
    config = guard_config(tmp_path / "idxd.toml", root, None)
    for _ in range(2):
        result = idxd(config, "once", "--no-ingest")
        assert result.returncode == 0, result.stderr
    assert list((root / "artifacts").glob("*.zip")), "the runs closed their window"
    (root / LEDGER).unlink()
    Ledger.open(root).close()  # a new, empty ledger: not the one this root worked with
    refused = idxd(config, "once", "--no-ingest")
    assert refused.returncode == 2
    one_sentence(refused, "holds no file", FIX)
