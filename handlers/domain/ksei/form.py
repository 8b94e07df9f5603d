"""The KSEI ownership form read from its text lines: the labelled fields and the table rows.

Pure: lines in, `FormFields` out, or `RejectedInput` naming what is missing or unreadable. The
labels (`Nama (sesuai SID)`, `Nama Perusahaan Tbk`, `Jumlah Saham Sebelum/Setelah Transaksi`,
`Hak Suara Sebelum/Setelah Transaksi`) are found wherever they are, with their value after the
colon on the same line or on the next ones; a name may wrap over several lines. The table is in
`ksei_table`. Nothing is defaulted: a missing label is `label_missing`, an unreadable number
`number_parse_error` with the text that was printed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from daemon.errors import RejectedInput
from handlers.domain.ksei.numbers import parse_percent, parse_shares
from handlers.domain.ksei.records import TransactionRow
from handlers.domain.ksei.table import parse_table

T = TypeVar("T")

HOLDER = "Nama (sesuai SID)"
COMPANY = "Nama Perusahaan Tbk"
BEFORE, AFTER = "Jumlah Saham Sebelum Transaksi", "Jumlah Saham Setelah Transaksi"
PCT_BEFORE, PCT_AFTER = "Hak Suara Sebelum Transaksi", "Hak Suara Setelah Transaksi"
LABELS = (HOLDER, COMPANY, BEFORE, AFTER, PCT_BEFORE, PCT_AFTER)
# The table header's first cell: a name never runs into it.
TABLE_START = re.compile(r"^jenis(\s+transaksi)?$", re.IGNORECASE)
TICKER = re.compile(r"^(?P<ticker>[A-Z0-9]{2,6})\s*-\s*(?P<name>.+)$")
MAX_VALUE_LINES = 4
UPPER_WORDS = frozenset({"PT", "CV", "UD", "LLC", "LP", "LLP", "PLC", "NV", "BV", "II", "III",
                         "IV"})


@dataclass(frozen=True)
class FormFields:
    ticker: str | None  # "SRTG", None when the company line prints no code
    company_name: str  # as printed: "Saratoga Investama Sedaya Tbk"
    holder_name: str  # title-cased: "Unitras Pertama"
    holding_before: int
    holding_after: int
    percentage_before: Decimal
    percentage_after: Decimal
    rows: tuple[TransactionRow, ...]
    correction: bool


def parse_form(lines: Sequence[str]) -> FormFields:
    """Read every field of the form from its text lines (all pages, in order)."""
    lines = [" ".join(line.split()) for line in lines]
    ticker, company = split_company(_name_value(lines, COMPANY, _company_line))
    rows, correction = parse_table(lines)
    return FormFields(
        ticker=ticker, company_name=company,
        holder_name=title_case(_name_value(lines, HOLDER, _holder_line)),
        holding_before=_number(lines, BEFORE, parse_shares),
        holding_after=_number(lines, AFTER, parse_shares),
        percentage_before=_number(lines, PCT_BEFORE, parse_percent),
        percentage_after=_number(lines, PCT_AFTER, parse_percent),
        rows=rows, correction=correction,
    )


def split_company(text: str) -> tuple[str | None, str]:
    """`"SRTG - Saratoga Investama Sedaya Tbk"` -> `("SRTG", "Saratoga Investama Sedaya Tbk")`."""
    match = TICKER.match(text)
    if match is None:
        return None, text.rstrip(",")
    return match["ticker"], match["name"].strip().rstrip(",")


def title_case(name: str) -> str:
    """SID names are printed in capitals: `"PT UNITRAS PERTAMA"` -> `"PT Unitras Pertama"`."""
    words = (word.upper() if word.upper() in UPPER_WORDS else word.title()
             for word in name.split())
    return " ".join(words)


def _number(lines: list[str], label: str, parse: Callable[[str], T]) -> T:
    _, first = _find_value(lines, label)
    try:
        return parse(first)
    except ValueError as error:
        raise RejectedInput("number_parse_error", f"{label}: cannot read {first!r} ({error})",
                            {"field": label, "text": first}) from None


def _name_value(lines: list[str], label: str, continues: Callable[[str, str], bool]) -> str:
    """The value of `label` plus the wrapped lines that `continues` accepts."""
    start, value = _find_value(lines, label)
    for index in range(start + 1, min(start + MAX_VALUE_LINES, len(lines))):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _is_structural(lines[index], following) or not continues(value, lines[index]):
            break
        value = f"{value} {lines[index]}"
    return value


def _holder_line(value: str, line: str) -> bool:
    # SID names are in capitals; a line in mixed case is the next part of the form.
    return line == line.upper() and any(char.isalpha() for char in line)


def _company_line(value: str, line: str) -> bool:
    return not value.endswith(" Tbk") and value != "Tbk"


def _is_structural(line: str, following: str) -> bool:
    """A label (its own colon, or a colon on the next line), a known label, or the table."""
    return (":" in line or following.startswith(":") or TABLE_START.match(line) is not None
            or any(_starts_with_label(line, label) for label in LABELS))


def _find_value(lines: list[str], label: str) -> tuple[int, str]:
    """(index of the value's first line, that line) for `label`; `label_missing` if absent."""
    for index, line in enumerate(lines):
        if _starts_with_label(line, label):
            rest = line[len(label):]
            return _value_from(lines, index, rest, label)
        joined = _join_split_label(lines, index, label)
        if joined is not None:
            return _value_from(lines, joined[0], joined[1], label)
    raise RejectedInput("label_missing", f"the form has no {label!r} field", {"label": label})


def _value_from(lines: list[str], index: int, rest: str, label: str) -> tuple[int, str]:
    """Skip the colon (same line, own line, or leading the value) to the value itself."""
    rest = rest.strip().removeprefix(":").strip()
    while not rest:
        index += 1
        if index >= len(lines) or _starts_with_any_label(lines[index]):
            raise RejectedInput("label_missing", f"the form's {label!r} field has no value",
                                {"label": label})
        rest = lines[index].removeprefix(":").strip()
    return index, rest


def _join_split_label(lines: list[str], index: int, label: str) -> tuple[int, str] | None:
    """A label wrapped over two or three lines: ("Jumlah Saham Sebelum", "Transaksi : 5")."""
    text = lines[index]
    if len(text) < 5 or not label.lower().startswith(text.lower()):
        return None
    for end in range(index + 1, min(index + 3, len(lines))):
        text = f"{text} {lines[end]}"
        if _starts_with_label(text, label):
            return end, text[len(label):]
        if not label.lower().startswith(text.lower()):
            return None
    return None


def _starts_with_label(line: str, label: str) -> bool:
    if not line.lower().startswith(label.lower()):
        return False
    rest = line[len(label):]
    return not rest or not rest[0].isalnum()


def _starts_with_any_label(line: str) -> bool:
    return any(_starts_with_label(line, label) for label in LABELS)
