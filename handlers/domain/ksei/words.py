"""Runs of text assembled into words and visual lines by their geometry alone.

A writer may draw a word in several runs (`PT `, `SINAR`, ` MAS`; `4.`, `289.`, `610.`,
`000`) with small kerning gaps between them, and in any order. So the runs of a page are first
grouped into visual lines by their vertical position (whatever order they were written in),
then each line's runs are put in x order and joined into words: a space in a run's text is a
word break, and so is a gap wider than `WORD_GAP` of the font size; a narrower gap is kerning
inside a word. A colon always
stands as a word of its own, so `Label:value`, `Label :` and `: value` all split the same way.
Every word keeps its page, how it was read and (for OCR) its confidence, for provenance.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from handlers.domain.ksei.layout import Method, Page, Run

# A writer that leaves no space character between words leaves at least a space's width (0.25
# em in Times, 0.28 in Helvetica, 0.6 in Courier) and the glyphs' side bearings; kerning inside
# a word stays below this share of the font size, even where PDFium already sees a space.
WORD_GAP = 0.23
# Two runs are on one line when their vertical centres are this close (share of the height).
LINE_SHARE = 0.45
# A colon between two digits is part of a time ("10:30"), not a label's separator.
_COLON = re.compile(r"(?<!\d):|:(?!\d)")


class Word(NamedTuple):  # a named tuple, like `Run`: one per word of every page
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    page: int
    method: Method
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class Line:
    words: tuple[Word, ...]  # in x order
    page: int
    top: float
    bottom: float

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)

    @property
    def size(self) -> float:
        return max(word.size for word in self.words)


def page_lines(pages: Iterable[Page]) -> list[Line]:
    """The visual lines of every page, top to bottom, page after page."""
    return [line for page in pages for line in lines_of(page)]


def lines_of(page: Page) -> list[Line]:
    runs = [run for run in page.runs if run.text]
    centres = [(run.top + run.bottom) / 2 for run in runs]
    groups: list[list[Run]] = []
    start = reach = 0.0  # the current group's first centre, and how far below it a line goes
    for at in sorted(range(len(runs)), key=centres.__getitem__):  # stable, as by centre
        run, centre = runs[at], centres[at]
        if not groups or centre - start > reach:
            start, reach = centre, LINE_SHARE * _height(run)
            groups.append([])
        groups[-1].append(run)
    return [line for line in (_line(group, page) for group in groups) if line is not None]


def _height(run: Run) -> float:
    return max(run.bottom - run.top, run.size * 0.5, 1.0)


def _line(runs: list[Run], page: Page) -> Line | None:
    runs.sort(key=_left)
    words = tuple(piece for word in join_words(runs, page)
                  for piece in (split_colon(word) if ":" in word.text else (word,)))
    if not words:
        return None  # spaces only
    return Line(words=words, page=page.number, top=min(word.top for word in words),
                bottom=max(word.bottom for word in words))


def _left(run: Run) -> float:
    return run.x0


def join_words(runs: Sequence[Run], page: Page) -> list[Word]:
    """Runs of one line, in x order, joined where the gap is kerning rather than a space."""
    words: list[Word] = []
    parts: list[Run] = []
    for run in runs:
        space = run.text.isspace()
        if parts and (space or _breaks(parts[-1], run)):
            words.append(_word(parts, page))
            parts = []
        if not space:
            parts.append(run)
    if parts:
        words.append(_word(parts, page))
    return words


def _breaks(left: Run, right: Run) -> bool:
    """A space printed between them, or a gap wider than kerning."""
    if left.text.endswith(" ") or right.text.startswith(" "):
        return True
    return right.x0 - left.x1 > WORD_GAP * max(right.size, left.size)


def _word(parts: list[Run], page: Page) -> Word:
    if len(parts) == 1:  # most words: one run
        run = parts[0]
        return Word(run.text.strip(), run.x0, run.top, run.x1, run.bottom, run.size,
                    page.number, page.method, run.confidence)
    confidences = [run.confidence for run in parts if run.confidence is not None]
    return Word(text="".join(run.text.strip() for run in parts), x0=parts[0].x0,
                top=min(run.top for run in parts), x1=max(run.x1 for run in parts),
                bottom=max(run.bottom for run in parts), size=max(run.size for run in parts),
                page=page.number, method=page.method,
                confidence=min(confidences) if confidences else None)


def split_colon(word: Word) -> list[Word]:
    """`Transaksi:` -> `Transaksi`, `:`; positions shared out by character count."""
    match = _COLON.search(word.text)
    if match is None or word.text == ":":
        return [word]
    at, total = match.start(), len(word.text)
    step = (word.x1 - word.x0) / total
    pieces = [(word.text[:at], 0, at), (":", at, at + 1), (word.text[at + 1:], at + 1, total)]
    out = []
    for text, start, end in pieces:
        if text:
            piece = Word(text, word.x0 + start * step, word.top, word.x0 + end * step,
                         word.bottom, word.size, word.page, word.method, word.confidence)
            out.extend(split_colon(piece) if text != ":" else [piece])
    return out
