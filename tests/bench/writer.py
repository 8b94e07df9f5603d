"""Writes files for the engine benchmarks from a process of its own, as the files a daemon
watches come from other processes: a benchmark writing them from the daemon's own interpreter
would charge the writing, and its waits for the interpreter lock, to the daemon.

- a burst: prints the monotonic clock (shared by every process) just before the first write,
  then writes COUNT files as fast as it can;
- paced: writes COUNT files PACE seconds apart, then prints a JSON object of each file's name
  and the monotonic clock just after its close;
- hand-offs: in DIRECTORY, renames each file named on its standard input, one per line, in that
  order, from its temporary name `.NAME.tmp` to NAME (as a careful producer, or the download
  stage, hands off a finished file), printing the clock just before the first.

Run: `python -m tests.bench.writer DIRECTORY COUNT PREFIX SIZE [PACE]`, or
`python -m tests.bench.writer --hand-off DIRECTORY < NAMES`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]  # where `tests.bench.writer` imports from


def write_burst(directory: Path, count: int, prefix: str, size: int) -> None:
    body = b"x" * size
    print(time.perf_counter(), flush=True)
    for index in range(count):
        Path(directory, f"{prefix}{index:05d}.txt").write_bytes(body)


def write_paced(directory: Path, count: int, prefix: str, size: int, pace_s: float) -> None:
    body, closed = b"x" * size, {}
    for index in range(count):
        name = f"{prefix}{index:05d}.txt"
        fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, body)
        os.close(fd)
        closed[name] = time.perf_counter()
        time.sleep(pace_s)
    print(json.dumps(closed), flush=True)


def temporary_name(name: str) -> str:
    """Where a file waits, written in full, for its hand-off."""
    return f".{name}.tmp"


def hand_off_all(directory: Path, names: list[str]) -> None:
    print(time.perf_counter(), flush=True)
    for name in names:
        os.rename(directory / temporary_name(name), directory / name)


def start_hand_offs(directory: Path, names: list[str]) -> tuple[subprocess.Popen[str], float]:
    """Start handing off `names`, each written beforehand under `temporary_name`; the writer
    and the clock reading at its first rename."""
    writer = subprocess.Popen([sys.executable, "-m", "tests.bench.writer", "--hand-off",
                               str(directory)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=REPOSITORY)
    assert writer.stdin is not None and writer.stdout is not None
    writer.stdin.write("".join(f"{name}\n" for name in names))
    writer.stdin.close()
    return writer, float(writer.stdout.readline())


def _command(directory: Path, count: int, prefix: str, size: int, *more: str) -> list[str]:
    return [sys.executable, "-m", "tests.bench.writer", str(directory), str(count), prefix,
            str(size), *more]


def start_burst(directory: Path, count: int, prefix: str, size: int = 512
                ) -> tuple[subprocess.Popen[str], float]:
    """Start a burst; returns the writer and the clock reading at its first write."""
    writer = subprocess.Popen(_command(directory, count, prefix, size), stdout=subprocess.PIPE,
                              text=True, cwd=REPOSITORY)
    assert writer.stdout is not None
    return writer, float(writer.stdout.readline())


def paced(directory: Path, count: int, prefix: str, pace_s: float, size: int = 2048
          ) -> dict[str, float]:
    """Write `count` files `pace_s` apart from another process; each one's close time."""
    result = subprocess.run(_command(directory, count, prefix, size, str(pace_s)),
                            stdout=subprocess.PIPE, text=True, cwd=REPOSITORY, check=True)
    closed: dict[str, float] = json.loads(result.stdout)
    return closed


if __name__ == "__main__":
    if sys.argv[1] == "--hand-off":
        hand_off_all(Path(sys.argv[2]), sys.stdin.read().split())
        sys.exit(0)
    arguments = (Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    if len(sys.argv) > 5:
        write_paced(*arguments, float(sys.argv[5]))
    else:
        write_burst(*arguments)
