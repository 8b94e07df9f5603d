"""Helpers every test area shares: waiting for a condition, a free local port, TOML files,
a small filesystem to fill up.

`wait_for` is the one way a test waits: it polls a predicate until it holds or a timeout
passes, quickly at first so a short wait ends promptly, then less often so a long one costs the
daemon under test little CPU. Nothing here knows what a test checks.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

FIRST_POLL_S = 0.005


def wait_for(predicate: Callable[[], Any], timeout_s: float = 10.0, what: str = "",
             alive: subprocess.Popen[bytes] | None = None, every_s: float = 0.05) -> Any:
    """The predicate's first true value; fails after `timeout_s`, or at once if the process
    `alive` exits meanwhile. Polls at most every `every_s` once the first polls missed."""
    deadline = time.monotonic() + timeout_s
    pause_s = min(FIRST_POLL_S, every_s)
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if alive is not None and alive.poll() is not None:
            raise AssertionError(f"the daemon exited ({alive.returncode}) while waiting for "
                                 f"{what or predicate}")
        time.sleep(pause_s)
        pause_s = min(pause_s * 2, every_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what or predicate}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def refused_port(port: int = 0) -> Iterator[int]:
    """A TCP port on 127.0.0.1 (`port`, or any) that refuses every connection while the block
    lasts: this process holds it bound and never listens. A port merely found free, or one a
    test's own server just let go, can be taken meanwhile by another worker's server, which
    then answers where a test expects a refusal."""
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a server's port just closed
        holder.bind(("127.0.0.1", port))
        yield int(holder.getsockname()[1])


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def write_toml(path: Path, tables: Mapping[str, Mapping[str, Any]]) -> Path:
    """Write one TOML table per entry of `tables` (an empty table is written too)."""
    lines: list[str] = []
    for name, table in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in table.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@contextlib.contextmanager
def tmpfs(directory: Path, size: str) -> Iterator[Path]:
    """`directory` on a tmpfs of its own `size` ("8m"), for filling a disk up; mounting needs
    root, so without it the test is skipped (and fails under CI)."""
    from tests.conftest import skip_or_fail

    directory.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                              str(directory)], capture_output=True, text=True)
    if mounted.returncode != 0:
        skip_or_fail(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], capture_output=True)


def fill(directory: Path, name: str = "ballast.bin") -> Path:
    """Write a ballast file until the filesystem is full; returns it."""
    ballast = directory / name
    with contextlib.suppress(OSError), ballast.open("wb") as handle:
        while True:
            handle.write(b"\0" * 4096)
            handle.flush()
    return ballast
