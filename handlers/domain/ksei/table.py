"""The transaction table of the KSEI form: every row, from the text lines after its header.

A row is read cell by cell in the order the form prints them: type (`Pembelian`, `Penjualan`,
`Lainnya`, `Pelaksanaan (exercise)`, `Koreksi atas laporan`), the Ya/Tidak flag, direct or
indirect ownership, amount, share class, price, date (over one to three lines) and purpose (free
text until the next row). A row begins only where a type word is followed by that whole head,
so "Penjualan" inside a purpose never opens a false row. Headers repeated on later pages and
page numbers are dropped first, which mends a row cut by a page break.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from daemon.errors import RejectedInput
from handlers.domain.ksei.numbers import is_number, parse_date, parse_decimal, parse_shares
from handlers.domain.ksei.records import BUY, EXERCISE, OTHERS, SELL, TransactionRow

T = TypeVar("T")
TYPE_START = re.compile(r"^(pembelian|penjualan|lainnya|pelaksanaan|koreksi)\b", re.IGNORECASE)
# The whole type cell, so a purpose line that merely begins with a type word opens no row.
TYPE_TEXT = re.compile(r"^(koreksi atas laporan)?\s*(pembelian|penjualan|lainnya|"
                       r"pelaksanaan(\s*\(exercise\))?)?$", re.IGNORECASE)
CONTROL = ("Ya", "Tidak")
OWNERSHIP = ("Langsung", "Tidak Langsung")
FOOTER = re.compile(r"^(saya bertanggung|keterangan\b|pemberi\b|informasi\b|jika\b|"
                    r"nama pemegang\b)", re.IGNORECASE)
PAGE_NUMBER = re.compile(r"^(halaman|page)\s+\d+\s*(dari|of|/)\s*\d+$", re.IGNORECASE)
YEAR_END = re.compile(r"\d{4}$")
MAX_TYPE_LINES, MAX_DATE_LINES, MAX_CLASS_LINES = 3, 4, 4
# The v2 rule for "Lainnya": its purpose says which way the shares went (whole words only).
BUY_WORDS = frozenset({"investasi", "mesop", "esop", "pembelian"})
SELL_WORDS = frozenset({"divestasi", "penjualan"})
CORRECTION = re.compile(r"koreksi\s+atas\s+laporan", re.IGNORECASE)


@dataclass(frozen=True)
class _Head:
    raw_type: str
    ownership: str
    amount_at: int  # index of the amount line


def parse_table(lines: Sequence[str]) -> tuple[tuple[TransactionRow, ...], bool]:
    """(rows, whether any row is a correction) of the table in `lines`."""
    body = table_body(lines)
    rows: list[TransactionRow] = []
    index = _next_row(body, 0)
    while index < len(body):
        row, index = _read_row(body, index)
        rows.append(row)
    if not rows:
        raise RejectedInput("table_not_found", "the transaction table has no rows",
                            {"table_lines": list(body[:20])})
    correction = any(CORRECTION.search(row.raw_type) for row in rows)
    return tuple(rows), correction


def table_body(lines: Sequence[str]) -> list[str]:
    """The lines after the first header, without repeated headers, page numbers or footer."""
    start = _header_end(lines, 0)
    if start is None:
        raise RejectedInput("table_not_found", "no transaction table (no 'Jenis Transaksi' "
                            "... 'Tujuan Transaksi' header) in the form", {})
    body: list[str] = []
    index = start
    while index < len(lines) and not FOOTER.match(lines[index]):
        resumed = _header_end(lines, index, at_start=True) if _may_open_header(lines[index]) \
            else None
        if resumed is not None:
            index = resumed
            continue
        if not PAGE_NUMBER.match(lines[index]):
            body.append(lines[index])
        index += 1
    return body


def _may_open_header(line: str) -> bool:
    return line[:5].lower() == "jenis"


def _header_end(lines: Sequence[str], start: int, *, at_start: bool = False) -> int | None:
    """Index after the header ("Jenis Transaksi" ... "Tujuan Transaksi") found from `start`."""
    first = _find_pair(lines, start, "jenis", "transaksi", only_at_start=at_start)
    if first is None:
        return None
    last = _find_pair(lines, first, "tujuan", "transaksi", limit=40)
    return last


def _find_pair(lines: Sequence[str], start: int, word: str, second: str, *,
               only_at_start: bool = False, limit: int | None = None) -> int | None:
    """Index after `word second`, printed on one line or on two."""
    end = len(lines) if limit is None else min(len(lines), start + limit)
    for index in range(start, start + 1 if only_at_start else end):
        if index >= len(lines):
            return None
        line = lines[index].lower()
        if line == f"{word} {second}":
            return index + 1
        if line == word and index + 1 < len(lines) and lines[index + 1].lower() == second:
            return index + 2
    return None


def _next_row(body: list[str], index: int) -> int:
    while index < len(body) and _read_head(body, index) is None:
        index += 1
    return index


def _read_head(body: list[str], index: int) -> _Head | None:
    """The row head at `index` (type, flag, ownership, an amount next), or None."""
    if not TYPE_START.match(body[index]):
        return None
    for flag_at in range(index + 1, min(index + 1 + MAX_TYPE_LINES, len(body))):
        if body[flag_at] in CONTROL:
            raw_type = " ".join(body[index:flag_at])
            ownership, amount_at = _read_ownership(body, flag_at + 1)
            if TYPE_TEXT.match(raw_type) and amount_at < len(body) and is_number(body[amount_at]):
                return _Head(raw_type, ownership, amount_at)
            return None
    return None


def _read_ownership(body: list[str], index: int) -> tuple[str, int]:
    """("Tidak Langsung", next index), whether printed on one line or two; "" if absent."""
    pair = " ".join(body[index:index + 2])
    if pair == "Tidak Langsung":
        return pair, index + 2
    if index < len(body) and body[index] in OWNERSHIP:
        return body[index], index + 1
    return "", index


def _read_row(body: list[str], index: int) -> tuple[TransactionRow, int]:
    head = _read_head(body, index)
    assert head is not None  # only called where a head was found
    at = head.amount_at
    amount = _parse(parse_shares, body[at], "amount")
    share_class, at = _read_until(body, at + 1, lambda line: is_number(line) or line == "-")
    price = None if body[at] == "-" else _parse(parse_decimal, body[at], "price")
    day, at = _read_date(body, at + 1)
    end = _next_row(body, at)
    purpose = " ".join(body[at:end])
    row = TransactionRow(
        type=classify(head.raw_type, purpose), raw_type=head.raw_type, share_class=share_class,
        amount=amount, price=price, date=day, purpose=purpose, ownership=head.ownership)
    return row, end


def _read_until(body: list[str], index: int, stop: Callable[[str], bool]) -> tuple[str, int]:
    """The share class: lines up to the price (at most a few)."""
    for end in range(index, min(index + MAX_CLASS_LINES + 1, len(body))):
        if stop(body[end]):
            return " ".join(body[index:end]), end
    text = " ".join(body[index:index + MAX_CLASS_LINES + 1])
    raise RejectedInput("number_parse_error", f"no price after the share class in {text!r}",
                        {"field": "price", "text": text})


def _read_date(body: list[str], index: int) -> tuple[str, int]:
    """A date over one to three lines ("24 -", "Apr -", "2026"), ending at its year."""
    for end in range(index, min(index + MAX_DATE_LINES, len(body))):
        if YEAR_END.search(body[end]):
            text = " ".join(body[index:end + 1])
            return _parse(parse_date, text, "date").isoformat(), end + 1
    text = " ".join(body[index:index + MAX_DATE_LINES])
    raise RejectedInput("date_parse_error", f"no transaction date in {text!r}",
                        {"field": "date", "text": text})


def _parse(parse: Callable[[str], T], text: str, field: str) -> T:
    try:
        return parse(text)
    except ValueError as error:
        code = "date_parse_error" if field == "date" else "number_parse_error"
        raise RejectedInput(code, f"transaction {field}: cannot read {text!r} ({error})",
                            {"field": field, "text": text}) from None


def classify(raw_type: str, purpose: str) -> str:
    """The row type from the printed type, and for "Lainnya" (or a bare correction) the purpose."""
    printed = CORRECTION.sub("", raw_type).lower()
    for word, kind in (("pembelian", BUY), ("penjualan", SELL), ("pelaksanaan", EXERCISE)):
        if re.search(rf"\b{word}\b", printed):
            return kind
    words = set(re.findall(r"[a-z]+", purpose.lower()))
    if words & BUY_WORDS:
        return BUY
    return SELL if words & SELL_WORDS else OTHERS
