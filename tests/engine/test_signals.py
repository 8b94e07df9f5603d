"""Signals reach a daemon whose loop is waiting, however long it would wait.

A signal must wake the loop itself, not leave a flag for the end of its wait: Python's
SimpleQueue.get, interrupted by a signal, waits again for what is left of its timeout, and when
the deadline passed meanwhile it waits for ever (a daemon that ignored SIGTERM until killed).
The daemon runs in this process's main thread (Python runs signal handlers there alone), with
the loop's longest wait raised to ten minutes, and the signal is sent to that thread as the
kernel sends it to the daemon. A guard ends a daemon that did not see its signal, so a
failure says so instead of hanging the suite.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from daemon import loop
from daemon.config import load_settings
from daemon.runner import Daemon, run
from tests.engine.conftest import wait_for, write_config

GUARD_S = 20.0
IDLE_S = 1.0
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


@pytest.fixture
def long_waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The loop may sleep ten minutes; the signal handlers are put back afterwards."""
    monkeypatch.setattr(loop, "MAX_WAIT_S", 600.0)
    previous = {number: signal.getsignal(number) for number in SIGNALS}
    yield
    for number, handler in previous.items():
        signal.signal(number, handler)


def run_with(config: Path, act: Callable[[Daemon, int], None]) -> bool:
    """Run the daemon here until it stops, with `act(daemon, main_thread_id)` in a thread once
    it has started; True when it stopped by itself, False when the guard had to end it."""
    main_thread, guarded = threading.get_ident(), threading.Event()
    stopped = threading.Event()

    def acting(daemon: Daemon) -> None:
        time.sleep(IDLE_S)  # the moment of the signal: the loop is asleep in its wait by now
        act(daemon, main_thread)

    def started(daemon: Daemon) -> None:
        threading.Thread(target=acting, args=(daemon,), daemon=True).start()
        threading.Thread(target=guard, args=(daemon,), daemon=True).start()

    def guard(daemon: Daemon) -> None:
        if not stopped.wait(GUARD_S):
            guarded.set()
            daemon.stopping.set()
            daemon.hints.put(("done", None))  # any hint wakes a loop that missed the flag

    try:
        assert run(load_settings(config, env={}), env={}, started=started,
                   timer_jobs=False) == 0
    finally:
        stopped.set()
    return not guarded.is_set()


def test_a_stop_signal_ends_a_loop_in_a_long_wait(long_waits: None, tmp_path: Path,
                                                  root: Path) -> None:
    def stop(_daemon: Daemon, main_thread: int) -> None:
        signal.pthread_kill(main_thread, signal.SIGTERM)

    assert run_with(write_config(tmp_path / "idxd.toml", root), stop), \
        "the loop went on waiting after SIGTERM"


def test_a_reload_signal_is_applied_during_a_long_wait(long_waits: None, tmp_path: Path,
                                                       root: Path) -> None:
    config = write_config(tmp_path / "idxd.toml", root, testapp={"label": "before"})
    reloaded = root / "reloaded.txt"

    def reload_then_stop(daemon: Daemon, main_thread: int) -> None:
        write_config(config, root, testapp={"label": "after"})
        signal.pthread_kill(main_thread, signal.SIGHUP)
        # The reload is seen while the loop would otherwise still sleep; then stop it.
        try:
            wait_for(lambda: reloaded.exists() and reloaded.read_text() == "after", GUARD_S / 2)
        except AssertionError:
            return  # unseen: the guard ends the daemon and the test says so
        signal.pthread_kill(main_thread, signal.SIGTERM)

    assert run_with(config, reload_then_stop), "SIGHUP or SIGTERM went unseen"
    assert reloaded.read_text() == "after"
