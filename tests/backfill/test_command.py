"""`idxd backfill` as an operator types it: what it refuses, what it records, what status shows."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.ledger import Ledger
from handlers.commands.backfill import render
from handlers.domain.windows import to_wib
from handlers.jobs import backfill_state as store
from handlers.jobs.backfill_state import FINISHED, Follower, Progress, Request
from tests.e2e.exchange import Exchange


def backfill(root: Path, *args: str) -> int:
    return main(["--root", str(root), "backfill", *args])


def status(root: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(["--root", str(root), "status", "--json"]) == 0
    return dict(json.loads(capsys.readouterr().out)["app"].get("backfill") or {})


def stored(root: Path, progress: Progress) -> None:
    ledger = Ledger.open(root)
    store.save(ledger, progress, datetime.now(UTC))
    ledger.close()


def test_today_belongs_to_the_live_ingest(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    today = to_wib(datetime.now(UTC)).date()
    assert backfill(tmp_path, "--from", "2025-01-01", "--to", today.isoformat()) == 2
    assert "live ingest" in capsys.readouterr().err
    assert backfill(tmp_path, "--from", "2025-02-01", "--to", "2025-01-01") == 2


def test_a_detached_request_waits_for_the_daemon_and_status_shows_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert backfill(tmp_path, "--from", "2025-01-01", "--to", "2025-03-31", "--detach") == 0
    shown = status(tmp_path, capsys)
    assert (shown["state"], shown["range"]) == ("requested", "2025-01-01..2025-03-31")


def test_another_range_waits_until_the_running_one_is_done(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stored(tmp_path, Progress.start(date(2024, 1, 1), date(2024, 12, 31), datetime.now(UTC)))
    assert backfill(tmp_path, "--from", "2025-01-01", "--to", "2025-03-31") == 1
    assert "20240101-20241231 is still running" in capsys.readouterr().err
    shown = status(tmp_path, capsys)
    assert (shown["state"], shown["range"], shown["days"]) == (
        "running", "2024-01-01..2024-12-31", "0/366")


def test_a_range_done_already_is_not_read_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], exchange: Exchange,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDXD_IDX_API_URL", exchange.api_url)
    done = Progress.start(date(2025, 1, 1), date(2025, 1, 31), datetime.now(UTC))
    done.state, done.next_day, done.days_done, done.forms = FINISHED, None, 31, 40
    stored(tmp_path, done)
    assert backfill(tmp_path, "--from", "2025-01-01", "--to", "2025-01-31") == 0
    assert "done already (31 days, 40 forms)" in capsys.readouterr().err
    assert exchange.requests == []


def test_the_progress_line_has_days_forms_eta_and_why_it_waits() -> None:
    started = datetime(2026, 1, 1, tzinfo=UTC)
    progress = Progress.start(date(2025, 1, 1), date(2025, 12, 31), started)
    progress.days_done, progress.forms, progress.paused = 73, 180, "live work first: 1 batch(es)"
    line = render(progress, started + timedelta(minutes=10))
    assert "73/365 days" in line and "180 forms" in line
    assert "ETA 40 min" in line and "paused: live work first" in line


def test_following_a_request_waits_for_its_own_run() -> None:
    asked = datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC)
    request = Request(date(2025, 1, 1), date(2025, 1, 31), asked.isoformat())
    before = Progress.start(request.first, request.last, asked - timedelta(seconds=10))
    before.state = FINISHED
    follower = Follower(request)
    assert not follower.ended(before), "a run that ended before `--again` asked is not it"
    resumed = Progress.start(request.first, request.last, asked - timedelta(seconds=10))
    assert not follower.ended(resumed)  # a run killed and asked again goes on: it is ours
    resumed.state = FINISHED
    assert follower.ended(resumed)
    quick = Progress.start(request.first, request.last, asked + timedelta(seconds=1))
    quick.state = FINISHED
    assert Follower(request).ended(quick), "a run started after the request, seen only ended"


def test_cancel_with_no_backfill_says_there_is_nothing_to_cancel(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert backfill(tmp_path, "--cancel") == 0
    assert "nothing to cancel" in capsys.readouterr().err
    assert backfill(tmp_path) == 2  # neither a range nor --cancel
    assert "--from DATE is required" in capsys.readouterr().err


def test_a_request_cancelled_before_the_daemon_took_it_up_shows_cancelled(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert backfill(tmp_path, "--from", "2025-01-01", "--to", "2025-03-31", "--detach") == 0
    assert backfill(tmp_path, "--cancel") == 0
    assert "the requested backfill cancelled" in capsys.readouterr().err
    shown = status(tmp_path, capsys)
    assert (shown["state"], shown["range"]) == ("cancelled", "2025-01-01..2025-03-31")


def test_without_a_daemon_a_cancelled_run_ends_once_what_it_handed_over_is_through(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    running = Progress.start(date(2025, 1, 1), date(2025, 12, 31), datetime.now(UTC))
    running.in_flight = ["data/announcements/backfill-20251231-01.json"]
    stored(tmp_path, running)
    assert backfill(tmp_path, "--cancel") == 0
    assert "the 1 batch file(s) handed over finish" in capsys.readouterr().err
    assert status(tmp_path, capsys)["state"] == "cancelling"

    idle = Progress.start(date(2024, 1, 1), date(2024, 12, 31), datetime.now(UTC))
    stored(tmp_path, idle)
    assert backfill(tmp_path, "--cancel") == 0
    shown = status(tmp_path, capsys)
    assert (shown["state"], shown["next_day"]) == ("cancelled", "2024-12-31")
    assert backfill(tmp_path, "--cancel") == 0
    assert "nothing to cancel" in capsys.readouterr().err
