"""`idxd once` tells the truth: its result on stdout (a summary, or JSON), its logs on stderr,
and exit code 1 with the reason on one line; with the exchange unreachable the window's email
says at the top that its announcements were not read; an email is "sent" only when a server
took it."""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import refused_port

REPO = Path(__file__).resolve().parents[2]
WINDOW = ["--date", "2026-11-27", "--start", "16:00", "--end", "18:00"]


def once(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "daemon", "--root", str(root), "once", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONPATH": str(REPO), "IDXD_CONFIG": "",
                               "IDXD_INGEST_ATTEMPTS": "1", **env})


@pytest.fixture
def unreachable() -> Iterator[dict[str, str]]:
    """The exchange at an address that refuses connections for the whole test."""
    with refused_port() as port:
        yield {"IDXD_IDX_API_URL": f"http://127.0.0.1:{port}/api"}


def test_an_unreachable_exchange_is_the_one_line_reason_and_the_emails_first_news(
        tmp_path: Path, unreachable: dict[str, str]) -> None:
    root = tmp_path / "root"
    result = once(root, *WINDOW, **unreachable)
    assert result.returncode == 1
    reason = "ingest failed: exchange unreachable (ConnectError), 0 announcements"
    assert result.stderr.splitlines()[-1] == f"idxd once: {reason}."
    # stdout is the result only: no log line, no progress bar, nothing "sent" that was not.
    summary = result.stdout.splitlines()
    assert summary[0] == "window 20261127_1600_20261127_1800: FAILED"
    assert "ingest:    failed: exchange unreachable (ConnectError)" in summary
    assert not any(line.startswith("{") for line in summary)
    assert "sent" not in result.stdout and "[#" not in result.stdout + result.stderr
    assert "next tick" not in result.stderr  # `once` has no next tick
    assert all(json.loads(line)["event"] for line in result.stderr.splitlines()[:-1])
    eml = root / "outbox" / "once-20261127_1600_20261127_1800.eml"
    assert f"written to {eml}, not mailed" in result.stdout
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Ingest failed: exchange unreachable (ConnectError); this window's announcements " \
        "were not read" in text


def test_json_result(tmp_path: Path, unreachable: dict[str, str]) -> None:
    result = once(tmp_path / "root", *WINDOW, "--json", **unreachable)
    report = json.loads(result.stdout)
    assert result.returncode == 1 and report["ok"] is False
    assert report["ingest"] == {"ok": False, "announcements": 0, "batch": None,
                                "error": "exchange unreachable (ConnectError)"}
    assert report["reasons"] == ["ingest failed: exchange unreachable (ConnectError), "
                                 "0 announcements"]
    assert report["email"]["state"] == "sent" and report["email"]["transport"] == "outbox"
    assert report["alerts"] == 1


def test_an_email_the_server_did_not_take_is_not_called_sent(tmp_path: Path) -> None:
    with refused_port() as port:
        result = once(tmp_path / "root", *WINDOW, "--no-ingest", SMTP_HOST="127.0.0.1",
                      SMTP_PORT=str(port), SMTP_SECURITY="none",
                      ALERT_TO_EMAIL="desk@example.com", IDXD_EMAIL_SEND_EMPTY="true")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == "idxd once: the email was not delivered."
    line = next(line for line in result.stdout.splitlines() if line.startswith("email:"))
    assert line.startswith("email:     NOT delivered (") and "waits in" in line
    assert "ingest:    skipped (--no-ingest)" in result.stdout


def test_a_clean_run_exits_0_with_its_summary(tmp_path: Path) -> None:
    result = once(tmp_path / "root", *WINDOW, "--no-ingest")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "window 20261127_1600_20261127_1800: ok"
    assert "email:     none (nothing to report in this window)" in result.stdout
    assert not any(line.startswith("idxd") for line in result.stderr.splitlines())
