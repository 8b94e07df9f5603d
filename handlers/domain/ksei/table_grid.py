"""The transaction table as a grid: columns from its header's cells, rows from the lines below.

The header is found on any page in Indonesian or English (`Jenis Transaksi` ... `Tujuan
Transaksi`, `Type of Transaction` ... `Purpose of Transaction`), wrapped over lines or not.
Its words are grouped into cells around the words that name a column, by their x-ranges; the
columns are the cells' left edges, and every word below belongs to the column its box overlaps
most. A row begins on the line where the type column opens with a type word and the amount
column holds a value; every other line adds to the cells of the row above it, also across a
page break, which joins a row cut mid-cell back together. A header repeated on a later page,
page numbers (`Halaman N dari M`) and the closing statements never become part of a cell.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from handlers.domain.ksei.words import Line, Word

TYPE, CONTROL, OWNERSHIP, AMOUNT = "type", "control", "ownership", "amount"
SHARE_CLASS, PRICE, DATE, PURPOSE = "share_class", "price", "date", "purpose"
# Checked in this order: "Transaction Price" names the price, not the type.
COLUMN_KEYS = ((PURPOSE, {"tujuan", "purpose", "purposes"}), (DATE, {"tanggal", "date"}),
               (PRICE, {"harga", "price"}),
               (SHARE_CLASS, {"klasifikasi", "classification", "class"}),
               (AMOUNT, {"jumlah", "number"}),
               (OWNERSHIP, {"status", "kepemilikan", "ownership"}),
               (CONTROL, {"pengendali", "controlling", "control"}), (TYPE, {"jenis", "type"}))
KEY_WORDS = frozenset(word for _, words in COLUMN_KEYS for word in words)
# Never a cell's value ("Langsung" cut from "Tidak Langsung" must not join a header band).
HEADER_WORDS = KEY_WORDS | {"transaksi", "saham", "transaction", "transactions", "of", "the",
                            "shares", "share", "per", "lembar", "rp", "idr"}
REQUIRED = (TYPE, AMOUNT, DATE)
MIN_KEYS = 4  # column names on the header's first line
TYPE_START = re.compile(r"^(pembelian|penjualan|lainnya|pelaksanaan|koreksi)\b", re.IGNORECASE)
PAGE_NUMBER = re.compile(r"^(halaman|page)\s*\d+\s*(dari|of|/)\s*\d+$", re.IGNORECASE)
CLOSING = re.compile(r"^(saya bertanggung|i shall be|keterangan\b|remarks?\b|pemberi\b|"
                     r"informasi\b|jika\b|nama pemegang\b|ksei shall|ksei tidak)",
                     re.IGNORECASE)
_TOKEN = re.compile(r"[a-z]+|\d+")
_NUMBER_THEN_LETTERS = re.compile(r"^(\d[\d.,]*\d)([^\W\d_].*)$")


@dataclass(frozen=True)
class Column:
    name: str
    left: float


@dataclass
class GridRow:
    cells: dict[str, list[Word]] = field(default_factory=dict)

    def text(self, column: str) -> str:
        return " ".join(word.text for word in self.cells.get(column, ()))

    def words(self, column: str) -> list[Word]:
        return self.cells.get(column, [])


@dataclass(frozen=True)
class Grid:
    header_page: int
    rows: tuple[GridRow, ...]


def read_grid(lines: Sequence[Line]) -> Grid | None:
    """The table's rows, or None when the form has no table header at all."""
    columns: list[Column] | None = None
    header_page: int | None = None
    rows: list[GridRow] = []
    closed_page: int | None = None  # a closing statement ends the table until a new header
    index = 0
    while index < len(lines):
        line = lines[index]
        header = _header(lines, index)
        if header is not None:
            columns, index = header
            header_page = header_page or line.page
            closed_page = None
            continue
        index += 1
        if columns is None or closed_page is not None or PAGE_NUMBER.match(line.text):
            continue
        cells = _cells(line, columns)
        if CLOSING.match(line.text) and _column_of(line.words[0], columns) == columns[0].name:
            closed_page = line.page  # a statement across the page, not a purpose's next line
            continue
        _add_line(rows, cells)
    return None if header_page is None else Grid(header_page, tuple(rows))


def _add_line(rows: list[GridRow], cells: dict[str, list[Word]]) -> None:
    opens = bool(cells.get(AMOUNT)) and \
        TYPE_START.match(" ".join(word.text for word in cells.get(TYPE, ()))) is not None
    if opens:
        rows.append(GridRow(cells))
    elif rows:
        for name, words in cells.items():
            rows[-1].cells.setdefault(name, []).extend(words)


def _cells(line: Line, columns: list[Column]) -> dict[str, list[Word]]:
    cells: dict[str, list[Word]] = {}
    for whole in line.words:
        for word in _split_at_column(whole, columns):
            cells.setdefault(_column_of(word, columns), []).append(word)
    return cells


def _split_at_column(word: Word, columns: list[Column]) -> tuple[Word, ...]:
    """A number drawn wider than its cell runs into the next cell's text with no gap between
    them ("10.000.000.000,00Saham"): a word across a column's edge that turns from a number
    to letters is two words, parted where it turns (its characters counted as equally wide)."""
    turn = _NUMBER_THEN_LETTERS.match(word.text)
    if turn is None:
        return (word,)
    slack = 0.5 * word.size
    if not any(word.x0 < column.left - slack < word.x1 for column in columns):
        return (word,)
    at = word.x0 + (word.x1 - word.x0) * len(turn.group(1)) / len(word.text)
    return (word._replace(text=turn.group(1), x1=at), word._replace(text=turn.group(2), x0=at))


