"""Throughput of both cores, side by side with the raw reference of the same run.

- landed form -> row: distinct KSEI forms landed in `downloads/idx-format/` of a running
  daemon as the download stage lands them (its announcement sidecar, then the PDF), through
  the real IDX stages (SQLite sink, no network) until every filing is a row; beside it the
  whole parse of the same forms one at a time in this process (what reading and parsing alone
  cost). The same forms hand-dropped (a PDF alone, on tmpfs) are a row of their own: without
  an announcement each filing has no publish time and raises a review alert, one more file
  through two more stages;
- the engine's three-stage no-op chain (`benchapp`), ledger on, no fsync; beside it the raw
  watchdog close events per second of the same burst size.

Both run with their temporary root on tmpfs (`/dev/shm`, what the processing costs) and on the
disk (`/tmp`): the landed forms with the pipeline's default fsync of every hand-off, the chain
without, as on tmpfs. On disk the landed forms have a second reference: the durable writes a
form makes (its parsed record and its filings record, each with fsync of file and directory,
and one commit of a SQLite file in WAL mode) alone, from four threads, what the disk itself
allows.

Each figure is taken `--runs` times, alternating with its reference, and printed as best and
median: the machine may be shared, and one run says little. Run: `python -m tests.bench.
bench_throughput [--quick] [--runs N] [--forms N] [--files N]`. Printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any, TypeVar

from daemon.config import EngineSettings, Settings
from daemon.files import write_atomic, write_json_atomic
from daemon.runner import Daemon, run
from handlers import paths
from handlers.adapters.company_map import BUNDLED_DIR, MAP_NAME
from handlers.app import APP
from handlers.domain.windows import WIB
from handlers.settings import load_pipeline_settings
from handlers.stages.download import sidecar_payload
from handlers.stages.parse import parse_pdf
from tests.bench import bench_engine
from tests.bench.writer import start_hand_offs, temporary_name
from tests.e2e.scenario import form_pdf

PIPELINE = {"ingest": {"enabled": False}, "rollover": {"enabled": False},
            "sink": {"kind": "sqlite"}}
FORMS_TARGET, FILES_TARGET = 300, 1000
# A form's parsed record and filings record, in bytes (as written by the landed run).
PARSED_BYTES, FILINGS_BYTES = 2_800, 5_500
T = TypeVar("T")
TMPFS = "/dev/shm"


def build_forms(directory: Path, count: int) -> list[bytes]:
    """`count` distinct forms (one holder each, so one filing each)."""
    return [form_pdf(number, directory) for number in range(count)]


def start_pipeline(root: Path) -> tuple[Daemon, threading.Thread]:
    settings = Settings(engine=EngineSettings(root=root, log_level="warning", log_format="json",
                                              rescan_s=3600, settle_ms=100),
                        app=load_pipeline_settings(PIPELINE, {}))
    ready, holder = threading.Event(), []

    def started(daemon: Daemon) -> None:
        holder.append(daemon)
        ready.set()

    thread = threading.Thread(target=run, args=(settings,), daemon=True,
                              kwargs={"app": APP, "install_signals": False, "env": {},
                                      "started": started, "timer_jobs": False})
    thread.start()
    ready.wait(300)
    return holder[0], thread


def row_count(sink: Path) -> int:
    if not sink.exists():
        return 0
    with sqlite3.connect(sink, timeout=5) as db:
        try:
            return int(db.execute("SELECT COUNT(*) FROM idx_filings").fetchone()[0])
        except sqlite3.OperationalError:  # the table is not there yet
            return 0


def wait_rows(sink: Path, count: int, timeout_s: float = 600) -> None:
    """Poll the sink every 20 ms: each poll opens a connection in the daemon's own process,
    and polling much faster would take a share of its interpreter."""
    deadline = time.monotonic() + timeout_s
    while row_count(sink) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def published_at() -> str:
    """The day after the bundled company map's last SRTG close, 10:00 WIB: the forms read as
    that day's announcements (as in a backfill), with the map's price fresh for them."""
    companies = json.loads((BUNDLED_DIR / MAP_NAME).read_text(encoding="utf-8"))
    closed = date.fromisoformat(companies["SRTG.JK"]["latest_close_date"])
    return datetime.combine(closed + timedelta(days=1), dt_time(10), WIB).isoformat()


def stage(inbox: Path, number: int, body: bytes, published: str | None) -> list[str]:
    """Files of one landed form, each written under its temporary name, in the order they
    land: as the download stage lands it (the announcement's sidecar, published at
    `published`, then the PDF), or with `published` None as an operator's hand-drop (the PDF
    alone)."""
    pdf = inbox / f"form-{number:05d}.pdf"
    names = []
    if published is not None:
        record = {"id": f"bench-{number}", "announcement_no": f"{number:05d}/BEI/12-2026",
                  "title": "Laporan Kepemilikan Saham PT Saratoga Investama Sedaya Tbk",
                  "ticker": "SRTG", "published_at": published, "is_correction": False}
        attachment = {"url": f"https://www.idx.co.id/StaticData/bench/{pdf.name}",
                      "original_name": pdf.name, "is_main": True}
        meta = sidecar_payload(record, attachment, None, "bench", pdf, body)
        sidecar = paths.sidecar_of(pdf)
        write_json_atomic(inbox / temporary_name(sidecar.name), meta, durable=False)
        names.append(sidecar.name)
    write_atomic(inbox / temporary_name(pdf.name), body, durable=False)
    return [*names, pdf.name]


def landed_to_row(forms: list[bytes], downloaded: bool = True) -> tuple[float, float]:
    """Forms per second from the first form landed to the last row stored, and the CPU
    milliseconds per form the daemon's process spent meanwhile. The forms are made beforehand
    under temporary names and renamed to their own by a process of their own
    (`tests.bench.writer`), as the download stage hands them off."""
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        daemon, thread = start_pipeline(root)
        inbox, sink = root / paths.IDX_FORMS, root / "state" / "filings.sqlite3"
        published = published_at() if downloaded else None
        names = [name for number, body in enumerate(forms)
                 for name in stage(inbox, number, body, published)]
        cpu_started = time.process_time()
        writer, started = start_hand_offs(inbox, names)
        wait_rows(sink, len(forms))
        elapsed = time.perf_counter() - started
        cpu_ms = (time.process_time() - cpu_started) * 1000 / len(forms)
        writer.wait(60)
        stored = row_count(sink)
        bench_engine.stop(daemon, thread)
    if stored < len(forms):
        print(f"  (only {stored} of {len(forms)} rows stored)")
    return len(forms) / elapsed, cpu_ms


def with_cpu(measure: Callable[[], float], count: int) -> Callable[[], tuple[float, float]]:
    """`measure`'s rate, and the CPU milliseconds per item this process spent on it."""
    def measured() -> tuple[float, float]:
        started = time.process_time()
        rate = measure()
        return rate, (time.process_time() - started) * 1000 / count

    return measured


