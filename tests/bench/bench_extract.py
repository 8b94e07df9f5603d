"""Benchmark of reading a form: our text path beside PyMuPDF and pdfplumber, and OCR per page.

Run by hand: `.venv/bin/python -m tests.bench.bench_extract [--repeat N] [--quick]`. For each
form, drawn by `tests/pdfform.py` from the real records (SRTG, BYAN) and a two-page form of 18
mixed rows whose table runs over the page break, it prints in the same run on the same PDF the
median (and best) time of our whole parse (`parse_pdf`: reading and parsing included) against
PyMuPDF's raw `page.get_text()` alone, the two timed in turn, and pdfplumber's
`extract_text()` alone (the goal: ours no slower than PyMuPDF's extraction). Then the seconds
per page of OCR as the parse child does it (`handlers/adapters/ocr.py`: render by pypdfium2,
Tesseract `ind+eng` through tesserocr, models loaded) of a scan of the two-page form at 200 and
300 dpi.
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
import pymupdf

from handlers.adapters.company_map import BUNDLED_DIR, MAP_NAME
from handlers.adapters.ocr import OcrOptions
from handlers.adapters.pdf_form import read_pages
from handlers.adapters.pdf_text import ignore_progress
from handlers.stages.parse import parse_pdf
from tests.conftest import FIXTURES
from tests.parse.forms import MIXED_ROWS, form
from tests.pdfform import FormLayout, build_form_pdf, example_forms
from tests.pdfscan import scan_pdf

DPIS = (200, 300)


def forms(directory: Path) -> dict[str, Path]:
    built = {symbol.removesuffix(".JK"): build_form_pdf(record, directory / f"{symbol}.pdf")
             for symbol, record in example_forms(FIXTURES / "parsed_examples.json").items()}
    built["18 rows, 2 pages"] = build_form_pdf(
        form(MIXED_ROWS * 3, before=10**9), directory / "two-page.pdf",
        layout=FormLayout(rows_per_page=9, split_row=True))
    return built


def pymupdf_text(path: Path) -> None:
    with pymupdf.open(path) as document:
        for page in document:
            page.get_text()


def pdfplumber_text(path: Path) -> None:
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            page.extract_text()


def samples_ms(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    """`repeat` timings of each, taken in turn: on a shared machine a burst of load then falls
    on all of them alike rather than on whichever ran during it."""
    for run in runs.values():
        run()  # warm-up: imports, fonts, the company map
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            samples[name].append((time.perf_counter() - start) * 1000)
    return samples


def compare(name: str, path: Path, companies: dict[str, dict[str, object]],
            repeat: int) -> None:
    timed = samples_ms({"ours": lambda: parse_pdf(path, None, companies),
                        "fitz": lambda: pymupdf_text(path)}, repeat)
    ours, fitz = (statistics.median(timed[key]) for key in ("ours", "fitz"))
    best_ours, best_fitz = (min(timed[key]) for key in ("ours", "fitz"))
    plumber = statistics.median(
        samples_ms({"plumber": lambda: pdfplumber_text(path)}, max(3, repeat // 5))["plumber"])
    print(f"{name:<18} idxd parse {ours:7.2f} ms (best {best_ours:5.2f}) | PyMuPDF get_text "
          f"{fitz:7.2f} ms (best {best_fitz:5.2f}) ({ours / fitz:4.2f}x, best to best "
          f"{best_ours / best_fitz:4.2f}x) | pdfplumber extract_text {plumber:7.2f} ms "
          f"({plumber / ours:5.1f}x ours)")


def ocr(path: Path, repeat: int, work: Path) -> None:
    """Seconds per page of the daemon's OCR of a scan of `path`, at each of `DPIS`."""
    print(f"OCR as the parse child does it (tesserocr, ind+eng, models loaded), {repeat} runs:")
    for dpi in DPIS:
        scan = scan_pdf(path, work / f"scan-{dpi}.pdf", dpi=dpi)
        options = OcrOptions(dpi=dpi)
        read_pages(scan, ignore_progress, options)  # warm-up: load the language models
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            pages = read_pages(scan, ignore_progress, options)
            samples.append((time.perf_counter() - start) / len(pages))
        print(f"  {dpi} dpi: median {statistics.median(samples):5.2f} s per page "
              f"({len(pages)} pages)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--ocr-repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="3 runs, 1 OCR run (smoke check)")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.ocr_repeat = 3, 1
    companies = json.loads((BUNDLED_DIR / MAP_NAME).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        built = forms(Path(tmp))
        print(f"per form, median of {args.repeat} runs (pdfplumber {max(3, args.repeat // 5)})")
        for name, path in built.items():
            compare(name, path, companies, args.repeat)
        ocr(built["18 rows, 2 pages"], args.ocr_repeat, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
