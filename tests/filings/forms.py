"""Parsed forms for the filings tests: the real examples converted to the parse stage's
contract, and a small builder for crafted forms."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from handlers.domain.ksei.records import SCHEMA
from tests.conftest import FIXTURES

RAW_TYPES = {"buy": "Pembelian", "sell": "Penjualan", "others": "Lainnya"}
TITLE = "REPORT OF OWNERSHIP OR ANY CHANGES IN SHARE OWNERSHIP OF PUBLIC COMPANIES"


def examples() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "parsed_examples.json").read_text())


def expected_filings() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "filings_examples.json").read_text())


def from_example(example: dict[str, Any]) -> dict[str, Any]:
    """The original parser's record as our parse stage would have written it."""
    name = example["source"].rsplit("/", 1)[-1]
    rows = [row(r["type"], r["amount_transacted"], str(r["price"]), r["date"],
                example["purpose"]) for r in example["price_transaction"]]
    return {
        "schema": SCHEMA,
        "document": {"filename": name, "sha256": "0" * 64, "pages": 2},
        "announcement": {"id": name, "title": TITLE, "ticker": example["symbol"][:4],
                         "published_at": example["timestamp"].replace(" ", "T") + "+07:00",
                         "url": example["source"]},
        "symbol": example["symbol"], "company_name": example["company_name"],
        "holder_name": example["holder_name"],
        "holding_before": example["holding_before"], "holding_after": example["holding_after"],
        "percentage_before": str(Decimal(str(example["share_percentage_before"]))),
        "percentage_after": str(Decimal(str(example["share_percentage_after"]))),
        "rows": rows, "correction": False, "flags": [],
    }


def row(kind: str, amount: int, price: str | None, date: str = "2026-04-24",
        purpose: str = "Divestasi", share_class: str = "Saham Biasa") -> dict[str, Any]:
    return {"type": kind, "raw_type": RAW_TYPES.get(kind, kind), "share_class": share_class,
            "amount": amount, "price": price, "date": date, "purpose": purpose,
            "ownership": "Langsung"}


def form(rows: list[dict[str, Any]], before: int, after: int, pct_before: str = "10",
         pct_after: str | None = None, symbol: str = "SRTG.JK", holder: str = "Unitras Pertama",
         published: str | None = "2026-04-24T17:03:00+07:00",
         company: str = "Saratoga Investama Sedaya Tbk", **extra: Any) -> dict[str, Any]:
    """A crafted form; percentages follow the holdings unless given."""
    if pct_after is None:
        pct_after = str((Decimal(pct_before) * after / before).quantize(Decimal("0.001")))
    announcement = None if published is None else {
        "id": "crafted", "title": TITLE, "published_at": published,
        "url": "https://www.idx.co.id/x/LK-24042026-0001-00.pdf"}
    return {"schema": SCHEMA, "document": {"filename": "lk-crafted.pdf", "sha256": "1" * 64,
                                           "pages": 1},
            "announcement": announcement, "symbol": symbol, "company_name": company,
            "holder_name": holder, "holding_before": before, "holding_after": after,
            "percentage_before": pct_before, "percentage_after": pct_after, "rows": rows,
            "correction": False, "flags": [], **extra}


def drop(root: Path, name: str, record: dict[str, Any]) -> Path:
    path = root / "data" / "parsed" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    return path
