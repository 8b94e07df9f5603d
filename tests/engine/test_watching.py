"""Files reach their handler exactly once, however they arrive."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from daemon.files import ROUTED_SUFFIX
from daemon.outcomes import OutcomeState
from tests.engine.conftest import drop, runs, settled, wait_for


def chain(name: str) -> tuple[str, ...]:
    """The inbox paths a file takes through the three stages."""
    return (f"in/a/{name}", f"in/b/{name}", f"in/c/{name}")


def test_a_dropped_file_goes_through_every_stage_once(start_daemon, root: Path) -> None:
    daemon = start_daemon()
    drop(root, "in/a", "one.txt", "hello")
    wait_for(lambda: (root / "out" / "one.txt").exists(), what="the chain to finish")
    wait_for(lambda: settled(daemon, *chain("one.txt")), what="every stage's row to be final")
    assert [line.split()[:2] for line in runs(root)] == [
        ["a", "one.txt"], ["b", "one.txt"], ["c", "one.txt"]]
    assert (root / "out" / "one.txt").read_text() == "hello"


def test_a_file_written_slowly_is_processed_once_after_its_last_write(
        start_daemon, root: Path) -> None:
    daemon = start_daemon(settle_ms=400)
    path = root / "in" / "a" / "slow.txt"
    with path.open("w") as handle:
        for chunk in range(5):
            handle.write(f"chunk {chunk}\n")
            handle.flush()
            time.sleep(0.1)  # a slow writer, not a wait
    wait_for(lambda: (root / "out" / "slow.txt").exists())
    # A run on a partial file would leave the whole content still to do: wait until the
    # content as last written has its final row in every stage.
    wait_for(lambda: settled(daemon, *chain("slow.txt")), what="the last write to be done")
    assert len(runs(root, "a")) == 1
    assert (root / "out" / "slow.txt").read_text().count("chunk") == 5


def test_a_writer_that_pauses_with_the_file_open_is_waited_for_until_it_closes(
        start_daemon, root: Path) -> None:
    daemon = start_daemon(settle_ms=100, rescan_s=0.1)  # rescans during the pause, too
    path = root / "in" / "a" / "batch.txt"
    with path.open("w") as writer:
        writer.write("batch\nline 1\n")
        writer.flush()
        wait_for(lambda: daemon.settler.waiting(str(path)), what="the file to be seen")
        time.sleep(1.0)  # the writer pauses ten settle periods with the file open
        assert runs(root) == [] and not (root / "quarantine").exists()
        writer.write("line 2\nend\n")
    wait_for(lambda: settled(daemon, *chain("batch.txt")), what="the closed file to be done")
    assert len(runs(root, "a")) == 1
    assert (root / "out" / "batch.txt").read_text() == "batch\nline 1\nline 2\nend\n"
    assert not (root / "quarantine").exists()


def test_a_temporary_name_is_ignored_until_renamed(start_daemon, root: Path) -> None:
    daemon = start_daemon(settle_ms=100)
    inbox = root / "in" / "a"
    for name in ("report.txt.tmp", ".hidden.txt", "draft.txt.part", "backup.txt~"):
        (inbox / name).write_text("not yet")
    assert runs(root) == []
    os.replace(inbox / "report.txt.tmp", inbox / "report.txt")
    wait_for(lambda: (root / "out" / "report.txt").exists())
    # The rename's event comes after the temporary files' events on the same watch, so once
    # the chain has settled each of them has been seen and let go.
    wait_for(lambda: settled(daemon, *chain("report.txt")), what="the chain to settle")
    assert [line.split()[1] for line in runs(root, "a")] == ["report.txt"]
    assert {line.split()[1] for line in runs(root)} == {"report.txt"}


def test_a_file_moved_in_from_an_unwatched_directory_is_seen(
        start_daemon, root: Path, tmp_path: Path) -> None:
    start_daemon(settle_ms=100)
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("from outside")
    os.replace(outside, root / "in" / "a" / "elsewhere.txt")
    wait_for(lambda: (root / "out" / "elsewhere.txt").exists())


def test_files_present_at_start_are_processed(start_daemon, root: Path) -> None:
    for index in range(30):
        drop(root, "in/a", f"early-{index}.txt", f"content {index}")
    drop(root, "in/b", "midway.txt", "already past stage a")
    start_daemon()
    wait_for(lambda: len(list((root / "out").glob("*.txt"))) == 31, what="31 outputs")
    assert len(runs(root, "a")) == 30


def test_the_same_content_again_is_not_processed_twice_but_new_content_is(
        start_daemon, root: Path) -> None:
    daemon = start_daemon()
    drop(root, "in/a", "same.txt", "version 1")
    wait_for(lambda: (root / "out" / "same.txt").exists())
    drop(root, "in/a", "same.txt", "version 1")
    # The copy has a new mtime: its row carries it once the daemon has looked at the copy.
    wait_for(lambda: settled(daemon, "in/a/same.txt"), what="the copy to be looked at")
    assert len(runs(root, "a")) == 1
    drop(root, "in/a", "same.txt", "version 2")
    wait_for(lambda: len(runs(root, "c")) == 2, what="the new content to reach stage c")
    assert (root / "out" / "same.txt").read_text() == "version 2"


def test_a_periodic_rescan_finds_files_no_event_announced(start_daemon, root: Path) -> None:
    daemon = start_daemon(rescan_s=0.3)
    daemon.observer.stop()  # from now on, no event reaches the daemon
    daemon.observer.join(5)
    drop(root, "in/a", "silent.txt", "no event for me")
    wait_for(lambda: (root / "in" / "b" / "silent.txt").exists(), what="the rescan")


def test_a_burst_of_20000_files_is_processed_completely(start_daemon, root: Path) -> None:
    start_daemon(workers=4)
    inbox = root / "in" / "c"
    for index in range(20_000):
        (inbox / f"burst-{index:05d}.txt").write_text(str(index))
    wait_for(lambda: len(os.listdir(root / "out")) == 20_000 if (root / "out").exists()
             else False, timeout_s=120, what="20,000 outputs")
    assert len(runs(root, "c")) == 20_000


def test_until_idle_stops_once_the_chain_has_drained_and_reports_failures(
        tmp_path: Path, root: Path) -> None:
    from daemon.config import load_settings
    from daemon.runner import run
    from tests.engine.conftest import write_config

    drop(root, "in/a", "good.txt", "fine")
    config = write_config(tmp_path / "once.toml", root)
    assert run(load_settings(config, env={}), install_signals=False, env={},
               until_idle=True, timer_jobs=False) == 0
    assert (root / "out" / "good.txt").exists()
    assert not (root / "ticks.log").exists()
    drop(root, "in/a", "bad.txt", "reject")
    assert run(load_settings(config, env={}), install_signals=False, env={},
               until_idle=True, timer_jobs=False) == 1


def test_a_run_until_idle_fails_when_the_result_of_a_file_cannot_be_recorded(
        tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from daemon.config import load_settings
    from daemon.ledger import Ledger
    from daemon.outcomes import OutcomeState
    from daemon.runner import run, run_until_idle
    from daemon.stages import load_app
    from tests.engine.conftest import APP, write_config

    def disk_full(*_args: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Ledger, "finish", disk_full)  # the handler ran; recording it crashes
    drop(root, "in/a", "good.txt", "fine")
    config = write_config(tmp_path / "once.toml", root)
    result = run_until_idle(load_settings(config, env={}), load_app(APP), install_signals=False)
    assert result.outcomes.get(OutcomeState.CRASHED, 0) >= 1
    assert not result.outcomes.get(OutcomeState.DONE) and not result.ok
    assert run(load_settings(config, env={}), install_signals=False, env={},
               until_idle=True, timer_jobs=False) == 1  # what `idxd once` exits with


def test_the_polling_observer_sees_files_once_they_are_stable(start_daemon, root: Path) -> None:
    daemon = start_daemon(observer="polling", poll_interval_s=0.1, settle_ms=200)
    assert daemon.observer_kind == "polling"
    path = root / "in" / "a" / "polled.txt"
    path.write_text("first half ")
    with path.open("a") as handle:
        handle.write("second half")
    wait_for(lambda: (root / "out" / "polled.txt").exists())
    assert (root / "out" / "polled.txt").read_text() == "first half second half"
    assert len(runs(root, "a")) == 1


def test_a_stage_s_hand_off_is_taken_by_the_next_stage_once_and_never_again_from_its_event(
        start_daemon, root: Path) -> None:
    daemon = start_daemon(workers=4)
    names = [f"handed-{number:03d}.txt" for number in range(60)]
    for name in names:
        drop(root, "in/a", name, name)
    wait_for(lambda: all(settled(daemon, *chain(name)) for name in names), timeout_s=60,
             what="every file through the chain")
    time.sleep(0.3)  # the watcher's events for the hand-offs have long arrived
    daemon.count_completed()
    assert daemon.outcomes[OutcomeState.DONE] == 3 * len(names)
    assert daemon.outcomes[OutcomeState.SKIPPED] == 0  # no stage looked at a file twice
    assert len(runs(root)) == 3 * len(names)


def test_a_rename_that_only_looks_like_another_process_s_hand_off_is_seen(
        start_daemon, root: Path) -> None:
    start_daemon()
    inbox = root / "in" / "b"
    inbox.mkdir(parents=True, exist_ok=True)
    temp = inbox / f".other.txt.{os.getpid() + 1}-7-0{ROUTED_SUFFIX}"
    temp.write_text("from elsewhere")
    os.replace(temp, inbox / "other.txt")
    wait_for(lambda: (root / "out" / "other.txt").exists(), what="the file through b and c")


def test_a_hand_off_written_by_another_spelling_of_the_root_is_routed(
        start_daemon, root: Path, tmp_path: Path) -> None:
    daemon = start_daemon()
    alias = tmp_path / "alias"
    alias.symlink_to(root)
    routed = daemon._stage_of(alias / "in" / "b" / "x.txt")
    assert routed is not None and (routed[0].name, routed[1]) == ("b", "in/b/x.txt")
    assert daemon._stage_of(tmp_path / "elsewhere.txt") is None
