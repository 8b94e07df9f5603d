"""Pages of runs written by hand, for the reader's tests without a PDF in between.

`page(rows)` lays out rows of `(x, text)` cells at `LEADING` intervals; each cell becomes runs
the way a text layer gives them (one per touching stretch, a trailing " " where the writer put
a space), with a fixed advance of `ADVANCE` of the size per character. `kerned(x, pieces, gap)`
draws one string in pieces with a gap between them (a share of the size).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from handlers.domain.ksei.layout import Method, Page, Run

SIZE, LEADING, ADVANCE = 8.0, 10.0, 0.5
Cell = tuple[float, str] | list[Run]


def runs_of(x: float, text: str, top: float, *, size: float = SIZE,
            confidence: float | None = None) -> list[Run]:
    """`text` at `x` as a text layer gives it: words as runs, each real space ending one."""
    runs, start = [], x
    for word in text.split(" "):
        width = len(word) * ADVANCE * size
        if word:
            runs.append(Run(word + " ", start, top, start + width, top + size * 1.15, size,
                            confidence))
        start += width + ADVANCE * size
    if runs:
        last = runs[-1]
        runs[-1] = Run(last.text.rstrip(), last.x0, last.top, last.x1, last.bottom, last.size,
                       last.confidence)
    return runs


def kerned(x: float, pieces: Sequence[str], gap: float, top: float) -> list[Run]:
    """One string drawn piece by piece, `gap` (share of the size) between the pieces."""
    runs = []
    for piece in pieces:
        width = len(piece) * ADVANCE * SIZE
        runs.append(Run(piece, x, top, x + width, top + SIZE * 1.15, SIZE))
        x += width + gap * SIZE
    return runs


def page(rows: Sequence[Sequence[Cell]], *, number: int = 1, method: Method = Method.TEXT,
         confidence: float | None = None, shuffle_seed: int | None = None) -> Page:
    runs: list[Run] = []
    for at, row in enumerate(rows):
        top = 40 + at * LEADING
        for cell in row:
            if isinstance(cell, list):
                runs.extend(Run(r.text, r.x0, top, r.x1, top + r.bottom - r.top, r.size,
                                r.confidence) for r in cell)
            else:
                runs.extend(runs_of(cell[0], cell[1], top, confidence=confidence))
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(runs)
    return Page(number=number, width=595, height=842, method=method, runs=tuple(runs))
