"""Wall-clock jumps (an NTP step, a wrong clock corrected): three hours ahead, a day back, then
right again, while announcements flow. The daemon keeps running, no timer job fails, every
filing is stored once and no window is emailed twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.e2e.checks import sink_rows
from tests.e2e.clockapp import OFFSET_FILE
from tests.e2e.daemon import DaemonProcess, pipeline_config
from tests.e2e.exchange import Exchange
from tests.e2e.mailbox import Mailbox, email_problems, smtp_env, smtp_server
from tests.e2e.scenario import Scenario
from tests.support import wait_for


def test_clock_jumps_lose_nothing_and_send_nothing_twice(tmp_path: Path,
                                                         exchange: Exchange) -> None:
    root, mailbox = tmp_path / "root", Mailbox()
    first = Scenario(count=10, first=datetime.now(UTC) - timedelta(seconds=50), spread_s=30.0)
    first.publish(exchange, tmp_path / "forms")
    config = pipeline_config(tmp_path / "idxd.toml", root, exchange.api_url,
                             daemon={"app": "tests.e2e.clockapp:APP"},
                             rollover={"enabled": True, "period_s": 60, "grace_s": 1.0,
                                       "tick_s": 0.5})
    with smtp_server(mailbox) as port:
        daemon = DaemonProcess(config, tmp_path / "daemon.log", smtp_env(port))
        try:
            daemon.wait_started()
            wait_for(lambda: stored(root) >= set(first.holders), 60, "the first filings")
            for offset_s in (3 * 3600, -86400):
                jump(root, daemon, offset_s)
            later = Scenario(count=10, first=datetime.now(UTC), spread_s=1.0, offset=100)
            later.publish(exchange, tmp_path / "later")
            (root / OFFSET_FILE).write_text("0")
            wait_for(lambda: stored(root) >= set(first.holders + later.holders), 60,
                     "the later filings", alive=daemon.process)
            assert daemon.stop() == 0
        finally:
            daemon.close()
    holders = [str(row["holder_name"]) for row in sink_rows(root)]
    assert sorted(holders) == sorted(first.holders + later.holders)
    assert not daemon.has("timer.failed") and not daemon.has("file.crashed")
    assert [p for p in email_problems(root, mailbox) if "different messages" in p] == []


def stored(root: Path) -> set[str]:
    return {str(row["holder_name"]) for row in sink_rows(root)}


def jump(root: Path, daemon: DaemonProcess, offset_s: float) -> None:
    """Move the clock and let the timer jobs run twice on it."""
    ticks = len([e for e in daemon.events() if e.get("event") == "ingest.started"])
    (root / OFFSET_FILE).write_text(str(offset_s))
    wait_for(lambda: len([e for e in daemon.events() if e.get("event") == "ingest.started"])
             >= ticks + 2, 30, f"two ticks at {offset_s:+g} s", alive=daemon.process)
