"""The canvas the form builder draws on: text drawn the ways real writers draw it.

`FormCanvas` takes every `drawString` of a page and, at the end of the page, writes them out:
with some lines swapped for others (a damaged form), each string cut into several text objects
with kerning gaps between them (`PT `, `SINAR`, ` MAS`; `4.`, `289.`, `610.`, `000`), and in a
shuffled order, so content order says nothing about reading order. Gaps stay below a space
(at most `kerning` of the font size), the way a writer's kerning does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

# What kerning may add to a string's width, as a share of the size: a writer lays kerned text
# out within its cell, so it never grows into the next column.
BUDGET = 0.3


@dataclass(frozen=True)
class Ink:
    kerning: float = 0.0  # the widest gap between two pieces of a string, share of the size
    shuffle: bool = False  # write the page's text objects in a random order
    seed: int = 0
    # Strings drawn in exactly these pieces, `kerning` apart: (("SARATOGA", ("SARA", "TOGA")),)
    pieces: tuple[tuple[str, tuple[str, ...]], ...] = ()


class FormCanvas(Canvas):
    def __init__(self, path: str, replacements: dict[str, str], ink: Ink, **options: Any):
        super().__init__(path, **options)
        self.replacements, self.ink = replacements, ink
        self.random = random.Random(ink.seed)
        self._pending: list[tuple[float, float, str, str, float]] = []
        # Off while a table header is drawn: a kerned header word would grow into the next
        # column, which a real form's header (laid out with its kerning) never does.
        self.kerned = True

    def drawString(self, x: float, y: float, text: str, *args: Any, **kwargs: Any) -> None:
        text = self.replacements.get(text, text)
        font, size = self._fontname, self._fontsize
        pieces = self._pieces(x, text, font, size) if self.kerned else [(x, text)]
        for piece_x, piece in pieces:
            self._pending.append((piece_x, y, piece, font, size))

    def showPage(self) -> None:
        self._flush()
        super().showPage()

    def save(self) -> None:
        self._flush()
        super().save()

    def _flush(self) -> None:
        if self.ink.shuffle:
            self.random.shuffle(self._pending)
        for x, y, text, font, size in self._pending:
            self.setFont(font, size)
            super().drawString(x, y, text)
        self._pending = []

    def _pieces(self, x: float, text: str, font: str, size: float) -> list[tuple[float, str]]:
        """`text` cut into pieces drawn one after the other with small gaps between them."""
        given = dict(self.ink.pieces).get(text)
        cuts = self._cuts(text) if given is None else \
            [sum(map(len, given[:at])) for at in range(1, len(given))]
        pieces = []
        budget = BUDGET * size if given is None else float("inf")
        for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True):
            piece = text[start:end]
            if pieces and budget < 0:  # the string would outgrow its cell: the rest as one
                pieces.append((x, text[start:]))
                break
            pieces.append((x, piece))
            gap = 0.0 if piece.endswith(" ") or text[end:end + 1] == " " else \
                self.ink.kerning * size if given else \
                self.random.uniform(0.02, self.ink.kerning) * size
            budget -= gap
            x += stringWidth(piece, font, size) + gap
        return pieces

    def _cuts(self, text: str) -> list[int]:
        if self.ink.kerning <= 0 or self.ink.pieces or len(text) < 2:
            return []
        dots = [at + 1 for at, char in enumerate(text[:-1]) if char == "." and
                text[at + 1].isdigit()]
        inside = self.random.sample(range(1, len(text)), min(2, len(text) - 1))
        return sorted(set(dots + inside))
