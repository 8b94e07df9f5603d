"""`idxd demo` and `idxd once` as a user runs them: real processes, a real SMTP server.

The network is made unreachable for both: every proxy variable is removed and HTTP(S)_PROXY
point at a closed port on 127.0.0.1, so any request to the exchange would fail at once; the
demo must still produce its filings and email.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

from handlers.commands.demo import DEMO_WINDOW, place_inputs
from tests.rollover.conftest import alert_for, mail_env

REPO = Path(__file__).resolve().parents[2]
PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy",
           "NO_PROXY", "no_proxy", "PROXY")


def offline_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in PROXIES and not key.startswith(("SMTP_", "ALERT_", "IDXD_"))}
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens there
    return {**env, "HTTP_PROXY": closed, "HTTPS_PROXY": closed, "PROXY": closed,
            "IDXD_DOWNLOAD_ALLOWED_HOSTS": "invalid.invalid", **extra}


def idxd(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "daemon", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_demo_runs_offline_and_writes_its_email(tmp_path):
    result = idxd("demo", "--dir", str(tmp_path / "demo"), env=offline_env())
    assert result.returncode == 0, result.stderr + result.stdout
    assert "inserted         SRTG.JK  sell     920,000,000 shares  Unitras Pertama" in \
        result.stdout
    assert "BYAN.JK" in result.stdout
    eml = tmp_path / "demo" / "outbox" / "20260424_1600_20260424_1800.eml"
    assert f"Email:     {eml}" in result.stdout
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["Subject"] == "[IDX Alerts] 0 alert(s) — 2026-04-24 16:00–18:00 WIB"
    assert "2 filing(s) inserted" in message.get_body(("plain",)).get_content()


def test_demo_ignores_a_broken_operator_configuration(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[daemon]\nworkers = 0\n[sink]\nkind = \"nowhere\"\n")
    env = offline_env(IDXD_CONFIG=str(bad), IDXD_WORKERS="many")
    checked = idxd("check-config", env=env)
    assert checked.returncode == 2 and "workers" in checked.stderr  # it is broken indeed
    result = idxd("demo", "--dir", str(tmp_path / "demo"), env=env)
    assert result.returncode == 0, result.stderr + result.stdout
    assert (tmp_path / "demo" / "outbox" / "20260424_1600_20260424_1800.eml").is_file()


def test_once_drains_closes_the_window_and_reports_failures(tmp_path, smtp):
    smtp.start()
    root = tmp_path / "root"
    place_inputs(root, DEMO_WINDOW)
    alert = root / "alerts" / "hand-dropped.json"
    alert.parent.mkdir(parents=True)
    alert.write_text(json.dumps(alert_for("SRTG", "2026-04-24T17:03:00")))
    broken = root / "downloads" / "idx-format" / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really a pdf")
    env = offline_env(**mail_env(smtp), IDXD_INGEST_ENABLED="0", IDXD_RETRY_ATTEMPTS="1")

    result = idxd("--root", str(root), "once", "--no-ingest", "--date", "2026-04-24",
                  "--start", "16:00", "--end", "18:00", env=env)

    assert result.returncode == 1, result.stderr  # the broken PDF failed
    assert "\r[" not in result.stderr  # no progress bar when stderr is not a terminal
    assert len(smtp.handler.envelopes) == 1
    message = smtp.handler.messages()[0]
    assert message["Subject"] == "[IDX Alerts] 1 alert(s) — 2026-04-24 16:00–18:00 WIB"
    assert (root / "artifacts" / "once-20260424_1600_20260424_1800.zip").is_file()
    assert len(list((root / "data" / "filings").glob("*.json"))) == 2

    again = idxd("--root", str(root), "once", "--no-ingest", "--date", "2026-04-24",
                 "--start", "16:00", "--end", "18:00", env=env)
    assert again.returncode == 0, again.stderr  # nothing left to fail
    assert len(smtp.handler.envelopes) == 1  # the window is closed already
