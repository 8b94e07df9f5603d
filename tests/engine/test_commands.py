"""The engine's commands and its less common paths: drop, status, trace, check-config, the
per-stage concurrency limit, and the rescan after an inotify queue overflow."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from daemon.cli import main
from daemon.ledger import Ledger
from daemon.lock import holder_pid
from tests.engine import testapp
from tests.engine.conftest import drop, settled, wait_for, write_config


def test_drop_copies_a_file_into_the_inbox_of_the_stage_that_takes_it(
        start_daemon, root: Path, tmp_path: Path, capsys) -> None:
    start_daemon()
    source = tmp_path / "handmade.txt"
    source.write_text("dropped by an operator")
    config = write_config(tmp_path / "cli.toml", root)
    assert main(["--config", str(config), "drop", str(source), "--stage", "b"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == str(root / "in" / "b" / "handmade.txt")
    wait_for((root / "out" / "handmade.txt").exists)
    assert source.exists()  # a copy: the operator's file stays where it was


def test_drop_refuses_a_name_the_stage_does_not_take(root: Path, tmp_path: Path,
                                                     capsys) -> None:
    Ledger.open(root).close()  # a root the daemon has started in
    source = tmp_path / "report.pdf"
    source.write_bytes(b"%PDF-1.4")
    config = write_config(tmp_path / "cli.toml", root)
    assert main(["--config", str(config), "drop", str(source), "--stage", "a"]) == 1
    assert "stage a takes *.txt, not report.pdf" in capsys.readouterr().err


def test_status_counts_files_per_stage_with_the_daemon_stopped(
        start_daemon, root: Path, tmp_path: Path, capsys) -> None:
    daemon = start_daemon()
    drop(root, "in/a", "good.txt", "fine")
    drop(root, "in/a", "bad.txt", "reject")
    wait_for((root / "out" / "good.txt").exists)
    wait_for((root / "quarantine" / "a" / "bad.txt").exists)
    daemon.stopping.set()
    wait_for(lambda: holder_pid(root) is None, what="the daemon to stop")
    capsys.readouterr()
    drop(root, "in/a", "waiting.txt", "not yet seen")
    config = write_config(tmp_path / "cli.toml", root)
    assert main(["--config", str(config), "status", "--json"]) == 1  # degraded: a quarantine
    output = capsys.readouterr().out
    status = json.loads(output[output.index("{\n"):])
    assert status["daemon"]["running"] is False
    assert status["stages"]["a"] == {"queued": 1, "running": 0, "done": 1, "failed": 0,
                                     "quarantined": 1}
    assert status["stages"]["c"]["done"] == 1
    assert status["quarantine_files"] == 1
    assert main(["--config", str(config), "status"]) == 1
    printed = capsys.readouterr()
    assert "daemon: stopped" in printed.out
    assert printed.err == "idxd: degraded: 1 file(s) quarantined\n"


def test_trace_follows_a_file_from_its_first_stage_to_the_last_output(
        start_daemon, root: Path, tmp_path: Path, capsys) -> None:
    daemon = start_daemon()
    drop(root, "in/a", "traced.txt", "follow me")
    wait_for((root / "out" / "traced.txt").exists)
    # The last stage writes its output before its row is final: trace reads the row.
    wait_for(lambda: settled(daemon, "in/c/traced.txt"), what="the last stage's row")
    config = write_config(tmp_path / "cli.toml", root)
    assert main(["--config", str(config), "trace", "in/b/traced.txt", "--json"]) == 0
    output = capsys.readouterr().out
    chain = json.loads(output[output.index("[\n"):])
    assert [(row["stage"], row["path"], row["outputs"]) for row in chain] == [
        ("a", "in/a/traced.txt", ["in/b/traced.txt"]),
        ("b", "in/b/traced.txt", ["in/c/traced.txt"]),
        ("c", "in/c/traced.txt", ["out/traced.txt"]),
    ]


def test_check_config_accepts_good_settings(root: Path, tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path / "cli.toml", root)
    assert main(["--config", str(config), "check-config"]) == 0
    assert "configuration is valid" in capsys.readouterr().out


def test_each_stage_runs_at_most_its_concurrency_limit(start_daemon, root: Path) -> None:
    testapp.ACTIVITY.update(active=0, peak=0)
    start_daemon(workers=8)
    for index in range(6):
        drop(root, "in/a", f"slow-{index}.txt", "slow:0.3")
    wait_for(lambda: len(list((root / "out").glob("slow-*.txt"))) == 6
             if (root / "out").exists() else False)
    assert testapp.ACTIVITY["peak"] == 2  # stage a is declared with concurrency 2


def test_an_inotify_queue_overflow_triggers_a_rescan(start_daemon, root: Path) -> None:
    daemon = start_daemon(rescan_s=3600)
    daemon.observer.stop()  # lose every event from now on, as an overflow does
    daemon.observer.join(5)
    drop(root, "in/a", "lost-event.txt", "the kernel dropped my event")
    # No observer is left to hint at the file: once the daemon is idle nothing else will.
    wait_for(daemon.idle, what="the daemon to be idle")
    assert not (root / "in" / "b" / "lost-event.txt").exists()
    logging.getLogger("watchdog.observers.inotify_c").warning(
        "Inotify queue overflowed; filesystem events were lost")
    wait_for((root / "in" / "b" / "lost-event.txt").exists, what="the rescan")


def test_global_options_work_after_the_command_too(root: Path, tmp_path: Path, capsys) -> None:
    config = write_config(tmp_path / "cli.toml", tmp_path / "elsewhere")
    Ledger.open(root).close()
    assert main(["status", "--config", str(config), "--root", str(root), "--json"]) == 0
    output = capsys.readouterr().out
    assert json.loads(output[output.index("{\n"):])["root"] == str(root)


def test_the_help_line_and_the_masked_log_keys_are_the_applications(
        root: Path, tmp_path: Path, capsys) -> None:
    import io

    import pytest
    import structlog

    from daemon.logs import configure_logging
    from daemon.stages import load_app

    idx = load_app("handlers.app:APP")
    with pytest.raises(SystemExit):
        main(["--config", str(write_config(tmp_path / "cli.toml", root)), "--help"])
    assert idx.description not in capsys.readouterr().out  # the test app declares none
    with pytest.raises(SystemExit):
        main(["--root", str(root), "--help"])  # the installed application: handlers
    assert idx.description in capsys.readouterr().out
    stream = io.StringIO()
    configure_logging("info", "json", stream, secret_keys=idx.secret_keys)
    structlog.get_logger().info("sink.opened", supabase_key="sb-secret", table="filings")
    line = json.loads(stream.getvalue())
    assert (line["supabase_key"], line["table"]) == ("***", "filings")
    configure_logging("info", "json", stream)  # an application that declares no such key
    structlog.get_logger().info("sink.opened", supabase_key="visible")
    assert json.loads(stream.getvalue().splitlines()[-1])["supabase_key"] == "visible"
