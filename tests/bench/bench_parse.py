"""Benchmark of the parse stage: a two-page KSEI form, ours beside pdfplumber's text extraction.

Run by hand: `.venv/bin/python -m tests.bench.bench_parse [--repeat N]`. It prints the time per
form of the whole parse (text, labels, table, symbol check) and of the text extraction alone,
in milliseconds and pages per second, next to pdfplumber's `extract_text()` of the same file,
and the ratio. Targets: under 20 ms per form, at least 20 times faster than pdfplumber.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pdfplumber

from handlers.adapters.company_map import BUNDLED_DIR, MAP_NAME
from handlers.adapters.pdf_text import extract_text
from handlers.stages.parse import parse_pdf
from tests.parse.forms import MIXED_ROWS, form
from tests.pdfform import FormLayout, build_form_pdf

TARGET_MS, TARGET_RATIO = 20.0, 20.0


def two_page_form(directory: Path) -> Path:
    rows = MIXED_ROWS * 3  # 18 rows of mixed types, the table continuing on page 2
    path = build_form_pdf(form(rows, before=10**9), directory / "LK-bench.pdf",
                          layout=FormLayout(rows_per_page=9, split_row=True))
    assert extract_text(path).page_count == 2
    return path


def pdfplumber_text(path: Path) -> None:
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            page.extract_text()


def timings_ms(run: Callable[[], object], repeat: int) -> list[float]:
    run()  # warm-up: imports, font tables, the company map
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(name: str, samples: list[float], pages: int) -> float:
    median = statistics.median(samples)
    print(f"{name:<34} median {median:8.2f} ms  best {min(samples):8.2f} ms  "
          f"{pages * 1000 / median:8.0f} pages/s")
    return median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="5 runs (a smoke check)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat = 5
    companies = json.loads((BUNDLED_DIR / MAP_NAME).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        path = two_page_form(Path(tmp))
        print(f"two-page form, {path.stat().st_size} bytes, {len(MIXED_ROWS) * 3} rows, "
              f"{args.repeat} runs each")
        ours = report("idxd parse (whole form)",
                      timings_ms(lambda: parse_pdf(path, None, companies), args.repeat), 2)
        report("idxd text only (pypdfium2)", timings_ms(lambda: extract_text(path), args.repeat),
               2)
        theirs = report("pdfplumber extract_text()",
                        timings_ms(lambda: pdfplumber_text(path), max(5, args.repeat // 5)), 2)
    ratio = theirs / ours
    print(f"idxd parse is {ratio:.0f}x faster than pdfplumber's text extraction "
          f"(target >= {TARGET_RATIO:.0f}x); {ours:.2f} ms per form (target < {TARGET_MS:.0f} ms)")
    return 0 if ours < TARGET_MS and ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
