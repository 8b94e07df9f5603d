"""Benchmark of the generate stage: a parsed form to a stored filing, per sink.

Run by hand: `.venv/bin/python -m tests.bench.bench_generate [--forms N] [--dsn DSN]`. It
generates N distinct single-sale forms (then the same N again, the replay path) into the
SQLite sink, and into PostgreSQL when `--dsn` is given, and prints milliseconds per form for
the first pass and the replay. Target: under 10 ms per form on SQLite. Beside it, the SQLite
sink's lookup of a holder's filings (what generate asks before storing each form) in an issuer
with 300 and with 3,000 stored filings: the LIKE on the name reads every index entry of the
issuer, so the lookup grows with the issuer's history.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

from daemon.config import EngineSettings, Settings
from daemon.logs import configure_logging
from handlers.context import PipelineContext
from handlers.domain.filings.identity import normalize_holder
from handlers.settings import load_pipeline_settings
from handlers.stages import generate
from tests.filings.forms import drop, form, row

TARGET_MS = 10.0
ISSUER_HISTORIES = (300, 3000)  # stored filings of one issuer, for the holder lookup


def context(root: Path, env: dict[str, str]) -> PipelineContext:
    settings = Settings(engine=EngineSettings(root=root, durable_writes=True),
                        app=load_pipeline_settings({}, env))
    return PipelineContext(settings=settings)


def run(env: dict[str, str], forms: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        ctx = context(root, env)
        paths = [drop(root, f"f{n}.json", own_document(
            form([row("sell", 100 + n, "1770")], 10_000, 9_900 - n, pct_before="1",
                 holder=f"Pemegang Nomor {n:04d}"), n))
                 for n in range(forms)]
        timings = []
        for _ in range(2):
            start = time.perf_counter()
            for path in paths:
                generate.handle(path, ctx)
            timings.append((time.perf_counter() - start) * 1000 / forms)
        ctx.close()
    return timings[0], timings[1]


def holder_lookup_us(stored: int) -> float:
    """Microseconds of one holder lookup in an issuer with `stored` filings, each of another
    holder and document (the SQLite sink, as generate calls it)."""
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        ctx = context(root, {})
        generate.handle(drop(root, "f.json", own_document(
            form([row("sell", 100, "1770")], 10_000, 9_900, pct_before="1"), 0)), ctx)
        template = ctx.sink.rows()[0]
        copies = [{**template, "dedup_key": f"bench-{n:06d}", "document_key": f"doc-{n:06d}",
                   "holder_name": f"Pemegang Nomor {n:06d}"} for n in range(1, stored)]
        ctx.sink.insert(copies)
        symbol, holder = template["symbol"], normalize_holder("Pemegang Yang Lain")
        seconds = min(timeit.repeat(lambda: ctx.sink.related(symbol, holder, "doc-x"),
                                    number=50, repeat=3)) / 50
        ctx.close()
    return seconds * 1e6


def own_document(record: dict[str, Any], number: int) -> dict[str, Any]:
    """Each form its own exchange document (else each would be a new version of one), of its
    own holder (else each would break the one holder's chain and raise an alert)."""
    record["announcement"]["url"] = f"https://www.idx.co.id/x/LK-24042026-{number:04d}-00.pdf"
    return record


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--forms", type=int, default=300)
    parser.add_argument("--dsn", help="PostgreSQL DSN to measure the postgres sink as well")
    parser.add_argument("--quick", action="store_true", help="30 forms (a smoke check)")
    args = parser.parse_args()
    if args.quick:
        args.forms = 30
    configure_logging("warning", "json")  # one log line per filing would drown the figures
    sinks: dict[str, dict[str, str]] = {"sqlite": {}}
    if args.dsn:
        sinks["postgres"] = {"SINK": "postgres", "DATABASE_URL": args.dsn,
                             "FILINGS_TABLE": f"bench_{int(time.time())}"}
    for name, env in sinks.items():
        first, replay = run(env, args.forms)
        print(f"{name:9s} {args.forms} forms: {first:6.2f} ms/form first pass, "
              f"{replay:6.2f} ms/form replay (target < {TARGET_MS} ms on sqlite)")
    for stored in ISSUER_HISTORIES:
        print(f"sqlite    holder lookup in an issuer with {stored:5d} filings: "
              f"{holder_lookup_us(stored):7.0f} µs")


if __name__ == "__main__":
    main()
