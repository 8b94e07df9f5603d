"""The daemon as a real process: signals, crashes, the lock, settings, systemd notification."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from daemon.ledger import Ledger
from tests.engine.conftest import REPO, drop, runs, wait_for, write_config


def log_events(process: subprocess.Popen[bytes]) -> list[dict]:
    path: Path = process.log_path  # type: ignore[attr-defined]
    events = []
    for line in path.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


def has_event(process: subprocess.Popen[bytes], name: str) -> bool:
    return any(event.get("event") == name for event in log_events(process))


def test_sigterm_during_a_slow_handler_drains_it_and_exits_0(spawn, root: Path) -> None:
    process = spawn()
    wait_for(lambda: has_event(process, "daemon.started"))
    drop(root, "in/a", "slow.txt", "slow:1.5")
    wait_for(lambda: has_event(process, "file.received"))
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    assert len(runs(root, "a")) == 1  # the slow handler finished its one run
    assert (root / "in" / "b" / "slow.txt").exists()
    assert has_event(process, "daemon.stopped")


def test_a_second_signal_exits_at_once(spawn, root: Path) -> None:
    process = spawn()
    wait_for(lambda: has_event(process, "daemon.started"))
    drop(root, "in/a", "stuck.txt", "slow:30")
    wait_for(lambda: has_event(process, "file.received"))
    process.send_signal(signal.SIGTERM)
    wait_for(lambda: has_event(process, "daemon.stopping"), what="the first signal's drain")
    process.send_signal(signal.SIGTERM)
    assert process.wait(5) == 130


def test_sigkill_at_random_moments_then_restart_processes_every_file_exactly_once(
        spawn, root: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path / "crash.toml", root)
    names = [f"file-{index:04d}.txt" for index in range(2000)]
    for name in names:
        drop(root, "in/a", name, f"payload {name}")
    rng = random.Random(7)
    for kill in range(6):
        process = spawn(config=config)
        wait_for(lambda process=process: has_event(process, "daemon.started"))
        time.sleep(rng.uniform(0.05, 0.5))  # the moment of the kill, not a wait
        process.kill()
        process.wait(10)
        if kill == 0:  # the first kill lands in the middle of the work
            assert len(list((root / "out").glob("*.txt"))) < len(names)
    final = spawn(config=config)
    wait_for(lambda: has_event(final, "daemon.started"))
    wait_for(lambda: len(list((root / "out").glob("*.txt"))) == len(names), timeout_s=60,
             what="every file to reach the end")
    final.send_signal(signal.SIGTERM)
    assert final.wait(20) == 0
    assert sorted(path.name for path in (root / "out").glob("*.txt")) == names
    for name in names:
        assert (root / "out" / name).read_text() == f"payload {name}"
    ledger = Ledger.open(root)
    counts = ledger.counts()
    for stage in ("a", "b", "c"):
        assert counts[stage] == {"done": len(names)}, counts
    leftovers = [path for path in root.rglob(".*.tmp")]
    assert leftovers == []


def test_a_second_instance_on_the_same_root_is_refused(spawn, root: Path) -> None:
    first = spawn()
    wait_for(lambda: has_event(first, "daemon.started"))
    second = spawn()
    assert second.wait(20) == 3
    output = second.log_path.read_text()  # type: ignore[attr-defined]
    assert f"pid {first.pid}" in output and "already running" in output
    assert first.poll() is None


def test_a_bad_setting_exits_2_with_one_sentence(tmp_path: Path, root: Path) -> None:
    config = write_config(tmp_path / "bad.toml", root, workers=0)
    result = subprocess.run([sys.executable, "-m", "daemon", "--config", str(config), "run"],
                            cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "idxd: The setting workers (from [daemon] workers) must be a whole number from 1 to "
        "256, got 0.")


def test_a_bad_environment_value_names_the_variable(tmp_path: Path, root: Path) -> None:
    config = write_config(tmp_path / "ok.toml", root)
    result = subprocess.run([sys.executable, "-m", "daemon", "--config", str(config), "run"],
                            cwd=REPO, capture_output=True, text=True, timeout=30,
                            env={**os.environ, "IDXD_OBSERVER": "fanotify"})
    assert result.returncode == 2
    assert "IDXD_OBSERVER" in result.stderr and "inotify" in result.stderr


@pytest.fixture
def notify_socket(tmp_path: Path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(15)
    yield path, sock
    sock.close()


def receive_until(sock: socket.socket, wanted: str) -> list[str]:
    messages = []
    while True:
        message = sock.recv(4096).decode()
        messages.append(message)
        if wanted in message.splitlines():
            return messages


def test_ready_watchdog_and_stopping_arrive_on_the_notification_socket(
        spawn, root: Path, notify_socket) -> None:
    path, sock = notify_socket
    process = spawn(env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"})
    ready = receive_until(sock, "READY=1")
    assert any(line.startswith("STATUS=watching 3 inboxes") for line in ready[-1].splitlines())
    receive_until(sock, "WATCHDOG=1")
    process.send_signal(signal.SIGTERM)
    receive_until(sock, "STOPPING=1")
    assert process.wait(20) == 0


def test_sighup_applies_live_settings_and_names_the_ones_needing_a_restart(
        spawn, root: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path / "live.toml", root, testapp={"label": "before"})
    process = spawn(config=config)
    wait_for(lambda: has_event(process, "daemon.started"))
    write_config(config, root, settle_ms=50, workers=7, testapp={"label": "after"})
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: has_event(process, "config.restart_required"))
    reloaded = next(e for e in log_events(process) if e["event"] == "config.reloaded")
    restart = next(e for e in log_events(process) if e["event"] == "config.restart_required")
    assert "engine.settle_ms" in reloaded["applied"] and "app.label" in reloaded["applied"]
    assert restart["settings"] == ["engine.workers"]
    assert (root / "reloaded.txt").read_text() == "after"
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0


def test_a_file_that_kills_the_process_is_quarantined_after_two_crashes(
        spawn, root: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path / "deadly.toml", root, workers=1)
    names = [f"good-{index}.txt" for index in range(5)]
    for name in names:
        drop(root, "in/a", name, f"payload {name}")
    drop(root, "in/a", "deadly.txt", "die")
    for death in range(2):  # what systemd's Restart=on-failure does after each death
        process = spawn(config=config)
        assert process.wait(30) == -signal.SIGKILL, f"death {death + 1}"
    assert len([line for line in runs(root, "a") if "deadly.txt" in line]) == 2
    survivor = spawn(config=config)
    quarantined = root / "quarantine" / "a" / "deadly.txt"
    wait_for(quarantined.exists, 30, "the deadly file to be set aside", alive=survivor)
    wait_for(lambda: len(list((root / "out").glob("good-*.txt"))) == len(names), 30,
             "the other files", alive=survivor)
    error = json.loads(quarantined.with_name("deadly.txt.error.json").read_text())
    assert (error["code"], error["details"]) == ("crashed_process",
                                                 {"crashes": 2, "crash_limit": 2})
    assert error["attempts"] == 2
    wait_for((root / "alerts" / "a-deadly.txt-crashed_process.alert").exists, what="the alert")
    assert len([line for line in runs(root, "a") if "deadly.txt" in line]) == 2  # not a third
    assert survivor.poll() is None
    survivor.send_signal(signal.SIGTERM)
    assert survivor.wait(20) == 0
    [row] = Ledger.open(root).rows_for("in/a/deadly.txt")
    assert (row["state"], row["crashes"], row["error_code"]) == ("quarantined", 2,
                                                                  "crashed_process")


def test_files_running_beside_a_deadly_one_are_not_blamed_for_its_deaths(
        spawn, root: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path / "crowd.toml", root, workers=4)
    names = [f"slow-{index}.txt" for index in range(3)]
    for name in names:  # still running when the deadly file kills the process
        drop(root, "in/a", name, "slow:0.3")
    drop(root, "in/a", "deadly.txt", "die")
    quarantined = root / "quarantine" / "a" / "deadly.txt"
    deaths = 0
    while True:  # restarted after each death, as systemd would
        process = spawn(config=config)
        wait_for(lambda process=process: process.poll() is not None or quarantined.exists(),
                 30, "a death or the deadly file set aside")
        if process.poll() is None:
            break
        assert process.returncode == -signal.SIGKILL
        deaths += 1
        assert deaths <= 3, "the deadly file was never set aside"
    wait_for(lambda: len(list((root / "out").glob("slow-*.txt"))) == len(names), 30,
             "the files that ran beside it", alive=process)
    assert 2 <= deaths <= 3  # 2 alone, or 1 among others (no blame) and 2 alone
    assert sorted(path.name for path in (root / "quarantine" / "a").iterdir()) == [
        "deadly.txt", "deadly.txt.error.json"]


def test_a_file_killed_while_it_works_on_after_a_hand_off_is_not_blamed(
        spawn, root: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path / "long.toml", root, workers=1)
    drop(root, "in/a", "long.txt", "progress:60")
    process = spawn(config=config)
    ledger = root / "state" / "ledger.sqlite3"

    def progressed() -> list[tuple[str, int]]:
        with contextlib.closing(sqlite3.connect(ledger, timeout=5)) as db:
            return db.execute("SELECT state, progressed FROM files WHERE path = ?",
                              ("in/a/long.txt",)).fetchall()

    wait_for(lambda: ledger.exists() and progressed() == [("running", 1)], 20,
             "the hand-off noted while the file still runs", alive=process)
    process.kill()  # from outside, as the OOM killer or an operator would
    process.wait(10)
    survivor = spawn(config=config)
    wait_for((root / "out" / "long.txt").exists, 30, "the file done", alive=survivor)
    survivor.send_signal(signal.SIGTERM)
    assert survivor.wait(20) == 0
    [row] = Ledger.open(root).rows_for("in/a/long.txt")
    assert (row["state"], row["crashes"], row["attempts"]) == ("done", 0, 2)


def test_the_crash_limit_is_a_setting(spawn, root: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path / "deadly.toml", root)
    drop(root, "in/a", "deadly.txt", "die")
    process = spawn(config=config, env={"IDXD_CRASH_LIMIT": "1"})
    assert process.wait(30) == -signal.SIGKILL
    survivor = spawn(config=config, env={"IDXD_CRASH_LIMIT": "1"})
    wait_for((root / "quarantine" / "a" / "deadly.txt").exists, 30, alive=survivor)
    assert len(runs(root, "a")) == 1