def parse_alone(forms: list[bytes]) -> float:
    """Forms per second of the whole parse (text, fields, symbol) in this one process."""
    companies = json.loads((BUNDLED_DIR / MAP_NAME).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as directory:
        files = [write_atomic(Path(directory, f"f-{n}.pdf"), body, durable=False)
                 for n, body in enumerate(forms)]
        parse_pdf(files[0], None, companies)  # warm-up: imports, font tables
        started = time.perf_counter()
        for path in files:
            parse_pdf(path, None, companies)
        return len(files) / (time.perf_counter() - started)


def durable_writes_alone(count: int, threads: int = 4) -> float:
    """Forms per second of the durable writes alone: per form its parsed record and its
    filings record through `write_atomic` (fsync of file and directory) and one commit of a
    row into a SQLite file in WAL mode (the sink's), from `threads` threads."""
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / "parsed").mkdir()
        (root / "filings").mkdir()
        db = sqlite3.connect(root / "sink.sqlite3", check_same_thread=False,
                             isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE rows (body TEXT)")
        lock = threading.Lock()

        def one(number: int) -> None:
            write_atomic(root / "parsed" / f"{number}.json", b"p" * PARSED_BYTES)
            with lock:
                db.execute("BEGIN IMMEDIATE")
                db.execute("INSERT INTO rows VALUES (?)", (str(number),))
                db.execute("COMMIT")
            write_atomic(root / "filings" / f"{number}.json", b"f" * FILINGS_BYTES)

        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(count)))
        elapsed = time.perf_counter() - started
        db.close()
    return count / elapsed


