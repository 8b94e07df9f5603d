"""The whole pipeline, end to end, against a local exchange: how soon and how fast.

- latency from an announcement's appearance on the exchange to its row in the sink and to its
  alert in a bucket (p50, p99): at the default settings while the exchange publishes (a poll
  every 30 s), outside publishing hours (every 300 s; the full run only), and polling every 1 s;
- throughput in forms per second through the real stages (download, parse, generate,
  bucketize) of `idxd run`, and of `idxd once` on the same window;
- the daemon's peak resident memory over a 10,000-form run (500 with `--quick`).

Every figure comes from real `python -m daemon` processes, SQLite sink, forms built with
`tests/pdfform.py`. Run: `python -m tests.bench.bench_pipeline [--quick]`; `--quick` skips the
300 s interval (it takes whole intervals) and uses smaller counts. Printed, never asserted.
The publishing-hours figure needs a weekday (the exchange's schedule); the window of hours is
widened to the whole day so that any hour of a weekday counts.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from tests.e2e.daemon import REPO, DaemonProcess, pipeline_config
from tests.e2e.exchange import Exchange, ksei_item
from tests.e2e.scenario import form_pdf, holder
from tests.ingest.exchange import minimal_pdf
from tests.support import wait_for

# The default ingest settings (a poll every 300 s, every 30 s while the exchange publishes, a
# polite 1 s pause, pages of 10), with the publishing hours made all day or none.
DEFAULTS = {"period_s": 300.0, "busy_period_s": 30.0, "pause_s": 1.0, "page_size": 10}
BUSY = {**DEFAULTS, "publish_from": "00:00", "publish_until": "23:59"}
QUIET_HOURS = {**DEFAULTS, "publish_from": "00:00", "publish_until": "00:00"}
QUIET = {"log_level": "warning"}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def publish(exchange: Exchange, pdfs: Path, times: list[datetime]) -> dict[str, float]:
    """One form per time; returns holder -> the moment it appears (epoch seconds)."""
    appears = {}
    for number, when in enumerate(times):
        path = f"/files/{number:05d}.pdf"
        exchange.files[path] = form_pdf(number, pdfs)
        exchange.publish(ksei_item(number, when, exchange.origin + path))
        appears[holder(number)] = when.replace(microsecond=0).timestamp()
    return appears


def config_for(work: Path, exchange: Exchange, ingest: dict[str, object]) -> Path:
    return pipeline_config(work / "idxd.toml", work / "root", exchange.api_url,
                           daemon={**QUIET, "rescan_s": 60.0},
                           ingest={"max_pages": 500, "lookback_min": 30.0, **ingest})


class Watcher:
    """Polls the sink and the buckets; records when each holder's row and alert first show."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.rows: dict[str, float] = {}
        self.alerts: dict[str, float] = {}
        self._read: set[str] = set()

    def poll(self) -> None:
        now = time.time()
        sink = self.root / "state" / "filings.sqlite3"
        if sink.exists():
            with sqlite3.connect(sink) as db:
                try:
                    for (name,) in db.execute("SELECT holder_name FROM idx_filings"):
                        self.rows.setdefault(name, now)
                except sqlite3.OperationalError:
                    pass
        for path in self.root.glob("alerts_inserted/*/*.json"):
            if path.name not in self._read:
                self._read.add(path.name)
                name = path.read_text().split('"holder_name": "', 1)[-1].split('"', 1)[0]
                self.alerts.setdefault(name, now)


def latency(label: str, ingest: dict[str, object], count: int, spread_s: float,
            longest_wait_s: float) -> None:
    with tempfile.TemporaryDirectory() as tmp, Exchange() as exchange:
        work = Path(tmp)
        start = datetime.now(UTC) + timedelta(seconds=2)
        times = sorted(start + timedelta(seconds=random.uniform(0, spread_s))
                       for _ in range(count))
        appears = publish(exchange, work / "pdfs", times)
        daemon = DaemonProcess(config_for(work, exchange, ingest), work / "daemon.log")
        watcher = Watcher(work / "root")
        deadline = time.time() + spread_s + longest_wait_s + 120
        while time.time() < deadline and len(watcher.alerts) < count:
            watcher.poll()
            time.sleep(0.05)
        daemon.stop()
    report(label, appears, watcher)


