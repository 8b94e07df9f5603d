"""The real daemon for end-to-end tests: a TOML file, `python -m daemon --config X run`, its log.

`pipeline_config` writes the settings a test run needs (the exchange's URL and allow-list
pointing at the local stand-in, short settle and retry times) with any table overridden;
`DaemonProcess` starts the process, reads its JSON log lines, waits for events, kills it or
stops it with SIGTERM. Nothing here knows what the test checks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.support import wait_for, write_toml

REPO = Path(__file__).resolve().parents[2]


def pipeline_config(path: Path, root: Path, exchange_api: str | None,
                    **overrides: Mapping[str, Any]) -> Path:
    tables: dict[str, dict[str, Any]] = {
        "daemon": {"root": str(root), "settle_ms": 100, "rescan_s": 2.0, "workers": 4,
                   "retry_attempts": 3, "retry_initial_s": 0.05, "retry_max_s": 0.2,
                   "failed_retry_s": 1.0, "durable_writes": False, "log_format": "json",
                   "log_level": "info", "drain_timeout_s": 5},
        "ingest": {"enabled": exchange_api is not None, "api_url": exchange_api or "",
                   "period_s": 1.0, "pause_s": 0.0, "backoff_s": 0.05, "page_size": 100,
                   "lookback_min": 30.0},
        # A 404 is given up at once (the scenarios serve files that are gone for good).
        "download": {"allowed_hosts": ["127.0.0.1"], "attempts": 3, "missing_horizon_s": 0},
        "http": {"timeout_s": 2.0},
        "rollover": {"enabled": False},
    }
    for name, table in overrides.items():
        tables[name] = {**tables.get(name, {}), **table}
    if not tables["ingest"]["api_url"]:
        del tables["ingest"]["api_url"]
    return write_toml(path, tables)


class DaemonProcess:
    """One `python -m daemon run`, its output appended to `log_path`."""

    def __init__(self, config: Path, log_path: Path, env: Mapping[str, str] | None = None,
                 args: tuple[str, ...] = ("run",)):
        self.log_path = log_path
        self._offset = log_path.stat().st_size if log_path.exists() else 0
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "daemon", "--config", str(config), *args], cwd=REPO,
                stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONFAULTHANDLER": "1",
                     **(env or {})})

    def events(self) -> list[dict[str, Any]]:
        """This process's JSON log lines (lines that are not JSON are left out)."""
        with open(self.log_path, "rb") as log:
            log.seek(self._offset)
            text = log.read().decode("utf-8", "replace")
        events = []
        for line in text.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
        return events

    def has(self, name: str, **fields: Any) -> bool:
        return any(e.get("event") == name and all(e.get(k) == v for k, v in fields.items())
                   for e in self.events())

    def wait_started(self, timeout_s: float = 30.0) -> None:
        wait_for(lambda: self.has("daemon.started"), timeout_s, "daemon.started",
                 alive=self.process)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def stop(self, timeout_s: float = 30.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)  # faulthandler writes every stack to the log
            self.process.wait(10)
            stacks = f"its stacks are in {self.log_path}"
            raise AssertionError(f"the daemon did not stop; {stacks}") from None

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()

