"""One daemon per root: an advisory lock on `state/idxd.lock` holding the owner's pid.

The kernel drops the lock when the process dies, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from daemon.errors import AlreadyRunning

LOCK_NAME = "state/idxd.lock"


class RootLock:
    def __init__(self, root: Path):
        self.path = root / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _flock_soon(fd)
        except BlockingIOError:
            owner = _read_pid(fd)
            os.close(fd)
            raise AlreadyRunning(f"another idxd (pid {owner or 'unknown'}) is already running "
                                 f"on {self.path.parent.parent}") from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except BaseException:
            os.close(fd)  # and the lock with it, or a retry would find it taken (a full disk)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RootLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


# `holder_pid` (status, clean) takes the lock for an instant to see whether anyone holds it: a
# start that falls in that instant waits for it rather than reporting another daemon.
PROBE_WAITS_S = (0.01, 0.05, 0.1)


def _flock_soon(fd: int) -> None:
    for wait_s in PROBE_WAITS_S:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            time.sleep(wait_s)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def holder_pid(root: Path) -> int | None:
    """The pid of the daemon holding the lock on `root`, or None when nobody holds it."""
    path = root / LOCK_NAME
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_pid(fd) or -1
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode().strip() or 0) or None
    except ValueError:
        return None
