"""Synthetic forms for the parse tests, and the comparison a round trip must pass."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from handlers.domain.ksei.records import BUY, EXERCISE, OTHERS, SELL, ParsedForm, TransactionRow


def row(type_: str = SELL, raw_type: str = "Penjualan", *, amount: int = 1_000,
        price: Decimal | None = Decimal("1770.00"), day: str = "2026-04-24",
        purpose: str = "Divestasi", share_class: str = "Saham Biasa",
        ownership: str = "Langsung") -> TransactionRow:
    return TransactionRow(type=type_, raw_type=raw_type, share_class=share_class, amount=amount,
                          price=price, date=day, purpose=purpose, ownership=ownership)


def form(rows: tuple[TransactionRow, ...], *, symbol: str = "TOWR.JK",
         company_name: str = "Sarana Menara Nusantara Tbk", holder: str = "PT Dwimuria Investama",
         before: int = 1_000_000, after: int | None = None, pct_before: str = "12,50",
         pct_after: str = "12,345", correction: bool = False) -> ParsedForm:
    net = sum(r.amount if r.type == BUY else -r.amount if r.type == SELL else 0 for r in rows)
    return ParsedForm(
        document={}, announcement=None, symbol=symbol, company_name=company_name,
        holder_name=holder, holding_before=before,
        holding_after=before + net if after is None else after,
        percentage_before=Decimal(pct_before.replace(",", ".")),
        percentage_after=Decimal(pct_after.replace(",", ".")), rows=rows, correction=correction)


MIXED_ROWS = (
    row(BUY, "Pembelian", amount=250_000, price=Decimal("505.50"), day="2025-05-02",
        purpose="Investasi jangka panjang"),
    row(SELL, "Penjualan", amount=1_250_000, price=Decimal("512"), day="2025-08-17",
        purpose="Divestasi untuk memperluas basis kepemilikan saham publik sesuai ketentuan "
                "Penjualan saham"),
    row(EXERCISE, "Pelaksanaan (exercise)", amount=30_000, price=Decimal("100.00"),
        day="2025-10-01", purpose="Pelaksanaan MESOP tahap II",
        share_class="Waran Seri I"),
    row(BUY, "Lainnya", amount=5_000, price=None, day="2025-12-31", purpose="Program mesop",
        ownership="Tidak Langsung"),
    row(OTHERS, "Lainnya", amount=7_000, price=Decimal("0.50"), day="2026-01-05",
        purpose="Hibah kepada keluarga"),
    row(SELL, "Lainnya", amount=10, price=Decimal("12344.50"), day="2026-02-28",
        purpose="divestasi", share_class="Saham Preferen"),
)


def same_form(parsed: ParsedForm, expected: ParsedForm) -> None:
    """Every field the form prints comes back exactly (Decimals compared by their digits)."""
    fields = ("symbol", "company_name", "holder_name", "holding_before", "holding_after",
              "rows", "correction")
    for name in fields:
        assert getattr(parsed, name) == getattr(expected, name), name
    for name in ("percentage_before", "percentage_after"):
        assert str(getattr(parsed, name)) == str(getattr(expected, name)), name
    for got, want in zip(parsed.rows, expected.rows, strict=True):
        assert str(got.price) == str(want.price)
    assert dataclasses.replace(parsed, document={}, flags=(), provenance={}).to_json() == \
        dataclasses.replace(expected, document={}, flags=(), provenance={}).to_json()