def _column_of(word: Word, columns: list[Column]) -> str:
    """The column whose span (its left edge to the next one's) the word overlaps most: the one
    its left edge falls in, or a neighbour it reaches further into."""
    slack = 0.5 * word.size
    at = 0
    while at + 1 < len(columns) and columns[at + 1].left - slack <= word.x0:
        at += 1
    if at + 1 == len(columns) or word.x1 <= columns[at + 1].left - slack:
        return columns[at].name  # inside its column: most words
    best, best_overlap = columns[at].name, float("-inf")
    for near in (at, at + 1):
        left = float("-inf") if near == 0 else columns[near].left - slack
        right = columns[near + 1].left - slack if near + 1 < len(columns) else float("inf")
        overlap = min(word.x1, right) - max(word.x0, left)
        if overlap > best_overlap:
            best, best_overlap = columns[near].name, overlap
    return best


def _header(lines: Sequence[Line], index: int) -> tuple[list[Column], int] | None:
    """(columns, index after the header) when a table header starts at `index`."""
    first = lines[index]
    tokens = _line_tokens(first)
    if len(set(tokens) & KEY_WORDS) < MIN_KEYS or not _mostly_header(tokens):
        return None
    band = [first]
    end = index + 1
    while end < len(lines) and _continues_header(band, lines[end]):
        band.append(lines[end])
        end += 1
    columns = _columns(band)
    if columns is None:
        return None
    return columns, end


def _continues_header(band: list[Line], lower: Line) -> bool:
    """`lower` is one more line of the header: just below it, of header words, each naming
    the column it stands in. Once the band has two lines its own spacing is the measure: the
    first row sits further down (the cells' padding), and may hold nothing but header words
    (the rest of a purpose cut by the page break above a repeated header)."""
    upper = band[-1]
    if upper.page != lower.page:
        return False
    gaps = [below.top - above.bottom for above, below in itertools.pairwise(band)]
    limit = max(gaps) + 0.25 * upper.size if gaps else 1.5 * upper.size
    return lower.top - upper.bottom < limit and _mostly_header(_line_tokens(lower)) and \
        _names_its_own_columns(band, lower)


def _names_its_own_columns(band: list[Line], lower: Line) -> bool:
    """Each word of `lower` that names a column stands under a word of the band naming the
    same one (or under none): "Kepemilikan" under "Status" goes on the header, while a
    purpose's next line "kepemilikan", under "Tujuan" just below a repeated header, does not."""
    named = [(word, name) for line in band for word in line.words
             if (name := _column_name(_TOKEN.findall(word.text.lower()))) is not None]
    for word in lower.words:
        name = _column_name(_TOKEN.findall(word.text.lower()))
        above = {other_name for other, other_name in named if _distance(word, other) == 0}
        if name is not None and above and name not in above:
            return False
    return True


def _mostly_header(tokens: list[str], share: float = 0.8) -> bool:
    return bool(tokens) and sum(token in HEADER_WORDS for token in tokens) >= share * len(tokens)


def _line_tokens(line: Line) -> list[str]:
    return _TOKEN.findall(line.text.lower())


def _columns(band: list[Line]) -> list[Column] | None:
    """The header's columns. Each word that names one ("Jenis", "Price") stands in its cell; a
    word stacked over or under one is in its cell; the others of a line ("Transaksi", "of")
    go left or right to the nearest such word, parted where the gap is widest: the padding
    between two cells is wider than a space. A column starts at its cell's leftmost word."""
    words = [word for line in band for word in line.words]
    named = [(word, name) for word in words
             if (name := _column_name(_TOKEN.findall(word.text.lower()))) is not None]
    owner: dict[int, str] = {id(word): name for word, name in named}
    for word in words:
        stacked = [name for other, name in named if _distance(word, other) == 0]
        if id(word) not in owner and stacked:
            owner[id(word)] = stacked[0]
    for line in band:
        _share_out(list(line.words), owner)
    lefts: dict[str, float] = {}
    for word in words:
        if id(word) in owner:
            name = owner[id(word)]
            lefts[name] = min(lefts.get(name, word.x0), word.x0)
    if not all(name in lefts for name in REQUIRED):
        return None
    return sorted((Column(name, left) for name, left in lefts.items()),
                  key=lambda column: column.left)


def _share_out(words: list[Word], owner: dict[int, str]) -> None:
    """Give each stretch of unowned words of a line to its owned neighbours, split at the
    stretch's widest gap."""
    at = 0
    while at < len(words):
        if id(words[at]) in owner:
            at += 1
            continue
        end = at
        while end < len(words) and id(words[end]) not in owner:
            end += 1
        left = words[at - 1] if at > 0 else None
        right = words[end] if end < len(words) else None
        stretch = words[at:end]
        if left is not None or right is not None:
            chain = [word for word in (left, *stretch, right) if word is not None]
            gaps = [b.x0 - a.x1 for a, b in itertools.pairwise(chain)]
            split = gaps.index(max(gaps)) + (0 if left is not None else 1)
            for offset, word in enumerate(stretch):
                side = left if (offset < split and left is not None) or right is None else right
                assert side is not None
                owner[id(word)] = owner[id(side)]
        at = end


def _distance(word: Word, other: Word) -> float:
    """The horizontal gap between two words (0 when their x-ranges overlap)."""
    return max(0.0, other.x0 - word.x1, word.x0 - other.x1)


def _column_name(tokens: list[str]) -> str | None:
    present = set(tokens)
    for name, keys in COLUMN_KEYS:
        if present & keys:
            return name
    return None
