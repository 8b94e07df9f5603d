"""Pages without a text layer (scans) read by Tesseract: words with their boxes and confidence.

Each page is rendered by PDFium at `dpi` in grey and recognised by Tesseract (`ind+eng`)
through tesserocr, in this process: the language models are loaded once per parse child and
kept for every page after, and a child killed at its time limit takes the recognition with it
(no orphaned `tesseract` process). Words come back as `Run`s in PDF points, top-left origin,
their size the height of their box, with Tesseract's 0-100 confidence, for the same reader as
a text layer. The work is bounded: more than `max_pages` scanned pages is refused before any is
read (`ocr_page_limit`), and a scan that outlives `time_limit_s` is refused with how far it got
(`ocr_time_limit`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium

from daemon.errors import RejectedInput
from handlers.domain.ksei.layout import Method, Page, Run

POINTS_PER_INCH = 72.0
RULE_SHARE = 1.2  # a character of punctuation wider than this share of the letters' height
TESSDATA_DIRS = ("/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
                 "/usr/share/tessdata", "/usr/local/share/tessdata")


@dataclass(frozen=True)
class OcrOptions:
    enabled: bool = True
    languages: str = "ind+eng"
    dpi: int = 300
    max_pages: int = 12
    time_limit_s: float = 40.0
    tessdata_dir: str = ""  # empty: TESSDATA_PREFIX, else the usual Debian places

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


_engines: dict[tuple[str, str], Any] = {}


def ocr_pages(path: Path, document: pdfium.PdfDocument, numbers: list[int],
              options: OcrOptions) -> list[Page]:
    """The pages `numbers` (1-based) of `document`, read by OCR."""
    if len(numbers) > options.max_pages:
        raise RejectedInput("ocr_page_limit", f"{path.name} has {len(numbers)} scanned pages, "
                            f"more than the {options.max_pages} OCR reads per document",
                            {"pages": len(numbers), "max_pages": options.max_pages})
    engine = _engine(options)
    deadline = time.monotonic() + options.time_limit_s
    pages = []
    for done, number in enumerate(numbers):
        remaining_s = deadline - time.monotonic()
        page = None if remaining_s <= 0 else _read(engine, document[number - 1], number,
                                                   options.dpi, remaining_s)
        if page is None:
            raise _too_slow(path, options, done, len(numbers))
        pages.append(page)
    return pages


def _read(engine: Any, pdf_page: pdfium.PdfPage, number: int, dpi: int,
          remaining_s: float) -> Page | None:
    """One page read by OCR; None when the time ran out during it."""
    import tesserocr

    try:
        width, height = pdf_page.get_size()
        image = pdf_page.render(scale=dpi / POINTS_PER_INCH, grayscale=True).to_pil()
    finally:
        pdf_page.close()
    engine.SetImage(image)
    if not engine.Recognize(timeout=max(1, int(remaining_s * 1000))):
        return None
    scale = POINTS_PER_INCH / dpi
    level = tesserocr.RIL.WORD
    runs = []
    for word in tesserocr.iterate_level(engine.GetIterator(), level):
        text = (word.GetUTF8Text(level) or "").strip()
        box = word.BoundingBox(level)
        if text and box is not None:
            left, top, right, bottom = (value * scale for value in box)
            runs.append(Run(text, left, top, right, bottom, size=bottom - top,
                            confidence=round(float(word.Confidence(level)), 1)))
    return Page(number=number, width=width, height=height, method=Method.OCR,
                runs=tuple(without_rules(runs)))


def without_rules(runs: list[Run]) -> list[Run]:
    """The words, without the table's ruled lines that Tesseract reads as dashes ("—", "___"):
    punctuation far wider per character than any letter of the page."""
    heights = sorted(run.size for run in runs if any(char.isalnum() for char in run.text))
    if not heights:
        return runs
    widest = RULE_SHARE * heights[len(heights) // 2]
    return [run for run in runs if any(char.isalnum() for char in run.text)
            or (run.x1 - run.x0) / len(run.text) <= widest]


def _engine(options: OcrOptions) -> Any:
    """Tesseract with its models loaded, once per process and configuration."""
    import tesserocr

    key = (options.languages, tessdata_dir(options))
    if key not in _engines:
        _engines[key] = tesserocr.PyTessBaseAPI(path=key[1], lang=options.languages)
    return _engines[key]


def tessdata_dir(options: OcrOptions) -> str:
    if options.tessdata_dir:
        return options.tessdata_dir
    prefix = os.environ.get("TESSDATA_PREFIX")
    if prefix:
        return prefix
    for candidate in TESSDATA_DIRS:
        if Path(candidate, "eng.traineddata").exists():
            return candidate
    raise RuntimeError("no Tesseract language data found (install tesseract-ocr-ind and "
                       "tesseract-ocr-eng, or set [parse] ocr_tessdata_dir)")


def _too_slow(path: Path, options: OcrOptions, done: int, total: int) -> RejectedInput:
    return RejectedInput("ocr_time_limit", f"{path.name}: OCR took longer than "
                         f"{options.time_limit_s:g} s, after {done} of {total} scanned page(s)",
                         {"time_limit_s": options.time_limit_s, "pages_read": done,
                          "pages": total})
