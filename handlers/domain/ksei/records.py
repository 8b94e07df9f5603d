"""The parsed-form record: what the parse stage writes to `data/parsed/<name>.json` and the
generate stage reads. It is the contract between the two stages.

Numbers stay exact: share counts are integers; prices and percentages are `Decimal` and travel
as strings in JSON (`"1770"`, `"12344.50"`, `"31,62"` becomes `"31.62"`), keeping the digits the
form printed. Aggregates (net shares, value, weighted price, tags) are not here: they are the
generate stage's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

SCHEMA = "idxd.parsed/1"

# Row types after mapping the form's vocabulary.
BUY, SELL, OTHERS, EXERCISE = "buy", "sell", "others", "exercise"
ROW_TYPES = (BUY, SELL, OTHERS, EXERCISE)


@dataclass(frozen=True)
class TransactionRow:
    type: str  # one of ROW_TYPES
    raw_type: str  # as printed: "Penjualan", "Lainnya", "Pelaksanaan (exercise)", …
    share_class: str  # "Saham Biasa" for common shares
    amount: int
    price: Decimal | None  # None when the form prints no price
    date: str  # YYYY-MM-DD
    purpose: str
    ownership: str = ""  # "Langsung" (direct) or "Tidak Langsung" (indirect)

    def to_json(self) -> dict[str, Any]:
        # Spelled out: `dataclasses.asdict` deep-copies every field, 25 times the cost.
        return {"type": self.type, "raw_type": self.raw_type, "share_class": self.share_class,
                "amount": self.amount, "price": None if self.price is None else str(self.price),
                "date": self.date, "purpose": self.purpose, "ownership": self.ownership}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TransactionRow:
        price = data.get("price")
        return cls(
            type=data["type"], raw_type=data.get("raw_type", ""),
            share_class=data.get("share_class", ""), amount=int(data["amount"]),
            price=None if price in (None, "") else Decimal(str(price)),
            date=data["date"], purpose=data.get("purpose", ""),
            ownership=data.get("ownership", ""),
        )


@dataclass(frozen=True)
class ParsedForm:
    document: dict[str, Any]  # filename, sha256, pages
    announcement: dict[str, Any] | None  # the PDF's .meta.json sidecar, None when dropped by hand
    symbol: str  # "SRTG.JK"
    company_name: str
    holder_name: str  # as in SID, title-cased
    holding_before: int
    holding_after: int
    percentage_before: Decimal  # voting rights, as printed
    percentage_after: Decimal
    rows: tuple[TransactionRow, ...]
    correction: bool = False  # "Koreksi atas laporan": this form corrects an earlier one
    flags: tuple[str, ...] = field(default=())  # e.g. "holdings_unchanged"
    # Printed only on some forms; None when the form does not say.
    position: str | None = None  # "Jabatan": "Direktur Utama", "Dewan Komisaris", …
    board_member: str | None = None  # "Anggota Direksi/Dewan Komisaris", as printed
    controlling_shareholder: bool | None = None  # "Pengendali": Ya / Tidak
    holder_category: str | None = None  # the holder's category as printed ("Perorangan", …)
    # Where each value was read: {"holder_name": {"page": 1, "method": "text", "text": …},
    # "rows[0].amount": {"page": 2, "method": "ocr", "confidence": 91.5, "text": …}}.
    provenance: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "document": self.document,
            "announcement": self.announcement,
            "symbol": self.symbol,
            "company_name": self.company_name,
            "holder_name": self.holder_name,
            "holding_before": self.holding_before,
            "holding_after": self.holding_after,
            "percentage_before": str(self.percentage_before),
            "percentage_after": str(self.percentage_after),
            "rows": [row.to_json() for row in self.rows],
            "correction": self.correction,
            "flags": list(self.flags),
            "position": self.position,
            "board_member": self.board_member,
            "controlling_shareholder": self.controlling_shareholder,
            "holder_category": self.holder_category,
            "provenance": self.provenance,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ParsedForm:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a parsed form (schema {data.get('schema')!r}, "
                             f"expected {SCHEMA!r})")
        return cls(
            document=dict(data["document"]), announcement=data.get("announcement"),
            symbol=data["symbol"], company_name=data["company_name"],
            holder_name=data["holder_name"], holding_before=int(data["holding_before"]),
            holding_after=int(data["holding_after"]),
            percentage_before=Decimal(str(data["percentage_before"])),
            percentage_after=Decimal(str(data["percentage_after"])),
            rows=tuple(TransactionRow.from_json(row) for row in data["rows"]),
            correction=bool(data.get("correction", False)),
            flags=tuple(data.get("flags", ())),
            position=data.get("position"), board_member=data.get("board_member"),
            controlling_shareholder=data.get("controlling_shareholder"),
            holder_category=data.get("holder_category"),
            provenance=dict(data.get("provenance") or {}),
        )
