"""Retries, quarantine with its reason, and replay."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.ledger import Ledger
from tests.engine.conftest import drop, fill, runs, wait_for, write_config
from tests.engine.test_process import log_events, notify_socket, receive_until
from tests.support import tmpfs

__all__ = ["notify_socket"]  # a fixture the full-root tests share with the process tests


def test_a_transient_failure_is_retried_and_then_succeeds(start_daemon, root: Path) -> None:
    start_daemon(retry_attempts=4)
    drop(root, "in/a", "flaky.txt", "transient:2")
    wait_for(lambda: (root / "out" / "flaky.txt").exists())
    assert (root / "attempts" / "flaky.txt").read_text() == "3"
    ledger = Ledger.open(root)
    [row] = ledger.rows_for("in/a/flaky.txt")
    assert (row["state"], row["attempts"]) == ("done", 3)


def test_transient_failures_beyond_the_retries_leave_the_file_in_place_as_failed(
        start_daemon, root: Path) -> None:
    start_daemon(retry_attempts=2)
    drop(root, "in/a", "down.txt", "transient:99")
    ledger = Ledger.open(root)
    wait_for(lambda: [row["state"] for row in ledger.rows_for("in/a/down.txt")] == ["failed"])
    assert (root / "in" / "a" / "down.txt").exists()  # not lost, not quarantined
    assert not (root / "quarantine").exists()
    wait_for((root / "alerts" / "a-down.txt-retries_exhausted.alert").exists)


def test_a_stage_with_its_own_retry_budget_stops_there(start_daemon, root: Path) -> None:
    start_daemon(retry_attempts=6, testapp={"a_retry_attempts": 2})
    drop(root, "in/a", "down.txt", "transient:99")
    ledger = Ledger.open(root)
    wait_for(lambda: [row["state"] for row in ledger.rows_for("in/a/down.txt")] == ["failed"])
    assert (root / "attempts" / "down.txt").read_text() == "2"  # the stage's 2, not the 6


def test_bad_input_is_quarantined_with_its_reason_and_an_alert(start_daemon, root: Path) -> None:
    start_daemon()
    drop(root, "in/a", "bad.txt", "reject")
    quarantined = root / "quarantine" / "a" / "bad.txt"
    wait_for(quarantined.exists)
    error = json.loads((root / "quarantine" / "a" / "bad.txt.error.json").read_text())
    assert error["stage"] == "a"
    assert error["code"] == "bad_content"
    assert error["error_type"] == "RejectedInput"
    assert error["message"] == "the file says reject"
    assert error["attempts"] == 1
    assert error["source_path"] == "in/a/bad.txt"
    assert error["failed_at"] and error["first_attempt_at"]
    assert not (root / "in" / "a" / "bad.txt").exists()
    wait_for((root / "alerts" / "a-bad.txt-bad_content.alert").exists)


def test_an_unexpected_error_is_not_retried_and_is_quarantined(start_daemon, root: Path) -> None:
    start_daemon(retry_attempts=5)
    drop(root, "in/a", "boom.txt", "crash")
    wait_for((root / "quarantine" / "a" / "boom.txt").exists)
    error = json.loads((root / "quarantine" / "a" / "boom.txt.error.json").read_text())
    assert (error["code"], error["error_type"], error["attempts"]) == (
        "unexpected_error", "RuntimeError", 1)


def test_replay_brings_a_quarantined_file_back_and_it_is_processed(
        start_daemon, root: Path, tmp_path: Path, capsys) -> None:
    start_daemon()
    drop(root, "in/a", "fixme.txt", "reject")
    quarantined = root / "quarantine" / "a" / "fixme.txt"
    wait_for(quarantined.exists)
    quarantined.write_text("fixed by the operator")
    config = write_config(tmp_path / "cli.toml", root)
    assert main(["--config", str(config), "replay", str(quarantined)]) == 0
    wait_for((root / "out" / "fixme.txt").exists, what="the replayed file to go through")
    assert not quarantined.exists()


def test_replay_of_unchanged_content_processes_it_again(start_daemon, root: Path,
                                                        tmp_path: Path) -> None:
    daemon = start_daemon()
    drop(root, "in/a", "again.txt", "reject")
    error_file = root / "quarantine" / "a" / "again.txt.error.json"
    wait_for(error_file.exists)
    # The reason is written before the file is moved beside it; replay looks for the file.
    wait_for(lambda: daemon.ledger.rows_in_state("quarantined"), what="the move")
    first_failure = json.loads(error_file.read_text())["failed_at"]
    config = write_config(tmp_path / "cli.toml", root)
    assert main(["--config", str(config), "replay", "--failed"]) == 0

    def failed_again() -> bool:
        try:
            return json.loads(error_file.read_text())["failed_at"] != first_failure
        except (FileNotFoundError, json.JSONDecodeError):
            return False

    wait_for(failed_again, what="a second attempt")


def test_a_symlink_in_an_inbox_is_quarantined_not_followed(start_daemon, root: Path,
                                                           tmp_path: Path) -> None:
    secret = tmp_path / "outside-secret.txt"
    secret.write_text("do not read me")
    daemon = start_daemon(settle_ms=50)
    (root / "in" / "a" / "link.txt").symlink_to(secret)
    wait_for((root / "quarantine" / "a" / "link.txt").exists)
    error = json.loads((root / "quarantine" / "a" / "link.txt.error.json").read_text())
    assert error["code"] == "not_a_regular_file"
    assert secret.read_text() == "do not read me"
    wait_for(daemon.idle, what="the daemon to be done with the link")
    assert runs(root) == []


def test_a_name_that_is_not_utf8_or_has_control_characters_is_quarantined(
        start_daemon, root: Path) -> None:
    daemon = start_daemon(settle_ms=50)
    inbox = os.fsencode(root / "in" / "a")
    for raw in (b"/latin\xe9.txt", b"/bell\x07.txt"):
        with open(inbox + raw, "wb") as handle:
            handle.write(b"some content")
    wait_for(lambda: len(list((root / "quarantine" / "a").glob("*.error.json"))) == 2
             if (root / "quarantine" / "a").exists() else False)
    # The reason is written before the file is moved beside it; the row is final after both.
    wait_for(lambda: len(daemon.ledger.rows_in_state("quarantined")) == 2, what="both moves")
    errors = sorted(json.loads(path.read_text())["source_path"]
                    for path in (root / "quarantine" / "a").glob("*.error.json"))
    assert errors == ["in/a/bell\\x07.txt", "in/a/latin\\xe9.txt"]
    assert sorted(path.name for path in (root / "quarantine" / "a").iterdir()
                  if not path.name.endswith(".json")) == ["bell\\x07.txt", "latin\\xe9.txt"]
    drop(root, "in/a", "after.txt", "the daemon still serves")
    wait_for((root / "out" / "after.txt").exists)


def test_a_name_at_the_filesystem_limit_is_handled_and_quarantined_whole(
        start_daemon, root: Path) -> None:
    daemon = start_daemon(settle_ms=50)
    long_ok = "k" * 251 + ".txt"  # 255 bytes: the longest name the filesystem takes
    drop(root, "in/a", long_ok, "a long but fine name")
    wait_for((root / "out" / long_ok).exists)
    long_bad = "r" * 251 + ".txt"
    drop(root, "in/a", long_bad, "reject")
    wait_for(lambda: len(list((root / "quarantine" / "a").glob("*.error.json"))) == 1
             if (root / "quarantine" / "a").exists() else False)
    wait_for(lambda: daemon.ledger.rows_in_state("quarantined"), what="the move")
    [error_file] = (root / "quarantine" / "a").glob("*.error.json")
    assert json.loads(error_file.read_text())["source_path"] == f"in/a/{long_bad}"
    assert (root / "quarantine" / "a" / error_file.name.removesuffix(".error.json")
            ).read_text() == "reject"


@pytest.fixture
def full_disk(root: Path):
    """`in/b` on a tiny tmpfs, filled up: writes there fail with ENOSPC."""
    with tmpfs(root / "in" / "b", "64k") as target:
        yield fill(target, "filler.bin")


def test_a_full_disk_is_retried_later_and_never_quarantines_the_input(
        start_daemon, root: Path, full_disk: Path) -> None:
    start_daemon(retry_attempts=2, rescan_s=0.2, failed_retry_s=0.5)
    drop(root, "in/a", "waits.txt", "x" * 4096)
    ledger = Ledger.open(root)
    wait_for(lambda: [row["state"] for row in ledger.rows_for("in/a/waits.txt")] == ["failed"])
    assert (root / "in" / "a" / "waits.txt").exists()
    assert not (root / "quarantine").exists()
    full_disk.unlink()  # space again
    wait_for((root / "out" / "waits.txt").exists, what="the retry after space came back")


def events_named(process: subprocess.Popen[bytes], name: str) -> list[dict]:
    return [event for event in log_events(process) if event.get("event") == name]


def drain_datagrams(sock: socket.socket) -> None:
    """Forget what was sent so far: the next receive is news."""
    sock.setblocking(False)
    with contextlib.suppress(BlockingIOError):
        while True:
            sock.recv(4096)
    sock.settimeout(15)


def receive_status(sock: socket.socket) -> str:
    while True:
        for line in sock.recv(4096).decode().splitlines():
            if line.startswith("STATUS="):
                return line


def test_a_full_root_holds_files_back_keeps_beating_and_resumes_when_space_returns(
        spawn, small_root: Path, notify_socket) -> None:
    root = small_root
    socket_path, sock = notify_socket
    staging = root / "staging"  # on the same filesystem: a rename needs no room
    drop(root, "staging", "late.txt", "arrives on a full disk")
    process = spawn(env={"NOTIFY_SOCKET": str(socket_path), "WATCHDOG_USEC": "400000"},
                    settle_ms=100, retry_attempts=2)
    wait_for(lambda: events_named(process, "daemon.started"), 20, alive=process)
    drop(root, "in/a", "early.txt", "before the disk filled")
    wait_for((root / "out" / "early.txt").exists, 20, "a file before the disk filled",
             alive=process)
    ballast = fill(root)
    os.replace(staging / "late.txt", root / "in" / "a" / "late.txt")
    wait_for(lambda: events_named(process, "disk.full"), 30, "disk.full", alive=process)
    drain_datagrams(sock)
    # The heartbeat's state write meets the full disk too: the loop goes on answering
    # systemd's watchdog after it.
    receive_status(sock)
    receive_until(sock, "WATCHDOG=1")
    assert process.poll() is None
    sock.close()  # no one listens from here on: a queue nobody reads would block its sender
    assert (root / "in" / "a" / "late.txt").exists() and not (root / "quarantine").exists()
    assert not (root / "out" / "late.txt").exists()
    ballast.unlink()
    wait_for((root / "out" / "late.txt").exists, 60, "the held file after space returned",
             alive=process)
    wait_for(lambda: events_named(process, "disk.recovered"), 30, "disk.recovered",
             alive=process)
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    assert len(events_named(process, "disk.full")) == 1
    assert not events_named(process, "file.quarantined")
    assert (root / "out" / "late.txt").read_text() == "arrives on a full disk"
    ledger = Ledger.open(root)
    assert ledger.rows_in_state("running") == []
    assert {row["state"] for row in ledger.rows_for("in/a/late.txt")} == {"done"}
    assert not (root / "quarantine").exists()


def test_starting_on_a_full_root_waits_for_space_instead_of_exiting(
        spawn, small_root: Path) -> None:
    root = small_root
    drop(root, "in/a", "waiting.txt", "here before the start")
    ballast = fill(root)
    process = spawn(settle_ms=100)
    wait_for(lambda: events_named(process, "disk.full"), 30, "disk.full", alive=process)
    assert not events_named(process, "daemon.started")
    ballast.unlink()
    wait_for((root / "out" / "waiting.txt").exists, 60, "the file after space returned",
             alive=process)
    assert events_named(process, "disk.recovered") and events_named(process, "daemon.started")
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    output = process.log_path.read_text()  # type: ignore[attr-defined]
    assert "Traceback" not in output


def test_a_stop_while_waiting_for_space_at_start_exits_0(spawn, small_root: Path) -> None:
    ballast = fill(small_root)
    process = spawn()
    wait_for(lambda: events_named(process, "disk.full"), 30, "disk.full", alive=process)
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    ballast.unlink()
