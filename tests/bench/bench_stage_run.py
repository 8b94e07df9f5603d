"""What one stage run costs the engine, in one thread with nothing else running: a ready file
of the no-op chain's first stage (`benchapp`) through `FileProcessor.process` (identify, hash,
claim in the ledger, call the handler, which hands the file on, record the progress and the
result), on tmpfs, no fsync: each file alone, and as the files of one run, where each is claimed
with the finish of the one before. The floor under every rate the chain can reach: three of these
per file, plus the watching and the loop.

Run: `python -m tests.bench.bench_stage_run [--files N] [--repeat N]`. Printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from daemon.config import EngineSettings, Settings
from daemon.ledger import Ledger
from daemon.logs import configure_logging
from daemon.worker import FileProcessor
from tests.bench import benchapp

TMPFS = "/dev/shm"


def stage_run_us(files: int, in_runs: bool) -> float:
    with tempfile.TemporaryDirectory(dir=TMPFS if os.path.isdir(TMPFS) else None) as directory:
        root = Path(directory)
        settings = Settings(engine=EngineSettings(root=root, log_level="warning",
                                                  log_format="json", durable_writes=False),
                            app=None)
        ledger = Ledger.open(root)
        processor = FileProcessor(benchapp.APP, benchapp.BenchContext(root, False), ledger,
                                  lambda: settings, threading.Event())
        stage, inbox = benchapp.APP.stages[0], root / "in" / "a"
        inbox.mkdir(parents=True)
        names = [f"t-{number:05d}.txt" for number in range(files)]
        for name in names:
            (inbox / name).write_bytes(b"x" * 512)
        upcoming = [f"in/a/{name}" for name in names[1:]] + [None] if in_runs else \
            [None] * len(names)
        started = time.perf_counter()
        for name, next_path in zip(names, upcoming, strict=True):
            processor.process(stage, f"in/a/{name}", next_path)
        elapsed = time.perf_counter() - started
        ledger.close()
    return elapsed / files * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer files")
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if args.quick:
        args.files, args.repeat = 500, 3
    configure_logging("warning", "json")
    for in_runs, how in ((False, "alone"), (True, "in one run, as under a backlog")):
        samples = [stage_run_us(args.files, in_runs) for _ in range(args.repeat)]
        print(f"one stage run, {how} (no-op hand-off, ledger on, tmpfs, one thread): best "
              f"{min(samples):.0f} µs, median {statistics.median(samples):.0f} µs over "
              f"{args.repeat} runs of {args.files} files")


if __name__ == "__main__":
    main()
