"""Harness for engine tests: the test application on a real temp root, run in a thread or as
a real `python -m daemon` process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon.config import load_settings
from daemon.runner import Daemon, run
from tests.support import fill as fill  # engine tests import the shared helpers here
from tests.support import tmpfs, write_toml
from tests.support import wait_for as wait_for  # engine tests import the shared wait here

REPO = Path(__file__).resolve().parents[2]
APP = "tests.engine.testapp:APP"
FINAL = ("done", "quarantined")  # the ledger states a file is never taken again from


def write_config(path: Path, root: Path, **engine: Any) -> Path:
    values = {"app": APP, "root": str(root), "settle_ms": 200, "rescan_s": 3600,
              "retry_initial_s": 0.01, "retry_max_s": 0.05, "durable_writes": False,
              "log_level": "info", "log_format": "json", **engine}
    app_table = values.pop("testapp", {})
    return write_toml(path, {"daemon": values, "testapp": app_table})


def runs(root: Path, stage: str | None = None) -> list[str]:
    """Lines of runs.log: one per handler run."""
    log = root / "runs.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [line for line in lines if stage is None or line.startswith(stage + " ")]


def settled(daemon: Daemon, *relative_paths: str) -> bool:
    """Each file's current content (its size and mtime) has a final ledger row and the daemon
    is idle: it has looked at every one of them and has nothing left to do. The positive sign
    a test waits for before it asserts that something did not happen."""
    return all(_final(daemon, path) for path in relative_paths) and daemon.idle()


def _final(daemon: Daemon, relative_path: str) -> bool:
    try:
        info = os.lstat(daemon.root / relative_path)
    except FileNotFoundError:
        return False
    return any(row["state"] in FINAL and row["path"] == relative_path
               and (row["size"], row["mtime_ns"]) == (info.st_size, info.st_mtime_ns)
               for row in daemon.ledger.rows_for(relative_path))


def drop(root: Path, inbox: str, name: str, text: str) -> Path:
    """Write a file the way a careful producer does: temp name, then rename."""
    target = root / inbox / name
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".drop-{os.getpid()}-{threading.get_ident()}.tmp")
    temp.write_text(text)
    os.replace(temp, target)
    return target


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture
def start_daemon(tmp_path: Path, root: Path) -> Iterator[Callable[..., Daemon]]:
    """Run the daemon in a thread of this process; stopped and joined at teardown."""
    started: list[tuple[Daemon, threading.Thread]] = []

    def start(**engine: Any) -> Daemon:
        config = write_config(tmp_path / f"idxd-{len(started)}.toml", root, **engine)
        settings = load_settings(config, env={})
        ready = threading.Event()
        holder: list[Daemon] = []

        def on_start(daemon: Daemon) -> None:
            holder.append(daemon)
            ready.set()

        thread = threading.Thread(target=run, args=(settings,),
                                  kwargs={"install_signals": False, "env": {},
                                          "started": on_start}, daemon=True)
        thread.start()
        assert ready.wait(20), "daemon did not start"
        started.append((holder[0], thread))
        return holder[0]

    yield start
    for daemon, thread in started:
        daemon.stopping.set()
        thread.join(30)


@pytest.fixture
def spawn(tmp_path: Path, root: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `python -m daemon run` as a real process; killed at teardown if still alive."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(config: Path | None = None, env: dict[str, str] | None = None,
              args: tuple[str, ...] = ("run",), **engine: Any) -> subprocess.Popen[bytes]:
        config = config or write_config(tmp_path / f"proc-{len(processes)}.toml", root, **engine)
        log = open(tmp_path / f"proc-{len(processes)}.log", "ab")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "daemon", "--config", str(config), *args],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})
        process.log_path = Path(log.name)  # type: ignore[attr-defined]
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.fixture
def small_root(root: Path) -> Iterator[Path]:
    """The root on its own 8 MiB tmpfs (mounting needs root; else skipped, failed under CI)."""
    with tmpfs(root, "8m"):
        yield root
