"""A full disk: which errors mean one, and the daemon's wait for space to come back.

ENOSPC, EDQUOT and SQLite's "database or disk is full" (and its I/O errors, which a full disk
also gives) are faults of the machine, never of the input: a file they stop is retried, not
quarantined. `SpaceGate` is what the main loop knows of it: `disk.full` is logged once when a
write fails for want of space, no new file is started while the disk is full, a probe (a small
durable file and a ledger write under the root) is tried at growing intervals, and once one
succeeds and the work held back goes through again, `disk.recovered` is logged.
"""

from __future__ import annotations

import errno
import sqlite3
import time
from collections.abc import Callable
from enum import Enum
from pathlib import Path

from daemon.files import write_atomic
from daemon.logs import get_logger

log = get_logger()
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# Errors of the machine, not of the input: worth retrying, never a reason to quarantine.
RESOURCE_ERRNOS = DISK_FULL_ERRNOS | {errno.EROFS, errno.EIO, errno.EMFILE, errno.ENFILE,
                                      errno.ENOMEM, errno.EAGAIN}
SQLITE_IOERR, SQLITE_FULL = 10, 13  # primary result codes
PROBE_NAME = "state/space.probe"
PROBE_BYTES = 64 * 1024  # less free than this is full, for a daemon writing forms and rows
FIRST_PROBE_S, MAX_PROBE_S = 1.0, 10.0  # space back is seen within 10 s


def is_disk_full(error: BaseException) -> bool:
    """`error`, or an error it was raised from, says the disk (or the quota) is full."""
    return any(_says_full(cause) for cause in _chain(error))


def is_resource_error(error: BaseException) -> bool:
    """A fault of the machine (space, I/O, descriptors, memory), not of the input."""
    return is_disk_full(error) or any(
        isinstance(cause, OSError) and cause.errno in RESOURCE_ERRNOS for cause in _chain(error))


def _says_full(error: BaseException) -> bool:
    if isinstance(error, OSError):
        return error.errno in DISK_FULL_ERRNOS
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in (SQLITE_FULL, SQLITE_IOERR):
            return True
        return "disk is full" in str(error) or "disk I/O error" in str(error)
    return False


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def probe_root(root: Path) -> None:
    """Write, sync and remove a small file under `root`; raises when there is no room."""
    probe = write_atomic(root / PROBE_NAME, b"\0" * PROBE_BYTES)
    probe.unlink()


class SpaceState(Enum):
    OK = "ok"
    FULL = "full"  # no new file starts; probing
    TRYING = "trying"  # a probe passed; the held-back work is going through again


class SpaceGate:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self.state = SpaceState.OK
        self._since = 0.0
        self._wait_s = FIRST_PROBE_S
        self._next_probe = 0.0

    @property
    def full(self) -> bool:
        return self.state is SpaceState.FULL

    def report(self, where: str, error: str) -> None:
        """A write failed for want of space."""
        now = self._clock()
        if self.state is SpaceState.OK:
            self._since, self._wait_s = now, FIRST_PROBE_S
            log.warning("disk.full", where=where, error=error,
                        action="holding new files back until space returns")
        elif self.state is SpaceState.TRYING:  # the probe passed, the real work did not
            self._wait_s = min(self._wait_s * 2, MAX_PROBE_S)
        self.state = SpaceState.FULL
        self._next_probe = now + self._wait_s

    def probe_due(self) -> bool:
        return self.full and self._clock() >= self._next_probe

    def seconds_to_probe(self) -> float | None:
        return max(0.0, self._next_probe - self._clock()) if self.full else None

    def probe(self, attempt: Callable[[], None]) -> bool:
        """Try `attempt` (a probe write); True when it found room."""
        try:
            attempt()
        except Exception as error:
            if not is_disk_full(error):
                raise
            log.debug("disk.still_full", error=describe(error), next_probe_s=self._wait_s * 2)
            self._wait_s = min(self._wait_s * 2, MAX_PROBE_S)
            self._next_probe = self._clock() + self._wait_s
            return False
        self.state = SpaceState.TRYING
        return True

    def worked(self) -> None:
        """After a passed probe, the work held back succeeded: the episode is over."""
        if self.state is SpaceState.TRYING:
            log.info("disk.recovered", waited_s=round(self._clock() - self._since, 1))
            self.state = SpaceState.OK
