"""The labelled fields of the KSEI form, found in either language on its visual lines.

A label is matched at the start of a line, Indonesian or English, tolerantly (case, spacing,
punctuation, a misread letter or two from OCR); of two labels that both match, the closer
wins, so `Sebelum` and `Setelah` never swap. Its value is what stands after the colon on the
same row or, when nothing does, on the following row(s): the row of its label in the other
language (`Jumlah Saham Sebelum Transaksi` / `Number of shares before the transaction` /
`: 84.915.700`) or a row of its own below. A text value continues on the rows below while
they hold nothing in the label column but the same label in the other language. Preambles
and statements never match: a label row holds a colon, or nothing but labels.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from handlers.domain.ksei.words import Line, Word

HOLDER, COMPANY = "holder_name", "company_name"
BEFORE, AFTER = "holding_before", "holding_after"
PCT_BEFORE, PCT_AFTER = "percentage_before", "percentage_after"
POSITION, BOARD, CONTROLLING = "position", "board_member", "controlling_shareholder"
CATEGORY = "holder_category"
# Each field's labels, the Indonesian one (the name used in reasons) first.
LABELS: dict[str, tuple[str, ...]] = {
    HOLDER: ("Nama (sesuai SID)", "Name (as per SID)", "Name (according to SID)",
             "Name (as in SID)"),
    COMPANY: ("Nama Perusahaan Tbk", "Name of Public Company", "Public Company Name"),
    BEFORE: ("Jumlah Saham Sebelum Transaksi", "Number of shares before the transaction",
             "Number of shares owned before the transaction"),
    AFTER: ("Jumlah Saham Setelah Transaksi", "Number of shares after the transaction",
            "Number of shares owned after the transaction"),
    PCT_BEFORE: ("Hak Suara Sebelum Transaksi", "Voting rights before the transaction",
                 "Percentage of voting rights before the transaction"),
    PCT_AFTER: ("Hak Suara Setelah Transaksi", "Voting rights after the transaction",
                "Percentage of voting rights after the transaction"),
    POSITION: ("Jabatan", "Position"),
    BOARD: ("Anggota Direksi/Dewan Komisaris",
            "Member of the Board of Directors/Board of Commissioners"),
    CONTROLLING: ("Pemegang Saham Pengendali", "Controlling Shareholder"),
    CATEGORY: ("Klasifikasi Pemegang Saham", "Kategori Pemegang Saham",
               "Classification of Shareholder", "Shareholder Category"),
}
TEXT_FIELDS = frozenset({HOLDER, COMPANY, POSITION, BOARD, CATEGORY})
MIN_SCORE = 90.0
COLON_LOOKALIKES = frozenset({";", "|", "1", "l", "i", "!", "¦"})
MAX_VALUE_ROWS = 4
ROW_GAP = 2.6  # how far below (in font sizes) a value or its next row may stand
_TOKEN = re.compile(r"[a-z0-9]+")
_VARIANTS = [(field, tuple(tokens), "".join(tokens))
             for field, labels in LABELS.items() for label in labels
             if (tokens := _TOKEN.findall(label.lower()))]
_FIRST_LETTERS = frozenset(target[0] for _, _, target in _VARIANTS)


@dataclass(frozen=True)
class Found:
    """A field's value as printed, and where: the words it was read from."""

    field: str
    text: str
    words: tuple[Word, ...]
    line: int  # index of the value's first line


@dataclass(frozen=True)
class _Row:
    field: str | None
    label_words: tuple[Word, ...]
    colon: Word | None
    value_words: tuple[Word, ...]


class Labelled:
    """The form's lines, each split at its colon and told which label it holds (once)."""

    def __init__(self, lines: Sequence[Line]):
        self.lines = lines
        self.rows = [classify(line) for line in lines]

    def find(self, field: str) -> Found | None:
        """The first value of `field`, None when its label is nowhere (or valueless)."""
        for index, row in enumerate(self.rows):
            if row.field == field:
                found = _value(self, index, row)
                if found is not None:
                    return found
        return None


def classify(line: Line) -> _Row:
    """Split a line at its colon and say which field's label (if any) its left part is."""
    colon_at = next((i for i, word in enumerate(line.words) if word.text == ":"), None)
    if colon_at is None:
        colon_at = _misread_colon(line.words)
    label_words = line.words if colon_at is None else line.words[:colon_at]
    value_words = () if colon_at is None else line.words[colon_at + 1:]
    colon = None if colon_at is None else line.words[colon_at]
    tokens = _tokens(label_words)
    field, used = match_label(tokens)
    if field is not None and colon is None and not _only_labels(tokens[used:], field):
        field = None  # a sentence that starts like a label
    return _Row(field, label_words, colon, value_words)


