"""The shipped unit under a real systemd: start waits for READY=1, files flow, logs reach the
journal as JSON, reload applies settings, stop drains and exits 0, a hung daemon is killed by
the watchdog and restarted. One container serves the whole module; each test starts the unit
itself, so the order does not matter."""

from __future__ import annotations

import pytest

from tests.support import wait_for
from tests.systemd.conftest import STATE, Container

pytestmark = [pytest.mark.systemd, pytest.mark.slow]


def started(box: Container) -> Container:
    box.systemctl("start", "idxd")
    return box


def events(box: Container, name: str, **fields: object) -> list[dict[str, object]]:
    return [event for event in box.log_events() if event.get("event") == name
            and all(event.get(key) == value for key, value in fields.items())]


def test_start_returns_once_the_daemon_said_ready_and_runs_as_idxd(container: Container) -> None:
    box = started(container)
    # STATUS= travels in the READY=1 datagram: systemd knows it only from the daemon itself.
    assert box.show("ActiveState") == "active"
    assert box.show("StatusText").startswith("watching 3 inboxes")
    main_pid = box.show("MainPID")
    uid = box.path(f"/proc/{main_pid}/status").read_text().split("Uid:")[1].split()[0]
    assert box.run("getent", "passwd", "idxd").stdout.split(":")[2] == uid != "0"


def test_a_dropped_file_is_processed_and_logged_as_json(container: Container) -> None:
    box = started(container)
    box.drop("in/a", "hello.txt", "hello")
    wait_for(lambda: box.path(f"{STATE}/out/hello.txt").exists(), 15, "the chain to finish")
    processed = wait_for(lambda: events(box, "file.processed", stage="c", path="in/c/hello.txt"),
                         10, "file.processed in the journal")
    assert processed[0]["outputs"] == ["out/hello.txt"]
    assert processed[0]["level"] == "info" and "sha256" in processed[0]


def test_a_burst_of_log_lines_reaches_the_journal_whole(container: Container) -> None:
    """journald drops what a service logs beyond 10,000 lines in 30 s unless the unit lifts
    the limit; a catch-up of thousands of files logs more than that."""
    box = started(container)
    box.drop("in/a", "burst.txt", "log:12000")
    wait_for(lambda: events(box, "file.processed", stage="a", path="in/a/burst.txt"), 30,
             "the burst to be logged")
    lines = events(box, "test.line")
    assert [line["number"] for line in lines] == list(range(12000))


def test_reload_applies_the_new_settings(container: Container) -> None:
    box = started(container)
    box.set_label("after-reload")
    box.systemctl("reload", "idxd")
    reloaded = box.path(f"{STATE}/reloaded.txt")
    wait_for(lambda: reloaded.exists() and reloaded.read_text() == "after-reload", 15,
             "the test app to see the reloaded label")
    assert any("app.label" in event["applied"] for event in events(box, "config.reloaded"))
    assert box.show("ActiveState") == "active"


def test_stop_drains_the_running_file_and_exits_zero(container: Container) -> None:
    box = started(container)
    box.drop("in/a", "slow.txt", "slow:2")
    wait_for(lambda: events(box, "file.received", path="in/a/slow.txt"), 15, "the slow file")
    box.systemctl("stop", "idxd")
    assert box.show("ActiveState") == "inactive"
    assert (box.show("Result"), box.show("ExecMainStatus")) == ("success", "0")
    # The handler ran to its end: its output exists and the drain said so.
    assert box.path(f"{STATE}/in/b/slow.txt").exists()
    assert events(box, "daemon.stopped", drained=True)


def test_a_hung_daemon_is_killed_by_the_watchdog_and_restarted(container: Container) -> None:
    box = started(container)
    hung_pid, restarts = box.show("MainPID"), int(box.show("NRestarts"))
    # A stopped process is the honest hang: its main loop sends no WATCHDOG=1 any more.
    box.run("kill", "-STOP", hung_pid)
    wait_for(lambda: int(box.show("NRestarts")) == restarts + 1, 30, "a watchdog restart")
    wait_for(lambda: box.show("ActiveState") == "active", 15, "the restarted daemon")
    assert box.show("MainPID") not in (hung_pid, "0")
    journal = box.run("journalctl", "-u", "idxd", "--no-pager").stdout
    assert "Watchdog timeout" in journal and "Failed with result 'watchdog'" in journal
    box.drop("in/a", "after-restart.txt", "still working")
    wait_for(lambda: box.path(f"{STATE}/out/after-restart.txt").exists(), 15,
             "the restarted daemon to process a file")
