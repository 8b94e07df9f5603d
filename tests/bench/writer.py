"""Writes a burst of small files from a process of its own, as the files a daemon watches come
from other processes: a benchmark writing them from the daemon's own interpreter would charge
the writing to the daemon. Prints the monotonic clock (shared by every process) just before
the first write, so the measuring process can time from it.

Run: `python -m tests.bench.writer DIRECTORY COUNT PREFIX [SIZE]`.
"""

from __future__ import annotations

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


def start_burst(directory: Path, count: int, prefix: str, size: int = 512
                ) -> tuple[subprocess.Popen[str], float]:
    """Start the writer; returns it and the clock reading at its first write."""
    writer = subprocess.Popen([sys.executable, "-m", "tests.bench.writer", str(directory),
                               str(count), prefix, str(size)], stdout=subprocess.PIPE, text=True,
                              cwd=REPOSITORY)
    assert writer.stdout is not None
    return writer, float(writer.stdout.readline())


if __name__ == "__main__":
    write_burst(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3],
                int(sys.argv[4]) if len(sys.argv) > 4 else 512)