def _misread_colon(words: Sequence[Word]) -> int | None:
    """Where OCR read the colon as "1", ";" or "|": a look-alike alone between a whole label
    and a value."""
    for at, word in enumerate(words[1:-1], start=1):
        if word.text in COLON_LOOKALIKES:
            tokens = _tokens(words[:at])
            field, used = match_label(tokens)
            if field is not None and _only_labels(tokens[used:], field):
                return at
    return None


def match_label(tokens: Sequence[str]) -> tuple[str | None, int]:
    """(the field whose label `tokens` start with, tokens used); (None, 0) when none does.
    Compared without the spaces, which OCR puts in or leaves out ("(ses uai SID)")."""
    joined = "".join(tokens)
    if not joined or joined[0] not in _FIRST_LETTERS:
        return None, 0  # most lines of a form: no label starts so
    return _scored_match(tuple(tokens))


# Forms of one template print the same label lines: a parse child, which reads form after
# form, scores each distinct line once (a fuzzy ratio against every variant of every label,
# about 25 µs) and finds the rest here.
@functools.lru_cache(maxsize=4096)
def _scored_match(tokens: tuple[str, ...]) -> tuple[str | None, int]:
    best: tuple[float, int, int, str | None] = (0.0, 0, 0, None)
    joined = "".join(tokens)
    ends = list(itertools.accumulate(len(token) for token in tokens))
    for field, _, target in _VARIANTS:
        used = bisect.bisect_left(ends, len(target) - 1) + 1
        if used > len(ends) or ends[used - 1] > len(target) + 1:
            continue  # the label would end inside a word
        score = fuzz.ratio(joined[:ends[used - 1]], target, score_cutoff=MIN_SCORE)
        if score > best[0] or (score == best[0] and len(target) > best[1]):
            best = (score, len(target), used, field)
    if best[0] < MIN_SCORE:
        return None, 0
    return best[3], best[2]


def _only_labels(tokens: Sequence[str], field: str) -> bool:
    """Nothing left, or only the same field's label in the other language."""
    if not tokens:
        return True
    other, used = match_label(tokens)
    return other == field and used >= len(tokens) - 1


def _tokens(words: Sequence[Word]) -> list[str]:
    return _TOKEN.findall(" ".join(word.text for word in words).lower())


def _value(form: Labelled, index: int, row: _Row) -> Found | None:
    assert row.field is not None
    if row.value_words:
        start, words = index, row.value_words
    else:
        located = _value_below(form, index, row.field)
        if located is None:
            return None
        start, words = located
    if row.field in TEXT_FIELDS:
        words = words + _continuation(form.lines, start, row.field, words[0].x0)
    return Found(row.field, " ".join(word.text for word in words), words, start)


def _value_below(form: Labelled, index: int, field: str
                 ) -> tuple[int, tuple[Word, ...]] | None:
    """The row below a label with nothing after it: its other-language label's, or its own."""
    lines = form.lines
    previous = lines[index]
    for at in range(index + 1, min(index + MAX_VALUE_ROWS, len(lines))):
        line = lines[at]
        if not _near(previous, line):
            return None
        row = form.rows[at]
        if row.field == field and row.value_words:
            return at, row.value_words
        if row.field is not None and row.field != field:
            return None
        if row.field is None and not row.label_words and row.value_words:
            return at, row.value_words  # ": value" alone on its row
        if row.field is None and row.colon is None:
            return at, line.words  # the value on a row of its own
        previous = line
    return None


def _continuation(lines: Sequence[Line], start: int, field: str, value_x: float
                  ) -> tuple[Word, ...]:
    """The words of a text value wrapped onto the rows below, in its column."""
    words: list[Word] = []
    previous = lines[start]
    for at in range(start + 1, min(start + 1 + MAX_VALUE_ROWS, len(lines))):
        line = lines[at]
        if not _near(previous, line):
            break
        left = value_x - 0.5 * line.size
        labels = [word for word in line.words if word.x0 < left]
        if any(word.text == ":" for word in line.words):
            break
        if labels and not _only_labels(_tokens(labels), field):
            break
        words.extend(word for word in line.words if word.x0 >= left)
        previous = line
    return tuple(words)


def _near(upper: Line, lower: Line) -> bool:
    return upper.page == lower.page and lower.top - upper.bottom < ROW_GAP * upper.size
