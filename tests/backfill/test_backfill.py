"""`idxd backfill` against a local exchange serving a year of history, in real processes.

A year (about 250 trading days, two announcements each, multi-attachment announcements,
letters, forms gone from the file host and a busy file host mixed in) is backfilled by the
command on its own, SIGKILLed twice on the way and started again: every filing is stored once,
every day was listed, nothing was fetched again beyond what a kill interrupted, and one summary
email holds every alert. The same history backfilled by a running daemon (the request path
systemd uses) ends the same way, while a live announcement published meanwhile overtakes the
backfill's waiting work; a daemon SIGKILLed during a detached request resumes it when it
starts again; a cancelled backfill finishes what it handed over, with its summary, and the same
range asked for again goes on from where it stopped. A host that answers 403 for a while
pauses the backfill, which then resumes and finishes, with a summary email every 15 days; a
form the file host does not serve yet (a 404 within `[download] missing_horizon_s`) does not
hold the next days back.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.backfill.history import History, cached_form, holder
from tests.backfill.outcome import (
    backfill_args,
    backfill_config,
    days_done,
    end_state_problems,
    progress,
)
from tests.e2e.checks import sink_rows
from tests.e2e.daemon import REPO, DaemonProcess
from tests.e2e.exchange import Exchange, ksei_item
from tests.e2e.mailbox import Mailbox, smtp_env, smtp_server
from tests.support import wait_for

LIVE_PATH = "/files/live.pdf"
YEAR = History(date(2025, 1, 1), date(2025, 12, 31))
pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def forms_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("backfill-forms")


def fresh(history: History) -> History:
    return History(history.first, history.last, history.per_day, history.offset)


def test_a_year_killed_twice_stores_every_filing_once(tmp_path: Path, exchange: Exchange,
                                                      forms_cache: Path) -> None:
    history, root, mailbox = fresh(YEAR), tmp_path / "root", Mailbox()
    history.publish(exchange, forms_cache)
    assert 245 <= len(history.days) <= 255 and len(history.holders) > 400
    config = backfill_config(tmp_path / "idxd.toml", root, exchange)
    with smtp_server(mailbox) as port:
        env = smtp_env(port)
        total = (history.last - history.first).days + 1
        for share in (total // 3, 2 * total // 3):  # a third of the way, then two thirds
            command = DaemonProcess(config, tmp_path / "backfill.log", env,
                                    args=backfill_args(history))
            wait_for(lambda at=share: days_done(root) >= at, 60, "backfill progress",
                     alive=command.process, every_s=0.005)
            command.kill()
        command = DaemonProcess(config, tmp_path / "backfill.log", env,
                                args=backfill_args(history))
        assert command.process.wait(120) == 0, (tmp_path / "backfill.log").read_text()[-3000:]
    assert progress(root)["state"] == "finished"
    assert end_state_problems(root, history, exchange, mailbox, kills=2) == []


def test_a_running_daemon_backfills_and_live_work_goes_first(
        tmp_path: Path, exchange: Exchange, forms_cache: Path) -> None:
    history = History(date(2025, 10, 1), date(2025, 12, 31), offset=5000)
    root, mailbox = tmp_path / "root", Mailbox()
    history.publish(exchange, forms_cache)
    config = backfill_config(tmp_path / "idxd.toml", root, exchange,
                             ingest={"enabled": True, "period_s": 0.5, "lookback_min": 10.0})
    with smtp_server(mailbox) as port:
        env = smtp_env(port)
        daemon = DaemonProcess(config, tmp_path / "daemon.log", env)
        try:
            daemon.wait_started()
            command = run_idxd(config, env, *backfill_args(history))
            wait_for(lambda: days_done(root) >= 5, 60, "backfill progress", every_s=0.005)
            live = publish_live(exchange, forms_cache)
            assert status(config)["backfill"]["state"] in ("running", "paused")
            live_stored_at = wait_for(lambda: stored_while_running(root, live), 30,
                                      "the live filing")
            assert command.wait(120) == 0, command.stderr.read() if command.stderr else ""
            assert daemon.stop() == 0
        finally:
            daemon.close()
    assert live_stored_at["days_done"] < live_stored_at["days_total"]
    assert overtaken(root) == []
    assert end_state_problems(root, history, exchange, mailbox, extra_holders=(live,)) == []


def test_a_blocked_exchange_pauses_the_backfill_and_it_resumes_with_a_summary_each_15_days(
        tmp_path: Path, exchange: Exchange, forms_cache: Path) -> None:
    history = History(date(2025, 6, 1), date(2025, 7, 15), offset=8000)
    root, mailbox = tmp_path / "root", Mailbox()
    history.publish(exchange, forms_cache)
    config = backfill_config(tmp_path / "idxd.toml", root, exchange,
                             http={"block_after": 2, "first_cooldown_s": 1.0, "cooldown_s": 2.0},
                             backfill={"summary_days": 15})
    with smtp_server(mailbox) as port:
        command = DaemonProcess(config, tmp_path / "backfill.log", smtp_env(port),
                                args=backfill_args(history))
        wait_for(lambda: days_done(root) >= 10, 60, "backfill progress", alive=command.process,
                 every_s=0.005)
        exchange.blocked = (time.time(), time.time() + 3.0)
        wait_for(lambda: command.has("backfill.paused"), 10, "the pause", alive=command.process)
        assert command.process.wait(90) == 0, (tmp_path / "backfill.log").read_text()[-3000:]
    paused = [e for e in command.events() if e.get("event") == "backfill.paused"]
    resumed = [e for e in command.events() if e.get("event") == "backfill.resumed"]
    assert paused and resumed and resumed[-1]["timestamp"] > paused[0]["timestamp"]
    assert command.has("source.blocked") and command.has("source.recovered")
    # 403s are answered while blocked, so only the end state counts here, not the requests.
    problems = end_state_problems(root, history, exchange, mailbox, kills=10 ** 6,
                                  summaries=3)  # 45 days
    assert problems == []


def run_idxd(config: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "daemon", "--config", str(config), *args],
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def status(config: Path) -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-m", "daemon", "--config", str(config), "status",
                             "--json"], cwd=REPO, capture_output=True, check=True)
    return dict(json.loads(result.stdout)["app"])


def publish_live(exchange: Exchange, cache: Path) -> str:
    """A form published a moment ago, of a holder no history has."""
    number = 99_999
    exchange.files[LIVE_PATH] = cached_form(number, cache)
    exchange.publish(ksei_item(number, datetime.now(UTC) - timedelta(seconds=1),
                               exchange.origin + LIVE_PATH))
    return holder(number)


def stored_while_running(root: Path, holder_name: str) -> dict[str, Any] | None:
    if not any(row["holder_name"] == holder_name for row in sink_rows(root)):
        return None
    return {"days_done": days_done(root),
            "days_total": (date.fromisoformat(progress(root)["last"])
                           - date.fromisoformat(progress(root)["first"])).days + 1}


def overtaken(root: Path) -> list[str]:
    """Backfill batches that landed after the live one and were downloaded before it."""
    rows = download_rows(root)
    live = next(row for row in rows if not row["path"].startswith(
        "data/announcements/backfill-") and holds_live(root, row["path"]))
    landed = (root / live["path"]).stat().st_mtime
    return [row["path"] for row in rows if row["path"].startswith("data/announcements/backfill-")
            and row["started_at"] < live["started_at"]
            and (root / row["path"]).stat().st_mtime > landed]


def download_rows(root: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(root / "state" / "ledger.sqlite3") as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(
            "SELECT path, started_at FROM files WHERE stage = 'download' ORDER BY id")]


def holds_live(root: Path, relative: str) -> bool:
    return LIVE_PATH in (root / relative).read_text()


def test_a_form_the_file_host_does_not_serve_yet_does_not_hold_the_backfill(
        tmp_path: Path, exchange: Exchange, forms_cache: Path) -> None:
    history = History(date(2025, 8, 1), date(2025, 8, 19), offset=9000)
    root, mailbox = tmp_path / "root", Mailbox()
    history.publish(exchange, forms_cache)
    assert history.expected_alerts["download_failed"] >= 1
    config = backfill_config(tmp_path / "idxd.toml", root, exchange,
                             download={"missing_horizon_s": 2.0}, backfill={"concurrency": 1})
    with smtp_server(mailbox) as port:
        command = DaemonProcess(config, tmp_path / "backfill.log", smtp_env(port),
                                args=backfill_args(history))
        assert command.process.wait(90) == 0, (tmp_path / "backfill.log").read_text()[-3000:]
    events = command.events()
    last_day = max(i for i, e in enumerate(events) if e.get("event") == "backfill.day_done")
    gave_up = [i for i, e in enumerate(events) if e.get("event") == "download.failed"]
    assert gave_up and last_day < gave_up[0], "every day was handed over while they waited"
    # The gone forms are asked for again until the horizon: only the end state counts here.
    assert end_state_problems(root, history, exchange, mailbox, kills=10 ** 6) == []


def test_a_daemon_killed_during_a_detached_backfill_resumes_it_at_its_next_start(
        tmp_path: Path, exchange: Exchange, forms_cache: Path) -> None:
    history = History(date(2025, 3, 1), date(2025, 3, 31), offset=12_000)
    root, mailbox = tmp_path / "root", Mailbox()
    history.publish(exchange, forms_cache)
    config = backfill_config(tmp_path / "idxd.toml", root, exchange)
    with smtp_server(mailbox) as port:
        env = smtp_env(port)
        request = run_idxd(config, env, *backfill_args(history), "--detach")
        assert request.wait(30) == 0  # no daemon yet: recorded for the next start
        daemon = DaemonProcess(config, tmp_path / "daemon.log", env)
        wait_for(lambda: days_done(root) >= 10, 60, "backfill progress", alive=daemon.process,
                 every_s=0.005)
        daemon.kill()
        daemon = DaemonProcess(config, tmp_path / "daemon.log", env)
        try:
            wait_for(lambda: progress(root).get("state") == "finished", 60, "the end",
                     alive=daemon.process)
            assert daemon.stop() == 0
        finally:
            daemon.close()
    assert end_state_problems(root, history, exchange, mailbox, kills=1) == []


def test_a_cancelled_backfill_finishes_what_it_handed_over_and_asked_again_goes_on_from_there(
        tmp_path: Path, exchange: Exchange, forms_cache: Path) -> None:
    history = History(date(2025, 4, 1), date(2025, 5, 31), offset=15_000)
    root, mailbox = tmp_path / "root", Mailbox()
    history.publish(exchange, forms_cache)
    # A polite rate (about five days a second) leaves the cancellation time to arrive.
    config = backfill_config(tmp_path / "idxd.toml", root, exchange,
                             backfill={"requests_per_minute": 1200})
    with smtp_server(mailbox) as port:
        env = smtp_env(port)
        daemon = DaemonProcess(config, tmp_path / "daemon.log", env)
        try:
            daemon.wait_started()
            assert run_idxd(config, env, *backfill_args(history), "--detach").wait(30) == 0
            wait_for(lambda: days_done(root) >= 10, 60, "backfill progress", every_s=0.005)
            assert run_idxd(config, env, "backfill", "--cancel").wait(30) == 0
            wait_for(lambda: progress(root).get("state") == "cancelled", 60, "the cancellation")
            stopped_at = progress(root)
            time.sleep(1.5)  # several ticks: no day is read after the cancellation
            assert days_done(root) == stopped_at["days_done"] < 61
            assert status(config)["backfill"]["state"] == "cancelled"
            [first_summary] = stopped_at["summaries"]
            assert daemon.has("backfill.cancelled")
            assert run_idxd(config, env, *backfill_args(history), "--detach").wait(30) == 0
            wait_for(lambda: progress(root).get("state") == "finished", 90, "the end",
                     alive=daemon.process)
            assert daemon.stop() == 0
        finally:
            daemon.close()
    assert progress(root)["summaries"][0] == first_summary
    # Every day listed once, every form fetched once, each filing stored once, two summaries
    # (the days read before the cancellation, the rest) holding every alert between them.
    assert end_state_problems(root, history, exchange, mailbox, summaries=2) == []