def on(directory: str | None, measure: Callable[[], T]) -> Callable[[], T]:
    """`measure` with its temporary directories in `directory` (None: the system's default)."""
    def measured() -> T:
        previous = tempfile.tempdir
        tempfile.tempdir = directory
        try:
            return measure()
        finally:
            tempfile.tempdir = previous

    return measured


def alternate(runs: int, ours: Callable[[], tuple[float, float]], raw: Callable[[], float]
              ) -> tuple[list[float], list[float], list[float]]:
    """Rates of `ours` and `raw`, alternating, and the CPU milliseconds per item `ours` took
    in this process (the daemon's whole interpreter: less sensitive to a shared machine)."""
    mine, theirs, cpu_ms = [], [], []
    for _ in range(runs):
        theirs.append(raw())
        rate, cpu = ours()
        mine.append(rate)
        cpu_ms.append(cpu)
    return mine, theirs, cpu_ms


def shown(samples: list[float]) -> str:
    return f"best {max(samples):7.0f}, median {statistics.median(samples):7.0f}"


def row(what: str, unit: str, ours: list[float], raw_what: str, raw: list[float],
        target: int, cpu_ms: list[float]) -> str:
    return (f"{what:<28} {shown(ours)} {unit} (target >= {target}; daemon CPU median "
            f"{statistics.median(cpu_ms):.2f} ms each)  |  {raw_what}: {shown(raw)}/s")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, smaller runs")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--forms", type=int, default=1000)
    parser.add_argument("--files", type=int, default=5000)
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.forms, args.files = 2, 200, 1000
    print(f"throughput on {os.cpu_count()} cores, {args.runs} runs each (load average "
          f"{os.getloadavg()[0]:.1f} at start)", flush=True)
    with tempfile.TemporaryDirectory() as directory:
        forms = build_forms(Path(directory), args.forms)
    places = [("tmpfs", TMPFS)] if os.path.isdir(TMPFS) else []
    places.append(("disk", None))
    figures: dict[str, Any] = {}
    for label, directory in places:
        figures[f"landed {label}"] = alternate(
            args.runs, on(directory, lambda: landed_to_row(forms)),
            on(directory, lambda: parse_alone(forms)))
        if label == "tmpfs":
            figures["hand-dropped tmpfs"] = alternate(
                args.runs, on(directory, lambda: landed_to_row(forms, downloaded=False)),
                on(directory, lambda: parse_alone(forms)))
        figures[f"chain {label}"] = alternate(
            args.runs, on(directory, with_cpu(
                lambda: bench_engine.chain_throughput(args.files, False), args.files)),
            on(directory, lambda: bench_engine.raw_watchdog_burst(args.files)))
        if label == "disk":  # last: deleting its files keeps the disk busy for a while
            figures["durable writes disk"] = [on(directory, lambda: durable_writes_alone(
                args.forms))() for _ in range(args.runs)]
    print(f"\nside by side (best and median of {args.runs} runs; temporary files in "
          "tmpfs and on disk):")
    for label, _directory in places:
        landed, parsed, landed_cpu = figures[f"landed {label}"]
        chain, events, chain_cpu = figures[f"chain {label}"]
        print(row(f"landed form -> row, {label}", "forms/s", landed,
                  "parse alone, one process", parsed, FORMS_TARGET, landed_cpu))
        if f"durable writes {label}" in figures:
            print(f"{'':<28} and beside it a form's durable writes alone, 4 threads: "
                  f"{shown(figures[f'durable writes {label}'])}/s")
        if f"hand-dropped {label}" in figures:
            dropped, parsed, dropped_cpu = figures[f"hand-dropped {label}"]
            print(row(f"hand-dropped form, {label}", "forms/s", dropped,
                      "parse alone, one process", parsed, FORMS_TARGET, dropped_cpu))
        print(row(f"3-stage no-op chain, {label}", "files/s", chain,
                  "raw watchdog close events", events, FILES_TARGET, chain_cpu))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return figures


if __name__ == "__main__":
    main()
