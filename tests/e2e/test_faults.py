"""Faults of the services around the daemon: the exchange answering 429, 500 and too late, the
database down for a while, the SMTP server away and then refusing. Each time the real daemon
keeps running, retries, says so in its log, and in the end loses nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.e2e.checks import sink_rows, torn_files
from tests.e2e.daemon import REPO, DaemonProcess, pipeline_config
from tests.e2e.exchange import API_PATH, Exchange
from tests.e2e.mailbox import Mailbox, smtp_env, smtp_server, window_states
from tests.e2e.scenario import Scenario
from tests.sinks.conftest import Cluster
from tests.support import free_port, wait_for

# A "timeout" fault hangs 1 s: past the 0.5 s client timeout set below, and quickly over.
pytestmark = pytest.mark.exchange(timeout_hang_s=1.0)


def published(exchange: Exchange, tmp_path: Path, count: int = 8) -> Scenario:
    scenario = Scenario(count=count, first=datetime.now(UTC) - timedelta(minutes=10),
                        spread_s=120.0)
    scenario.publish(exchange, tmp_path / "forms")
    return scenario


def stored_holders(root: Path) -> set[str]:
    return {str(row["holder_name"]) for row in sink_rows(root)}


def test_an_exchange_answering_429_500_and_too_late_is_retried_until_all_is_stored(
        tmp_path: Path, exchange: Exchange) -> None:
    scenario = published(exchange, tmp_path)
    exchange.fail(API_PATH, 429, 500, "timeout", 503, "timeout")
    for path in [p for p, body in exchange.files.items() if body != 404]:
        exchange.fail(path, 503, "timeout", 429)
    root = tmp_path / "root"
    config = pipeline_config(tmp_path / "idxd.toml", root, exchange.api_url,
                             http={"timeout_s": 0.5}, download={"attempts": 6})
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_started()
        wait_for(lambda: stored_holders(root) == set(scenario.holders), 60, "every filing",
                 alive=daemon.process)
        assert daemon.has("ingest.failed") and daemon.has("download.unavailable")
        assert not any(exchange.faults.values()), "every fault was served"
        assert daemon.stop() == 0
    finally:
        daemon.close()
    codes = [a.read_text() for a in (root / "alerts").glob("*.json")]
    assert not [c for c in codes if "download_failed" in c and "/files/" in c and "404" not in c]
    assert not (root / "quarantine").exists() and torn_files(root) == []


@pytest.mark.parametrize("transport", [{}, {"impersonate": "chrome"}],
                         ids=["httpx", "impersonating"])
def test_a_cdn_answering_challenges_403s_bad_bodies_and_404s_loses_no_filing(
        tmp_path: Path, exchange: Exchange, transport: dict[str, str]) -> None:
    scenario = published(exchange, tmp_path, count=26)  # one of them is gone for good (404)
    forms = [p for p, body in exchange.files.items() if body != 404]
    cases = ["challenge", 403, "bad_gzip", "short"]
    for index, path in enumerate(forms):  # each form first answered one way, then for real
        exchange.fail(path, cases[index % len(cases)])
    root = tmp_path / "root"
    config = pipeline_config(tmp_path / "idxd.toml", root, exchange.api_url,
                             http={"timeout_s": 0.5, "block_after": 100, **transport})
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_started()
        wait_for(lambda: stored_holders(root) == set(scenario.holders), 60, "every filing",
                 alive=daemon.process)
        assert not any(exchange.faults.values()), "every bad answer was served"
        assert daemon.stop() == 0
    finally:
        daemon.close()
    alerts = [json.loads(a.read_text()) for a in (root / "alerts").glob("*.json")]
    failed = [a for a in alerts if a["code"] in ("download_failed", "unsupported_format",
                                                 "download_refused")]
    gone = [p for p, body in exchange.files.items() if body == 404]
    assert len(gone) == 1
    # One precise alert per form that is really gone, none for the ones only answered badly.
    assert sorted(a["context"]["doc"]["url"].rsplit("/", 1)[-1] for a in failed) == \
        sorted(path.rsplit("/", 1)[-1] for path in gone)
    assert not (root / "quarantine").exists() and torn_files(root) == []


def postgres_holders(cluster: Cluster, table: str) -> set[str]:
    try:
        with psycopg.connect(cluster.dsn, connect_timeout=2) as db:
            return {row[0] for row in db.execute(f"SELECT holder_name FROM {table}")}
    except psycopg.Error:
        return set()


def test_the_database_down_for_a_while_holds_filings_back_and_loses_none(
        tmp_path: Path, exchange: Exchange, pg_cluster: Cluster) -> None:
    scenario, root, table = published(exchange, tmp_path), tmp_path / "root", "filings_outage"
    config = pipeline_config(tmp_path / "idxd.toml", root, exchange.api_url,
                             sink={"kind": "postgres", "table": table,
                                   "database_url": pg_cluster.dsn, "timeout_s": 2.0})
    pg_cluster.stop()
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_started()
        wait_for(lambda: daemon.has("file.failed", stage="generate"), 60,
                 "generate to give up for now", alive=daemon.process)
        wait_for(lambda: len([e for e in daemon.events() if e.get("event") == "file.retrying"
                              and e.get("stage") == "generate"]) > 20, 60, "more retries")
    finally:
        pg_cluster.start()
    try:
        wait_for(lambda: postgres_holders(pg_cluster, table) == set(scenario.holders), 60,
                 "every filing once the database is back", alive=daemon.process)
        assert daemon.stop() == 0
    finally:
        daemon.close()
    alerts = " ".join(a.read_text() for a in (root / "alerts").glob("*.json"))
    assert "retries_exhausted" in alerts  # a human was told, once per file
    assert not (root / "quarantine").exists()


def run_once(config: Path, env: dict[str, str]) -> int:
    return subprocess.run([sys.executable, "-m", "daemon", "--config", str(config), "once",
                           "--minutes", "30"], cwd=REPO, capture_output=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), **env}
                          ).returncode


def test_smtp_away_then_refusing_then_back_sends_the_window_exactly_once(
        tmp_path: Path, exchange: Exchange) -> None:
    published(exchange, tmp_path, count=4)
    root, port, mailbox = tmp_path / "root", free_port(), Mailbox(refuse=True)
    config = pipeline_config(tmp_path / "idxd.toml", root, exchange.api_url,
                             rollover={"enabled": True, "tick_s": 0.5})
    env = smtp_env(port)
    assert run_once(config, env) == 1  # nobody listens: the email waits in outbox/
    [window] = window_states(root).values()
    assert window["state"] == "sending" and (root / window["eml"]).exists()
    with smtp_server(mailbox, port):
        daemon = DaemonProcess(config, tmp_path / "daemon.log", env)
        try:
            daemon.wait_started()
            wait_for(lambda: daemon.has("email.unavailable"), 30, "a refusal",
                     alive=daemon.process)
            assert mailbox.raw == []
            mailbox.refuse = False
            wait_for(lambda: daemon.has("email.sent"), 30, "the email", alive=daemon.process)
            assert daemon.stop() == 0
        finally:
            daemon.close()
    [sent] = [state for name, state in window_states(root).items() if name.startswith("once-")]
    assert sent["state"] == "sent" and len(mailbox.raw) == 1
    [message] = mailbox.messages()
    assert str(message["Message-ID"]).strip() == window["message_id"]
