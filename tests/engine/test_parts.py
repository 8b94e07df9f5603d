"""Engine parts that need no running daemon: the timer, settle, settings, hand-off, observer
choice, the notification protocol."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from daemon.config import EngineSettings, changed_settings, load_settings
from daemon.emitter import is_temporary_name_bytes
from daemon.errors import ConfigError
from daemon.files import is_temporary_name, remove_stale_temp_files, write_atomic
from daemon.ledger import FileState, Ledger
from daemon.settle import Settler
from daemon.systemd import Notifier
from daemon.timer import Timer
from daemon.watch import filesystem_type, observer_kind
from tests.engine.conftest import write_config


def test_the_timer_runs_a_job_once_per_period() -> None:
    timer = Timer()
    timer.add("ingest", lambda: 10.0, now=100.0)
    assert timer.due(100.0) == ["ingest"]
    assert timer.due(105.0) == []
    assert timer.due(110.0) == ["ingest"]
    assert timer.seconds_to_next(112.0) == 8.0


def test_the_timer_skips_missed_periods_instead_of_bursting() -> None:
    timer = Timer()
    timer.add("ingest", lambda: 10.0, now=0.0, run_at_start=False)
    assert timer.due(95.0) == ["ingest"]  # nine periods missed during a stall: one run
    assert timer.due(99.0) == []
    assert timer.due(100.0) == ["ingest"]  # back on the original grid


def test_a_period_change_takes_effect_at_the_next_deadline() -> None:
    period = {"s": 10.0}
    timer = Timer()
    timer.add("job", lambda: period["s"], now=0.0)
    timer.due(0.0)
    period["s"] = 2.0
    assert timer.due(10.0) == ["job"]
    assert timer.due(12.0) == ["job"]


def test_a_file_settles_only_after_size_and_mtime_are_stable(tmp_path: Path) -> None:
    clock = {"now": 0.0}
    settler = Settler(500, clock=lambda: clock["now"])
    path = tmp_path / "copy.pdf"
    path.write_bytes(b"part")
    settler.observe(str(path))
    clock["now"] = 0.4
    assert settler.due() == []
    with path.open("ab") as handle:
        handle.write(b" more")
    clock["now"] = 0.6
    assert settler.due() == []  # it changed: the clock restarts
    clock["now"] = 1.2
    assert settler.due() == [str(path)]
    assert settler.due() == []


def test_a_file_its_writer_holds_open_waits_for_the_close_or_the_generous_bound(
        tmp_path: Path) -> None:
    clock = {"now": 0.0}
    settler = Settler(500, clock=lambda: clock["now"], open_stable_s=300)
    path = tmp_path / "batch.json"
    path.write_bytes(b"[")
    settler.observe(str(path))
    settler.opened(str(path))
    clock["now"] = 60.0
    assert settler.due() == []  # stable for a minute, but a writer holds it
    assert settler.seconds_to_next() == 240.0
    clock["now"] = 300.0
    assert settler.due() == [str(path)]  # its close was lost: the bound takes it


def test_a_reader_that_closes_without_writing_leaves_the_stable_rule(tmp_path: Path) -> None:
    clock = {"now": 0.0}
    settler = Settler(500, clock=lambda: clock["now"])
    path = tmp_path / "moved-in.pdf"
    path.write_bytes(b"whole")
    settler.observe(str(path))
    settler.opened(str(path))
    settler.closed_unwritten(str(path))
    clock["now"] = 0.6
    assert settler.due() == [str(path)]


@pytest.mark.parametrize("name, temporary", [
    (".hidden.json", True), ("a.json.tmp", True), ("a.pdf.part", True), ("a.json~", True),
    ("a.json", False), ("LK-24042026-7431-00.pdf", False)])
def test_temporary_names(name: str, temporary: bool) -> None:
    assert is_temporary_name(name) is temporary
    assert is_temporary_name_bytes(os.fsencode(name)) is temporary  # as the watcher asks


def test_hand_off_writes_whole_files_and_a_crash_leaves_only_our_temp_names(
        tmp_path: Path) -> None:
    target = write_atomic(tmp_path / "out" / "a.json", b"{}")
    assert target.read_bytes() == b"{}"
    assert os.listdir(tmp_path / "out") == ["a.json"]
    (tmp_path / "out" / ".a.json.x1.idxd.tmp").write_bytes(b"{")  # a killed writer's leftover
    (tmp_path / "out" / ".someone-else.tmp").write_bytes(b"theirs")
    assert remove_stale_temp_files(tmp_path) == 1
    assert sorted(os.listdir(tmp_path / "out")) == [".someone-else.tmp", "a.json"]


def test_hand_offs_of_one_name_from_many_threads_each_land_whole(tmp_path: Path) -> None:
    bodies = [bytes([number]) * 65536 for number in range(8)]
    threads = [threading.Thread(target=lambda body=body: [
        write_atomic(tmp_path / "out" / "same.pdf", body, durable=False) for _ in range(50)])
        for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (tmp_path / "out" / "same.pdf").read_bytes() in bodies
    assert os.listdir(tmp_path / "out") == ["same.pdf"]


def test_a_hand_off_the_filesystem_refuses_leaves_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "out" / "a.json").mkdir(parents=True)  # a directory where the file would go
    with pytest.raises(OSError):
        write_atomic(tmp_path / "out" / "a.json", b"{}")
    assert os.listdir(tmp_path / "out") == ["a.json"]


def test_network_filesystems_get_the_polling_observer(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/sda1 / ext4 rw 0 0\n"
                      "server:/export /mnt/share nfs4 rw 0 0\n"
                      "//host/share /mnt/smb cifs rw 0 0\n")
    assert filesystem_type(Path("/mnt/share/idxd"), str(mounts)) == "nfs4"
    assert filesystem_type(Path("/mnt/smb"), str(mounts)) == "cifs"
    assert filesystem_type(Path("/var/lib/idxd"), str(mounts)) == "ext4"
    assert observer_kind("polling", tmp_path) == "polling"
    assert observer_kind("inotify", tmp_path) == "inotify"


def test_settings_come_from_toml_and_the_environment_wins(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", tmp_path / "root", settle_ms=250, workers=3)
    settings = load_settings(config, env={"IDXD_WORKERS": "6"})
    assert settings.engine.settle_ms == 250
    assert settings.engine.workers == 6
    with pytest.raises(ConfigError, match=r"The setting rescan_s .* must be a number greater"):
        load_settings(config, env={"IDXD_RESCAN_S": "-1"})


def test_an_unknown_stage_in_the_concurrency_table_is_named(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[daemon]\napp = "tests.engine.testapp:APP"\n'
                      '[daemon.stage_concurrency]\nparse = 2\n')
    with pytest.raises(ConfigError, match="unknown stage 'parse'; the stages are a, b, c"):
        load_settings(config, env={})


def test_changed_settings_names_what_differs() -> None:
    before = EngineSettings(settle_ms=100, workers=2)
    after = EngineSettings(settle_ms=200, workers=2)
    assert changed_settings(before, after) == ["settle_ms"]


def test_notifications_go_to_an_abstract_socket_too() -> None:
    name = f"idxd-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    notifier = Notifier({"NOTIFY_SOCKET": "@" + name})
    assert notifier.ready("up")
    assert sock.recv(1024) == b"READY=1\nSTATUS=up"
    sock.close()
    assert Notifier({}).ready("nobody listens") is False


def test_a_reload_keeps_restart_only_values_until_a_restart(tmp_path: Path) -> None:
    from daemon.reload import plan_reload

    config = write_config(tmp_path / "c.toml", tmp_path / "root", settle_ms=100, workers=2)
    current = load_settings(config, env={})
    write_config(config, tmp_path / "elsewhere", settle_ms=300, workers=8)
    plan = plan_reload(current, load_settings(config, env={}))
    assert plan.applied == ["engine.settle_ms"]
    assert sorted(plan.needs_restart) == ["engine.root", "engine.workers"]
    assert plan.settings.engine.settle_ms == 300
    assert (plan.settings.engine.workers, plan.settings.engine.root) == (2, tmp_path / "root")


def test_the_ledger_says_whether_it_has_finished_a_files_current_content(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path)
    path = "in/a/x.txt"
    assert not ledger.has_finished(path, 5, 100)  # never seen
    first = ledger.claim("a", path, "1" * 64, 5, 100)
    assert first is not None and not ledger.has_finished(path, 5, 100)  # running
    ledger.finish(first.row_id, [], 1.0)
    assert ledger.has_finished(path, 5, 100)
    assert not ledger.has_finished(path, 6, 200)  # rewritten since
    second = ledger.claim("a", path, "2" * 64, 6, 200)
    assert second is not None
    ledger.fail(second.row_id, state=FileState.QUARANTINED, code="bad", error="x",
                duration_ms=1)
    assert ledger.has_finished(path, 6, 200)
    ledger.close()
