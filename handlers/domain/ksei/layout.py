"""A page as the form reader sees it: pieces of text with their boxes, wherever they came from.

A text layer gives one run per character (or per text object); OCR gives one run per word,
with its confidence. The reader assembles runs into words and lines from their geometry alone,
so both sources go through the same code. Coordinates are PDF points with the origin at the
page's top-left corner: `top` grows down the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple


class Method(StrEnum):
    TEXT = "text"  # the PDF's own text layer
    OCR = "ocr"  # a rendering of the page read by Tesseract


# A named tuple rather than a frozen dataclass: as immutable and hashable, and built in a third
# of the time, which counts at one run per stretch of characters of every page.
class Run(NamedTuple):
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float  # font size in points; for OCR, the height of the word's box
    confidence: float | None = None  # OCR only: Tesseract's 0–100


@dataclass(frozen=True, slots=True)
class Page:
    number: int  # 1-based, as printed in "Halaman N dari M"
    width: float
    height: float
    method: Method
    runs: tuple[Run, ...]
