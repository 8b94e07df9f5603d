"""Benchmark of reading a form: our text path beside PyMuPDF and pdfplumber, and OCR per page.

Run by hand: `.venv/bin/python -m tests.bench.bench_extract [--repeat N] [--quick]`. For each
form, drawn by `tests/pdfform.py` from the real records (SRTG, BYAN) and a two-page form of 18
mixed rows whose table runs over the page break, it prints in the same run on the same PDF the
median (and best) time of our whole parse (`parse_pdf`: reading and parsing included) against
PyMuPDF's raw `page.get_text()` alone, the two timed in turn, and pdfplumber's
`extract_text()` alone (the goal: ours no slower than PyMuPDF's extraction). Then the seconds
per page of OCR: a page rendered by pypdfium2 at 200 and 300 dpi and read by the `tesseract`
CLI (`-l ind+eng`), render and recognition apart;
"skipped: tesseract not installed" when the binary is missing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pdfplumber
import pymupdf
import pypdfium2 as pdfium

from handlers.adapters.company_map import BUNDLED_DIR, MAP_NAME
from handlers.stages.parse import parse_pdf
from tests.conftest import FIXTURES
from tests.parse.forms import MIXED_ROWS, form
from tests.pdfform import FormLayout, build_form_pdf, example_forms

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


def ocr_page(path: Path, dpi: int, work: Path) -> tuple[float, float, int]:
    """Seconds to render page 1 at `dpi`, seconds for tesseract to read it, characters read."""
    start = time.perf_counter()
    with pdfium.PdfDocument(path) as document:
        image = document[0].render(scale=dpi / 72).to_pil()
    image.save(work / "page.png")
    rendered = time.perf_counter()
    done = subprocess.run(["tesseract", str(work / "page.png"), "stdout", "-l", "ind+eng"],
                          capture_output=True, check=True)
    return rendered - start, time.perf_counter() - rendered, len(done.stdout.strip())


def ocr(path: Path, repeat: int, work: Path) -> None:
    if shutil.which("tesseract") is None:
        print("OCR: skipped: tesseract not installed")
        return
    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True)
    print(f"OCR of page 1 ({version.stdout.splitlines()[0]}, -l ind+eng), {repeat} runs:")
    for dpi in DPIS:
        runs = [ocr_page(path, dpi, work) for _ in range(repeat)]
        render = statistics.median(r[0] for r in runs)
        read = statistics.median(r[1] for r in runs)
        print(f"  {dpi} dpi: {render + read:5.2f} s per page (render {render:5.3f} s, "
              f"tesseract {read:5.2f} s), {runs[0][2]} characters")


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
        ocr(built["SRTG"], args.ocr_repeat, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