def blocked_latency(count: int, spread_s: float, block_after_s: float, block_s: float) -> None:
    """The default settings while the exchange publishes, with the exchange (API and files)
    answering every request with 403 for `block_s` from `block_after_s` on."""
    with tempfile.TemporaryDirectory() as tmp, Exchange() as exchange:
        work = Path(tmp)
        start = datetime.now(UTC) + timedelta(seconds=2)
        times = [start + timedelta(seconds=spread_s * n / max(1, count - 1))
                 for n in range(count)]
        appears = publish(exchange, work / "pdfs", times)
        exchange.blocked = (start.timestamp() + block_after_s,
                            start.timestamp() + block_after_s + block_s)
        daemon = DaemonProcess(config_for(work, exchange, BUSY), work / "daemon.log")
        watcher = Watcher(work / "root")
        deadline = time.time() + spread_s + block_s + 1800
        while time.time() < deadline and len(watcher.rows) < count:
            watcher.poll()
            time.sleep(0.2)
        daemon.stop()
    delays = sorted(watcher.rows[name] - at for name, at in appears.items()
                    if name in watcher.rows)
    print(f"blocked {block_s:g} s       row in sink      p50 {percentile(delays, 0.5):7.1f} s"
          f"   p99 {percentile(delays, 0.99):7.1f} s   max {delays[-1]:7.1f} s   "
          f"({len(delays)}/{count} arrived)")


def report(label: str, appears: dict[str, float], watcher: Watcher) -> None:
    for what, seen in (("row in sink", watcher.rows), ("alert in bucket", watcher.alerts)):
        delays = [seen[name] - at for name, at in appears.items() if name in seen]
        if not delays:
            print(f"{label:22s} {what:16s} nothing arrived")
            continue
        print(f"{label:22s} {what:16s} p50 {percentile(delays, 0.5):7.2f} s   "
              f"p99 {percentile(delays, 0.99):7.2f} s   ({len(delays)}/{len(appears)})")


def past_window(exchange: Exchange, work: Path, count: int) -> None:
    first = datetime.now(UTC) - timedelta(minutes=20)
    publish(exchange, work / "pdfs", [first + timedelta(seconds=600 * n / count)
                                      for n in range(count)])


def sink_count(root: Path) -> int:
    try:
        with sqlite3.connect(root / "state" / "filings.sqlite3") as db:
            return int(db.execute("SELECT COUNT(*) FROM idx_filings").fetchone()[0])
    except sqlite3.Error:
        return 0


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def throughput(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, Exchange() as exchange:
        work = Path(tmp)
        past_window(exchange, work, count)
        started = time.monotonic()
        daemon = DaemonProcess(config_for(work, exchange, {"period_s": 1.0}),
                               work / "daemon.log")
        wait_for(lambda: sink_count(work / "root") >= count, 3600, "every row",
                 alive=daemon.process, every_s=0.2)
        elapsed = time.monotonic() - started
        rss = peak_rss_mb(daemon.process.pid)
        daemon.stop(120)
    print(f"idxd run     {count} forms: {elapsed:7.1f} s from start, "
          f"{count / elapsed:6.1f} forms/s; peak RSS {rss:.0f} MB")


def once(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, Exchange() as exchange:
        work = Path(tmp)
        past_window(exchange, work, count)
        config = config_for(work, exchange, {"period_s": 1.0})
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "daemon", "--config", str(config),
                                 "once", "--minutes", "30"], cwd=REPO, capture_output=True)
        elapsed = time.monotonic() - started
        stored = sink_count(work / "root")
    print(f"idxd once    {count} forms: {elapsed:7.1f} s in all (exit {result.returncode}, "
          f"{stored} rows), {count / elapsed:6.1f} forms/s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small counts, no 600 s interval")
    quick = parser.parse_args().quick
    random.seed(8)
    minimal_pdf("warm-up")
    latency("poll 1 s", {"period_s": 1.0}, 30 if quick else 200, 15.0 if quick else 60.0, 1.0)
    weekday = datetime.now(UTC).astimezone(timezone(timedelta(hours=7))).weekday() < 5
    if weekday:
        latency("defaults, publishing", BUSY, 20 if quick else 60, 60.0 if quick else 300.0,
                33.0)
    else:
        print("defaults, publishing   skipped: not a weekday in WIB")
    if quick:
        print("defaults, quiet hours  skipped with --quick (a poll every 300 s)")
        print("blocked 300 s          skipped with --quick (it takes the whole block)")
    else:
        latency("defaults, quiet hours", QUIET_HOURS, 30, 300.0, 330.0)
        blocked_latency(24, 480.0, 120.0, 300.0)
    throughput(500 if quick else 10_000)
    once(500 if quick else 2_000)


if __name__ == "__main__":
    main()
