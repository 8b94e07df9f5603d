"""SIGKILL the whole pipeline at random moments while a few hundred announcements flow through.

The real daemon (`python -m daemon run`) ingests from a local exchange that publishes ~240
announcements over about a minute, downloads and parses their forms, stores filings in the
SQLite sink, buckets alerts into one-minute windows and emails each window through a real SMTP
server. It is killed `TEST_CRASH_ROUNDS` times (30 by default) at a random moment 0.1–1.5 s after
it has started, then run once more until everything has settled. Then: every filing is in the
sink exactly once, every window's email went out with one Message-ID (a resend after a crash is
the same message), every alert is in one email, no file is pending, nothing is half-written.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from handlers.domain.windows import aligned_window
from tests.e2e.checks import drained, sink_rows, torn_files, unfinished_rows
from tests.e2e.daemon import DaemonProcess, pipeline_config
from tests.e2e.exchange import Exchange
from tests.e2e.mailbox import Mailbox, email_problems, smtp_env, smtp_server, window_states
from tests.e2e.scenario import Scenario
from tests.support import wait_for

ROUNDS = int(os.environ.get("TEST_CRASH_ROUNDS", "30"))
WINDOW_S = 60


def crash_config(path: Path, root: Path, exchange: Exchange, ingest: bool = True) -> Path:
    # These kills come from outside, at random: a file that happens to be running alone at two
    # of them would look like a file that kills the daemon and be set aside (crash accounting,
    # tested in test_faults.py). An operator whose daemon is killed this often raises the limit.
    daemon = {"crash_limit": ROUNDS + 1}
    return pipeline_config(
        path, root, exchange.api_url, daemon=daemon,
        ingest={"lookback_min": 10.0, "enabled": ingest},
        rollover={"enabled": True, "period_s": WINDOW_S, "grace_s": 2.0, "tick_s": 1.0,
                  "max_wait_s": 900.0, "send_empty": True})


def finished(root: Path, scenario: Scenario) -> bool:
    last = aligned_window(scenario.last, WINDOW_S).stub
    if window_states(root).get(last, {}).get("state") != "sent":
        return False
    stored = {row["holder_name"] for row in sink_rows(root)}
    return stored >= set(scenario.holders) and drained(root)


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_and_doubles_nothing(
        tmp_path: Path, exchange: Exchange) -> None:
    seed = int(os.environ.get("TEST_CRASH_SEED", time.time_ns() % 10_000))
    rng, root, mailbox = random.Random(seed), tmp_path / "root", Mailbox()
    scenario = Scenario(count=240, first=datetime.now(UTC) - timedelta(seconds=55),
                        spread_s=60.0)
    scenario.publish(exchange, tmp_path / "forms")
    config = crash_config(tmp_path / "idxd.toml", root, exchange)
    with smtp_server(mailbox) as port:
        env = smtp_env(port)
        for _ in range(ROUNDS):
            daemon = DaemonProcess(config, tmp_path / "daemon.log", env)
            daemon.wait_started()
            time.sleep(rng.uniform(0.1, 1.5))  # the moment of the kill, not a wait
            daemon.kill()
        run_until(config, env, tmp_path, lambda: finished(root, scenario), seed)
        # The ingest timer writes a new batch every tick; a last run without it lets the
        # daemon drain what it queued, so "nothing pending" is checked at a quiet moment.
        quiet = crash_config(tmp_path / "quiet.toml", root, exchange, ingest=False)
        run_until(quiet, env, tmp_path, lambda: drained(root), seed)
    check_outcome(root, scenario, mailbox, seed)


def run_until(config: Path, env: dict[str, str], tmp_path: Path, done: Callable[[], bool],
              seed: int) -> None:
    daemon = DaemonProcess(config, tmp_path / "daemon.log", env)
    try:
        daemon.wait_started()  # its start-up sweep has queued whatever was left
        wait_for(done, 120, f"the end of the run (seed {seed})", alive=daemon.process,
                 every_s=0.25)
        assert daemon.stop() == 0
    finally:
        daemon.close()


def check_outcome(root: Path, scenario: Scenario, mailbox: Mailbox, seed: int) -> None:
    holders = Counter(str(row["holder_name"]) for row in sink_rows(root))
    assert sorted(holders) == sorted(scenario.holders), f"seed {seed}"
    assert set(holders.values()) == {1}, f"seed {seed}"
    assert unfinished_rows(root) == []
    assert torn_files(root) == [], f"seed {seed}"
    assert email_problems(root, mailbox) == [], f"seed {seed}"
    windows = {aligned_window(scenario.published(n), WINDOW_S).stub
               for n in range(scenario.count)}
    states = window_states(root)
    assert all(states[stub]["state"] == "sent" for stub in windows)
    assert not list((root / "quarantine").rglob("*")), "nothing in this run is bad input"
