"""The KSEI ownership form read from its pages: the labelled fields, the table, and where each
value was read.

Pure: pages of runs in (from a text layer or OCR alike), `FormFields` out, or `RejectedInput`
naming what is missing or unreadable. Runs become words and visual lines (`words`), labels are
found in either language (`labels`), the table is read as a grid (`table`). Nothing is
defaulted: a missing label is `label_missing`, an unreadable number `number_parse_error` with
the field, the page and the text printed; fields only some forms print (position, board
membership, controlling shareholder, holder category) are None when absent or not shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from daemon.errors import RejectedInput
from handlers.domain.ksei import labels
from handlers.domain.ksei.layout import Method, Page
from handlers.domain.ksei.numbers import compact_number, parse_percent, parse_shares
from handlers.domain.ksei.provenance import seen, unreadable
from handlers.domain.ksei.records import TransactionRow
from handlers.domain.ksei.table import is_correction, parse_table
from handlers.domain.ksei.words import Line, page_lines

T = TypeVar("T")
TICKER = re.compile(r"^(?P<ticker>[A-Z0-9]{2,6})\s*-\s*(?P<name>.+)$")
# Tesseract's usual readings of a small "%" after a number.
OCR_PERCENT = re.compile(r"(?<=\d)\s*(Yo|yo|%o|°/o|0/0)$")
NOT_SHOWN = re.compile(r"^(tidak ditampilkan|not (shown|displayed))$", re.IGNORECASE)
YES, NO = frozenset({"ya", "yes"}), frozenset({"tidak", "no", "bukan"})
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
    position: str | None = None
    board_member: str | None = None
    controlling_shareholder: bool | None = None
    holder_category: str | None = None  # "Perorangan", "Korporasi", … as printed
    provenance: dict[str, dict[str, Any]] = field(default_factory=dict)
    pages: int = 0

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["percentage_before"] = str(self.percentage_before)
        data["percentage_after"] = str(self.percentage_after)
        data["rows"] = [row.to_json() for row in self.rows]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FormFields:
        return cls(**{**data, "percentage_before": Decimal(data["percentage_before"]),
                      "percentage_after": Decimal(data["percentage_after"]),
                      "rows": tuple(TransactionRow.from_json(row) for row in data["rows"])})


def read_form(pages: Iterable[Page]) -> FormFields:
    """Every field of the form from its pages (all of them, in order)."""
    pages = list(pages)
    lines = page_lines(pages)
    provenance: dict[str, dict[str, Any]] = {}
    reader = _Reader(lines, provenance)
    ticker, company = split_company(reader.required(labels.COMPANY, str))
    holder = title_case(reader.required(labels.HOLDER, str))
    rows, row_provenance = _table(lines)
    provenance.update(row_provenance)
    return FormFields(
        ticker=ticker, company_name=company, holder_name=holder,
        holding_before=reader.required(labels.BEFORE, _shares),
        holding_after=reader.required(labels.AFTER, _shares),
        percentage_before=reader.required(labels.PCT_BEFORE, _percent),
        percentage_after=reader.required(labels.PCT_AFTER, _percent),
        rows=rows, correction=is_correction(rows),
        position=reader.optional(labels.POSITION, str),
        board_member=reader.optional(labels.BOARD, str),
        controlling_shareholder=reader.optional(labels.CONTROLLING, yes_or_no),
        holder_category=reader.optional(labels.CATEGORY, str),
        provenance=provenance, pages=len(pages))


def _table(lines: list[Line]) -> tuple[tuple[TransactionRow, ...], dict[str, dict[str, Any]]]:
    """The table's rows; none when it has a header but no row, which only a correction restating
    the holdings may do (the parse stage decides, knowing the announcement)."""
    try:
        return parse_table(lines)
    except RejectedInput as refused:
        if refused.code != "table_empty":
            raise
        return (), {"table": dict(refused.details)}


class _Reader:
    """Labelled values read and parsed, each leaving its provenance behind."""

    def __init__(self, lines: Sequence[Line], provenance: dict[str, dict[str, Any]]):
        self.labelled, self.provenance = labels.Labelled(lines), provenance

    def required(self, name: str, parse: Callable[[str], T]) -> T:
        value = self._read(name, parse)
        if value is None:
            label = labels.LABELS[name][0]
            raise RejectedInput("label_missing", f"the form has no {label!r} field (or it "
                                "has no value)", {"label": label})
        return value

    def optional(self, name: str, parse: Callable[[str], T]) -> T | None:
        return self._read(name, parse)

    def _read(self, name: str, parse: Callable[[str], T]) -> T | None:
        found = self.labelled.find(name)
        if found is None:
            return None
        text = found.text if name in labels.TEXT_FIELDS else compact_number(found.text)
        if found.words[0].method == Method.OCR and name in (labels.PCT_BEFORE, labels.PCT_AFTER):
            text = OCR_PERCENT.sub("%", text)
        where = seen(found.words, text)
        if NOT_SHOWN.match(text):
            return None
        self.provenance[name] = where
        try:
            return parse(text)
        except ValueError as error:
            code = "value_parse_error" if name == labels.CONTROLLING else "number_parse_error"
            raise unreadable(code, name, where, str(error)) from None


def _shares(text: str) -> int:
    return parse_shares(text)


def _percent(text: str) -> Decimal:
    return parse_percent(text)


def yes_or_no(text: str) -> bool:
    word = text.strip().lower()
    if word in YES or word in NO:
        return word in YES
    raise ValueError("neither Ya nor Tidak")


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
