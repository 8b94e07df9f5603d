"""Benchmark of the parse stage: a two-page KSEI form's whole parse beside its text layer alone,
and forms per second through the parse pool beside the same parse in this one process.

Run by hand: `.venv/bin/python -m tests.bench.bench_parse [--repeat N] [--quick]`. It prints the
time per form of the whole parse (runs with boxes, words, lines, labels, table, symbol check)
and of the text layer alone, in milliseconds and pages per second (target: under 20 ms per
form); `bench_extract` sets the same parse beside PyMuPDF, pdfplumber and OCR. Then the same
whole parse of `--forms` distinct forms, once one at a time in this process (the
daemon before the pool, behind its PDFium lock) and once through a real parse pool of `[parse]
workers` children fed by as many threads (the stage's concurrency), in forms per second.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from handlers.adapters.company_map import BUNDLED_DIR, MAP_NAME
from handlers.adapters.parse_pool import Limits, ParsePool
from handlers.adapters.pdf_form import read_pdf
from handlers.adapters.pdf_text import open_document, text_pages
from handlers.domain.ksei.form import FormFields
from handlers.settings import ParseSettings
from handlers.stages.parse import parse_pdf
from tests.parse.forms import MIXED_ROWS, form
from tests.pdfform import FormLayout, build_form_pdf

TARGET_MS = 20.0


def two_page_form(directory: Path) -> Path:
    rows = MIXED_ROWS * 3  # 18 rows of mixed types, the table continuing on page 2
    path = build_form_pdf(form(rows, before=10**9), directory / "LK-bench.pdf",
                          layout=FormLayout(rows_per_page=9, split_row=True))
    assert read_pdf(path).pages == 2
    return path


def text_layer(path: Path) -> None:
    document = open_document(path)
    try:
        for _ in text_pages(path, document):
            pass
    finally:
        document.close()


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


def many_forms(directory: Path, count: int) -> list[Path]:
    """`count` distinct two-page forms (different holdings), as a burst of downloads would be."""
    rows = MIXED_ROWS * 3
    return [build_form_pdf(form(rows, before=10**9 + index), directory / f"LK-{index}.pdf",
                           layout=FormLayout(rows_per_page=9, split_row=True))
            for index in range(count)]


def forms_per_s(paths: list[Path], companies: dict[str, dict[str, Any]],
                read: Callable[[Path], FormFields], threads: int) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as executor:
        list(executor.map(lambda path: parse_pdf(path, None, companies, read), paths))
    return len(paths) / (time.perf_counter() - start)


def pool_against_one_process(directory: Path, companies: dict[str, dict[str, Any]],
                             count: int) -> None:
    paths = many_forms(directory, count)
    settings = ParseSettings()
    pool = ParsePool(settings.workers, Limits(settings.memory_limit_bytes,
                                              settings.time_limit_s), threading.Event())
    try:
        forms_per_s(paths[:settings.workers * 2], companies, pool.read,
                    settings.workers)  # warm-up: start the children
        pooled = forms_per_s(paths, companies, pool.read, settings.workers)
    finally:
        pool.close()
    alone = forms_per_s(paths, companies, read_pdf, 1)
    print(f"{count} two-page forms, whole parse: one process {alone:7.1f} forms/s; "
          f"parse pool ({settings.workers} children, {settings.workers} threads) "
          f"{pooled:7.1f} forms/s ({pooled / alone:.2f}x)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--forms", type=int, default=400)
    parser.add_argument("--quick", action="store_true", help="5 runs, 40 forms (a smoke check)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.forms = 5, 40
    companies = json.loads((BUNDLED_DIR / MAP_NAME).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        pool_against_one_process(Path(tmp), companies, args.forms)
        path = two_page_form(Path(tmp))
        print(f"two-page form, {path.stat().st_size} bytes, {len(MIXED_ROWS) * 3} rows, "
              f"{args.repeat} runs each")
        ours = report("idxd parse (whole form)",
                      timings_ms(lambda: parse_pdf(path, None, companies), args.repeat), 2)
        report("idxd text layer only (pypdfium2)", timings_ms(lambda: text_layer(path),
                                                             args.repeat), 2)
    print(f"{ours:.2f} ms per form (target < {TARGET_MS:.0f} ms)")
    return 0 if ours < TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
