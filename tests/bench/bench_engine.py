"""Engine benchmarks, each beside the raw watchdog figure from the same run.

- latency from a file's close to its handler's start (p50, p99);
- throughput through a three-stage no-op chain with the ledger on (files/s);
- catch-up of 50,000 files already present at start;
- idle CPU over 60 s and resident memory.

The files are written by a process of their own (`tests.bench.writer`), as a daemon's inputs
are. Run: `python -m tests.bench.bench_engine [--quick]`. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileClosedEvent, FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from daemon.config import EngineSettings, Settings
from daemon.runner import Daemon, run
from tests.bench import benchapp
from tests.bench.writer import paced, start_burst


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def start_daemon(root: Path, **engine: object) -> tuple[Daemon, threading.Thread]:
    settings = Settings(engine=EngineSettings(root=root, app="tests.bench.benchapp:APP",
                                              log_level="warning", log_format="json",
                                              rescan_s=3600, **engine),  # type: ignore[arg-type]
                        app=None)
    ready = threading.Event()
    holder: list[Daemon] = []

    def started(daemon: Daemon) -> None:
        holder.append(daemon)
        ready.set()

    thread = threading.Thread(target=run, args=(settings,), daemon=True,
                              kwargs={"app": benchapp.APP, "install_signals": False,
                                      "env": {}, "started": started})
    thread.start()
    ready.wait(300)
    return holder[0], thread


def stop(daemon: Daemon, thread: threading.Thread) -> None:
    daemon.stopping.set()
    thread.join(60)


def wait_until(predicate: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def raw_watchdog_latency(count: int, pace_s: float) -> list[float]:
    seen: dict[str, float] = {}

    class Record(FileSystemEventHandler):
        def on_closed(self, event: FileSystemEvent) -> None:
            seen.setdefault(os.path.basename(os.fsdecode(event.src_path)), time.perf_counter())

    with tempfile.TemporaryDirectory() as directory:
        observer = Observer()
        observer.schedule(Record(), directory, event_filter=[FileClosedEvent])
        observer.start()
        closed = paced(Path(directory), count, "lat-", pace_s)
        wait_until(lambda: len(seen) == count, 30)
        observer.stop()
        observer.join()
    return [(seen[name] - closed[name]) * 1000 for name in closed if name in seen]


def daemon_latency(count: int, pace_s: float, durable: bool) -> tuple[list[float], list[float]]:
    """Milliseconds from each file's close to its first handler's start, and to the end of
    the chain (what a user waits for)."""
    benchapp.STARTED.clear()
    benchapp.FINISHED.clear()
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        daemon, thread = start_daemon(root, durable_writes=durable)
        closed = paced(root / "in" / "a", count, "lat-", pace_s)
        wait_until(lambda: len(benchapp.FINISHED) >= count, 120)
        stop(daemon, thread)
    return ([(benchapp.STARTED[name] - closed[name]) * 1000 for name in closed
             if name in benchapp.STARTED],
            [(benchapp.FINISHED[name] - closed[name]) * 1000 for name in closed
             if name in benchapp.FINISHED])


def latency_line(label: str, count: int, pace_s: float, durable: bool) -> str:
    raw = raw_watchdog_latency(count, pace_s)
    started, done = daemon_latency(count, pace_s, durable)
    return (f"latency, {label}, paced {pace_s * 1000:g} ms, n={len(started)}: close→handler "
            f"p50 {statistics.median(started):.2f} ms, p99 {percentile(started, 0.99):.2f} ms; "
            f"close→chain done p50 {statistics.median(done):.2f} ms, p99 "
            f"{percentile(done, 0.99):.2f} ms   (raw watchdog: p50 {statistics.median(raw):.2f} "
            f"ms, p99 {percentile(raw, 0.99):.2f} ms)")


def raw_watchdog_burst(count: int) -> float:
    seen: set[str] = set()

    class Record(FileSystemEventHandler):
        def on_closed(self, event: FileSystemEvent) -> None:
            seen.add(os.fsdecode(event.src_path))

    with tempfile.TemporaryDirectory() as directory:
        observer = Observer()
        observer.schedule(Record(), directory, event_filter=[FileClosedEvent])
        observer.start()
        writer, started = start_burst(Path(directory), count, "b-", 1)
        wait_until(lambda: len(seen) >= count, 120)
        elapsed = time.perf_counter() - started
        writer.wait(60)
        observer.stop()
        observer.join()
    return count / elapsed


def chain_throughput(count: int, durable: bool) -> float:
    benchapp.FINISHED.clear()
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        daemon, thread = start_daemon(root, durable_writes=durable)
        writer, started = start_burst(root / "in" / "a", count, "t-")
        wait_until(lambda: len(benchapp.FINISHED) >= count, 600)
        elapsed = time.perf_counter() - started
        writer.wait(60)
        stop(daemon, thread)
    return count / elapsed


def catch_up(count: int) -> tuple[float, int]:
    benchapp.FINISHED.clear()
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        inbox = root / "in" / "c"
        inbox.mkdir(parents=True)
        for index in range(count):
            (inbox / f"c-{index:05d}.txt").write_bytes(b"x")
        old = time.time() - 60
        for index in range(count):
            os.utime(inbox / f"c-{index:05d}.txt", (old, old))
        started = time.perf_counter()
        daemon, thread = start_daemon(root)
        wait_until(lambda: len(benchapp.FINISHED) >= count, 600)
        elapsed = time.perf_counter() - started
        stop(daemon, thread)
    return elapsed, len(benchapp.FINISHED)


def idle_cost(seconds: float) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as directory:
        daemon, thread = start_daemon(Path(directory))
        time.sleep(1)
        cpu_before = time.process_time()
        time.sleep(seconds)
        cpu_used = time.process_time() - cpu_before
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        stop(daemon, thread)
    return cpu_used / seconds * 100, rss_mb


def pipeline_daemon_idle(seconds: float) -> tuple[float, float]:
    """CPU share and resident memory of a real `idxd run` (every IDX stage loaded), idle."""
    with tempfile.TemporaryDirectory() as directory:
        env = {**os.environ, "IDXD_INGEST_ENABLED": "false", "IDXD_LOG_LEVEL": "warning"}
        process = subprocess.Popen([sys.executable, "-m", "daemon", "--root", directory, "run"],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3)  # imports, start-up sweep, first timer ticks
        ticks_before = _cpu_ticks(process.pid)
        time.sleep(seconds)
        used_s = (_cpu_ticks(process.pid) - ticks_before) / os.sysconf("SC_CLK_TCK")
        rss_mb = _rss_mb(process.pid)
        process.terminate()
        process.wait(30)
    return used_s / seconds * 100, rss_mb


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def raw_file_creation(count: int) -> float:
    """How fast this filesystem creates small files at all: the floor under every figure."""
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        for index in range(count):
            Path(directory, f"f-{index}").write_bytes(b"x")
        return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke check)")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    print(f"engine benchmarks on {os.cpu_count()} cores")
    # What the processing costs (tmpfs, no fsync), then a pace the default fsync of every
    # hand-off can follow on this disk (about 190 files a second through three stages).
    if os.path.isdir("/dev/shm"):
        tempfile.tempdir = "/dev/shm"
        print(latency_line("tmpfs, no fsync", 1000 // scale, 0.002, False), flush=True)
    tempfile.tempdir = None
    print(latency_line("disk, fsync of every hand-off", 1000 // scale, 0.01, True), flush=True)
    burst = 10_000 // scale
    for label, directory in (("disk", None), ("tmpfs", "/dev/shm")):
        if directory and not os.path.isdir(directory):
            continue
        tempfile.tempdir = directory
        print(f"throughput on {label} ({tempfile.gettempdir()}), 3-stage no-op chain, ledger on, "
              f"{burst} files: {chain_throughput(burst, durable=False):.0f} files/s; with fsync "
              f"on every hand-off: {chain_throughput(burst, durable=True):.0f} files/s   "
              f"(raw: watchdog close events {raw_watchdog_burst(burst):.0f} files/s, "
              f"bare file creation {raw_file_creation(burst):.0f} files/s)")
    tempfile.tempdir = None
    elapsed, processed = catch_up(50_000 // scale)
    print(f"catch-up of {50_000 // scale} files present at start: {elapsed:.1f} s, "
          f"{processed} processed, {50_000 // scale - processed} missed")
    idle_s = 6 if args.quick else 60
    cpu_percent, rss_mb = idle_cost(idle_s)
    print(f"idle, engine with the no-op chain: {cpu_percent:.2f} % CPU over {idle_s} s; "
          f"max resident memory {rss_mb:.0f} MB (this whole benchmark process)")
    cpu_percent, rss_mb = pipeline_daemon_idle(idle_s)
    print(f"idle, real `idxd run` with every IDX stage loaded: {cpu_percent:.2f} % CPU over "
          f"{idle_s} s; resident memory {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
