"""The transaction table's rows as records: each cell of a grid row read into its field.

The grid (`table_grid`) says which words stand in which cell of which row; here the cells are
read: type (`Pembelian`, `Penjualan`, `Lainnya`, `Pelaksanaan (exercise)`, `Koreksi atas
laporan`), direct or indirect ownership, amount, share class, price (`-` when none), date and
purpose. A cell that cannot be read is refused naming the row's field, the page and the text
(`rows[0].amount`), never guessed. `table_not_found` is for a form with no table header at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from daemon.errors import RejectedInput
from handlers.domain.ksei.numbers import compact_number, parse_date, parse_decimal, parse_shares
from handlers.domain.ksei.provenance import seen, unreadable
from handlers.domain.ksei.records import BUY, EXERCISE, OTHERS, SELL, TransactionRow
from handlers.domain.ksei.table_grid import (
    AMOUNT,
    DATE,
    OWNERSHIP,
    PRICE,
    PURPOSE,
    SHARE_CLASS,
    TYPE,
    GridRow,
    read_grid,
)
from handlers.domain.ksei.words import Line

T = TypeVar("T")
# The whole type cell, so a purpose that merely begins with a type word opens no row.
TYPE_TEXT = re.compile(r"^(koreksi atas laporan)?\s*(pembelian|penjualan|lainnya|"
                       r"pelaksanaan(\s*\(exercise\))?)?$", re.IGNORECASE)
OWNERSHIPS = ("", "Langsung", "Tidak Langsung")
# The v2 rule for "Lainnya": its purpose says which way the shares went (whole words only).
BUY_WORDS = frozenset({"investasi", "mesop", "esop", "pembelian"})
SELL_WORDS = frozenset({"divestasi", "penjualan"})
CORRECTION = re.compile(r"koreksi\s+atas\s+laporan", re.IGNORECASE)
Provenance = dict[str, dict[str, Any]]


def parse_table(lines: Sequence[Line]) -> tuple[tuple[TransactionRow, ...], Provenance]:
    """(rows, provenance of each row's cells) of the form's transaction table."""
    grid = read_grid(lines)
    if grid is None:
        raise RejectedInput("table_not_found", "no transaction table (no 'Jenis Transaksi' "
                            "... 'Tujuan Transaksi' header, in either language) in the form",
                            {})
    if not grid.rows:
        raise RejectedInput("table_empty", "the transaction table has a header but no rows",
                            {"page": grid.header_page})
    provenance: Provenance = {}
    rows = tuple(_read_row(row, f"rows[{at}]", provenance) for at, row in enumerate(grid.rows))
    return rows, provenance


def _read_row(row: GridRow, key: str, provenance: Provenance) -> TransactionRow:
    def cell(column: str, text: str | None = None) -> dict[str, Any]:
        where = seen(row.words(column) or row.words(TYPE), text or row.text(column))
        provenance[f"{key}.{column}"] = where
        return where

    raw_type = _checked(cell(TYPE), f"{key}.type", _type_text)
    ownership = _checked(cell(OWNERSHIP), f"{key}.ownership", _ownership_text)
    amount = _parse(parse_shares, cell(AMOUNT, compact_number(row.text(AMOUNT))),
                    f"{key}.amount", "number_parse_error")
    share_class = cell(SHARE_CLASS)["text"]
    price_cell = cell(PRICE, compact_number(row.text(PRICE)))
    price = None if price_cell["text"] == "-" else \
        _parse(parse_decimal, price_cell, f"{key}.price", "number_parse_error")
    day = _parse(parse_date, cell(DATE), f"{key}.date", "date_parse_error")
    purpose = cell(PURPOSE)["text"]
    return TransactionRow(type=classify(raw_type, purpose), raw_type=raw_type,
                          share_class=share_class, amount=amount, price=price,
                          date=day.isoformat(), purpose=purpose, ownership=ownership)


def _type_text(text: str) -> str:
    if TYPE_TEXT.match(text) is None or not text:
        raise ValueError("not a transaction type")
    return text


def _ownership_text(text: str) -> str:
    if text not in OWNERSHIPS:
        raise ValueError("not Langsung or Tidak Langsung")
    return text


def _checked(where: dict[str, Any], field: str, check: Callable[[str], str]) -> str:
    return _parse(check, where, field, "value_parse_error")


def _parse(parse: Callable[[str], T], where: dict[str, Any], field: str, code: str) -> T:
    try:
        return parse(where["text"])
    except ValueError as error:
        raise unreadable(code, field, where, str(error)) from None


def is_correction(rows: Sequence[TransactionRow]) -> bool:
    return any(CORRECTION.search(row.raw_type) for row in rows)


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
