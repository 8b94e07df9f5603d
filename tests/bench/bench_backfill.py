"""`idxd backfill` over a year of synthetic history on the local exchange: how fast, how big.

- one year (about 250 trading days, two announcements each, the multi-attachment and error
  cases of `tests/backfill/history.py` mixed in) with the rate limit off: forms per second from
  the command's start to its exit, and the peak resident memory of the process and of its
  parse children; beside it, its raw reference: the same year's form attachments fetched from
  the same local exchange by one HTTP client, one after another, with no pipeline;
- at the default rate (`[backfill] requests_per_minute` = 20): the time per trading day,
  computed from the requests the rate-off run made per trading day (listing pages and
  attachments) rather than by waiting a year, and checked against a real run over one week at
  that rate (the full run only);
- live latency while a rate-off backfill runs beside the live ingest (a poll every second):
  how soon a live announcement's row is in the sink, against the same without a backfill.

Real `python -m daemon` processes, SQLite sink. Run: `python -m tests.bench.bench_backfill
[--quick]`; `--quick` skips the one-week run at the default rate. Printed, never asserted;
`main` also returns the summary lines `python -m tests.bench` prints side by side at the end.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

from handlers.settings import BackfillSettings
from tests.backfill.history import History, cached_form, holder
from tests.backfill.outcome import backfill_args, backfill_config, progress
from tests.bench.bench_pipeline import Watcher, percentile
from tests.e2e.daemon import DaemonProcess
from tests.e2e.exchange import Exchange, ksei_item
from tests.support import wait_for

CACHE = Path(tempfile.gettempdir()) / "idxd-bench-forms"
QUIET = {"log_level": "warning", "rescan_s": 60.0}


def note_peaks(pid: int, peaks: dict[int, int]) -> None:
    """VmHWM of the process and of each child it has now (the parse pool), in KiB, kept per
    process: a child that exits keeps the peak it had."""
    for each in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks[each] = max(peaks.get(each, 0), int(line.split()[1]))
        except OSError:
            continue


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def run_backfill(history: History, rate: float, work: Path) -> tuple[float, int, int, Exchange]:
    """(seconds, peak KiB, forms) of one backfill command over `history`, and its exchange."""
    with Exchange() as exchange:
        history.publish(exchange, CACHE)
        config = backfill_config(work / "idxd.toml", work / "root", exchange, daemon=QUIET,
                                 ingest={"page_size": 10},
                                 backfill={"requests_per_minute": rate,
                                           "tick_s": 0.05 if rate == 0 else 1.0})
        started = time.monotonic()
        command = DaemonProcess(config, work / "backfill.log", args=backfill_args(history))
        peaks: dict[int, int] = {}
        while command.process.poll() is None:
            note_peaks(command.process.pid, peaks)
            time.sleep(0.1)
        elapsed = time.monotonic() - started
    return elapsed, sum(peaks.values()), int(progress(work / "root").get("forms") or 0), exchange


def year_rate_off() -> tuple[float, str]:
    """Prints the rate-off figures beside the raw fetch of the same forms; returns the
    requests per trading day and the summary line."""
    history = History(date(2025, 1, 1), date(2025, 12, 31))
    with tempfile.TemporaryDirectory() as tmp:
        elapsed, peak, forms, exchange = run_backfill(history, 0, Path(tmp))
    raw = raw_fetch(History(date(2025, 1, 1), date(2025, 12, 31)))  # the same year, anew
    trading = len(history.days)
    listings = len(exchange.listings)
    files = len(exchange.requests) - listings - len(history.busy)  # a busy file is asked twice
    per_day = (files + listings - (365 - trading)) / trading
    print(f"backfill 1 year, rate off: {trading} trading days, {forms} forms in "
          f"{elapsed:6.1f} s = {forms / elapsed:6.1f} forms/s ({365 / elapsed:5.1f} days/s); "
          f"peak RSS {peak / 1024:.0f} MB (the process and its parse children, each at its "
          f"peak); raw fetch of the same forms, one client: {raw:6.1f} forms/s")
    return per_day, (f"backfill 1 year, rate off          {forms / elapsed:7.1f} forms/s, peak "
                     f"RSS {peak / 1024:.0f} MB  |  raw fetch, one client: {raw:7.1f} forms/s")


def raw_fetch(history: History) -> float:
    """Forms per second the local exchange serves the year's form attachments to one HTTP
    client asking for them one after another: what the exchange alone allows."""
    with Exchange() as exchange:
        history.publish(exchange, CACHE)
        urls = [exchange.origin + path for path in dict.fromkeys(history.files)
                if isinstance(exchange.files.get(path), bytes)]
        served, started = 0, time.monotonic()
        with httpx.Client(timeout=30) as client:
            for url in urls:
                served += client.get(url).status_code == 200
        return served / (time.monotonic() - started)


def default_rate(per_trading_day: float) -> str:
    """Prints the time per trading day at the default rate; returns the summary line."""
    rate = BackfillSettings().requests_per_minute
    interval_s = 60 / rate
    print(f"backfill at the default {rate:g} requests/min: {per_trading_day:.2f} requests per "
          f"trading day (listing + attachments) = {per_trading_day * interval_s:5.1f} s per "
          f"trading day, {interval_s:.0f} s per day without announcements; a year of 250 "
          f"trading days ≈ {(250 * per_trading_day + 115) * interval_s / 3600:.1f} h")
    return (f"backfill at the default rate       {per_trading_day * interval_s:7.1f} s per "
            f"trading day  |  the rate's own interval: {interval_s:.0f} s per request")


def week_at_default_rate() -> str:
    """A real run over one week (5 trading days, 2 quiet ones) at the default rate; returns
    the summary line."""
    history = History(date(2025, 3, 3), date(2025, 3, 9), offset=20_000)
    with tempfile.TemporaryDirectory() as tmp:
        elapsed, _, _, exchange = run_backfill(history, BackfillSettings().requests_per_minute,
                                               Path(tmp))
    requests = len(exchange.requests)
    print(f"backfill 1 week at the default rate, measured: {elapsed:6.1f} s for {requests} "
          f"requests ({elapsed / requests:.2f} s per request, "
          f"{elapsed / len(history.days):.1f} s per trading day with the quiet days)")
    return (f"backfill 1 week, default rate      {elapsed / len(history.days):7.1f} s per "
            f"calendar day, measured  |  {elapsed / requests:.2f} s per request")


def live_latency(with_backfill: bool, count: int) -> list[float]:
    """Seconds from a live announcement's appearance to its row, for those published while
    the backfill ran (all of them without one)."""
    history = History(date(2025, 1, 1), date(2025, 12, 31), offset=30_000)
    with tempfile.TemporaryDirectory() as tmp, Exchange() as exchange:
        work = Path(tmp)
        history.publish(exchange, CACHE)
        config = backfill_config(work / "idxd.toml", work / "root", exchange, daemon=QUIET,
                                 ingest={"enabled": True, "period_s": 1.0, "lookback_min": 10.0})
        daemon = DaemonProcess(config, work / "daemon.log")
        try:
            wait_for(lambda: (work / "root" / "state" / "ledger.sqlite3").exists(), 30)
            if with_backfill:
                DaemonProcess(config, work / "command.log", args=backfill_args(history))
                wait_for(lambda: progress(work / "root").get("days_done"), 30)
            running = (lambda: progress(work / "root").get("state") == "running") \
                if with_backfill else (lambda: True)
            return publish_live(exchange, work, count, running)
        finally:
            daemon.stop(60)


def publish_live(exchange: Exchange, work: Path, count: int,
                 running: Callable[[], bool]) -> list[float]:
    """One live form a second; the delays of those published while `running()`."""
    watcher, appears = Watcher(work / "root"), {}
    for n in range(count):
        number = 90_000 + n
        path = f"/files/live-{n}.pdf"
        exchange.files[path] = cached_form(number, CACHE)
        when = datetime.now(UTC)
        exchange.publish(ksei_item(number, when, exchange.origin + path))
        if running():
            appears[holder(number)] = when.replace(microsecond=0).timestamp()
        deadline = time.time() + 1.0
        while time.time() < deadline:
            watcher.poll()
            time.sleep(0.05)
    live = {holder(90_000 + n) for n in range(count)}  # the sink holds the backfill's too
    wait_for(lambda: (watcher.poll(), live <= set(watcher.rows))[1], 120, "the live rows")
    return [watcher.rows[name] - at for name, at in appears.items()]


def report_latency(label: str, delays: list[float]) -> None:
    if not delays:
        print(f"live row in sink, {label:20s} none published while it ran")
        return
    print(f"live row in sink, {label:20s} p50 {percentile(delays, 0.5):5.2f} s   "
          f"p99 {percentile(delays, 0.99):5.2f} s   ({len(delays)} forms, a poll every 1 s)")


def main() -> list[str]:
    """Prints every figure; returns the summary lines, each beside its raw reference."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="no run at the default rate")
    quick = parser.parse_args(sys.argv[1:]).quick
    per_day, summary = year_rate_off()
    summaries = [summary, default_rate(per_day)]
    if quick:
        print("backfill 1 week at the default rate: skipped with --quick")
    else:
        summaries.append(week_at_default_rate())
    count = 10 if quick else 20
    report_latency("no backfill", live_latency(False, count))
    report_latency("rate-off backfill", live_latency(True, count))
    return summaries


if __name__ == "__main__":
    main()
