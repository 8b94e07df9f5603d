"""Start-up: what the daemon opens before its loop, and how it waits for space meanwhile.

Opening the state is making every inbox, opening the ledger (refused as the guard says),
putting back what a crash left running, removing a killed writer's temporary files, and
building the application's context. A full disk is never fatal at start: the step that hit it
is tried again at growing intervals while systemd hears the wait (a status line, watchdog
beats, a longer start timeout), until there is room or a stop comes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.config import Settings
from daemon.files import remove_stale_temp_files
from daemon.guard import open_checked
from daemon.ledger import Ledger
from daemon.space import FIRST_PROBE_S, SpaceGate, describe, is_disk_full
from daemon.stages import App
from daemon.systemd import Notifier


@dataclass
class OpenedState:
    ledger: Ledger
    ctx: Any
    recovered: int  # rows a crash left running, now pending again
    stale: int  # temporary files of killed writers removed


def open_state(root: Path, inboxes: Iterable[Path], app: App[Any, Any],
               settings: Settings[Any], stopping: threading.Event) -> OpenedState:
    """What start-up writes: inboxes, the ledger and its recovery, the context."""
    for inbox in inboxes:
        inbox.mkdir(parents=True, exist_ok=True)
    ledger = open_checked(root, app.recovery)
    try:
        recovered = ledger.recover()
        stale = remove_stale_temp_files(root)
        ctx = app.open_context(settings, stopping)
    except BaseException:
        ledger.close()
        raise
    return OpenedState(ledger, ctx, recovered, stale)


def until_space(where: str, action: Callable[[], None], space: SpaceGate, notifier: Notifier,
                stopping: threading.Event) -> bool:
    """Run `action`, waiting for room as long as the disk is full; False if a stop came
    first."""
    try:
        action()
        return True
    except Exception as error:
        if not is_disk_full(error):
            raise
        space.report(where, describe(error))
    while True:
        wait_s = space.seconds_to_probe() or FIRST_PROBE_S
        notifier.notify(f"EXTEND_TIMEOUT_USEC={int(wait_s * 3_000_000)}",
                        "STATUS=the disk is full: waiting for space", "WATCHDOG=1")
        if stopping.wait(wait_s):
            return False
        if space.probe(action):
            space.worked()
            return True
