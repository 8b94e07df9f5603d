"""Validation of a filing before it is stored: each problem is a reason with a stable code.

The checks are the original's (v1 processing and the v2 gate) with Part 1's changes: missing
fields, a type contradicting the holdings, non-common shares, a share transfer that a human must
pair, prices outside the band around the last close (or each other), and a stale or missing
market price. Whether the form's holdings and percentages add up, and its issuer and values are
what they claim, is asked once per form in `checks.py`.
Whether a code keeps the filing out of the database is a setting (`reject_codes`); the others
are warnings: the filing is inserted and the reason reported.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from handlers.domain.alerts import kind_of as alert_kind
from handlers.domain.filings.aggregate import OTHERS, kind_of
from handlers.domain.filings.rows import Filing
from handlers.domain.filings.tags import SHARE_TRANSFER
from handlers.domain.ksei.records import BUY, SELL, ParsedForm, TransactionRow
from handlers.settings import FilingsSettings

COMMON_SHARES = "saham biasa"
Reason = dict[str, Any]


def reason(code: str, details: dict[str, Any] | None = None, scope: str = "tx") -> Reason:
    return {"scope": scope, "code": code, "message": alert_kind(code).message,
            "details": details or {}}


def validate(form: ParsedForm, filing: Filing, settings: FilingsSettings) -> list[Reason]:
    """Every reason this filing raises, in a stable order."""
    return [*_document(form, filing), *_required(filing), *_direction(filing),
            *_content(filing), *_prices(form, filing, settings)]


def rejecting(reasons: list[Reason], settings: FilingsSettings) -> list[Reason]:
    return [r for r in reasons if r["code"] in settings.reject_codes]


def _document(form: ParsedForm, filing: Filing) -> Iterator[Reason]:
    if "holdings_unchanged" in form.flags:
        yield reason("holdings_unchanged", {"holding": form.holding_before})
    if form.correction:
        yield reason("correction_filing")
    if filing.published is None:
        yield reason("publish_time_missing", {"timestamp": filing.row["timestamp"]})


def _required(filing: Filing) -> Iterator[Reason]:
    row = filing.row
    missing = [name for name in ("symbol", "holder_name", "timestamp") if not row.get(name)]
    missing += [f"price ({r.date})" for r in filing.leg.rows
                if r.type in (BUY, SELL) and r.price is None]
    if missing:
        yield reason("missing_required_field", {"fields": missing})
    invalid = [_row_json(r) for r in filing.leg.rows if r.amount <= 0 or not r.date]
    if invalid or not filing.leg.rows:
        yield reason("invalid_price_transaction", {"rows": invalid})


def _direction(filing: Filing) -> Iterator[Reason]:
    leg = filing.leg
    if (leg.type == BUY and leg.holding_after < leg.holding_before) or (
            leg.type == SELL and leg.holding_after > leg.holding_before):
        yield reason("mismatch_transaction_type", {"type": leg.type,
                                                   "holding_before": leg.holding_before,
                                                   "holding_after": leg.holding_after})


def _content(filing: Filing) -> Iterator[Reason]:
    odd_classes = sorted({r.share_class for r in filing.leg.rows
                          if " ".join(r.share_class.lower().split()) != COMMON_SHARES})
    if odd_classes:
        yield reason("non_common_shares", {"share_classes": odd_classes})
    if SHARE_TRANSFER in filing.row["tags"]:
        yield reason("transfer_uid_required", {"purpose": [r.purpose for r in filing.leg.rows]})


def _prices(form: ParsedForm, filing: Filing, settings: FilingsSettings) -> Iterator[Reason]:
    reference = market_reference(filing)
    if reference is None:
        yield reason("missing_price", {"symbol": filing.row["symbol"]})
    elif reference["freshness_days"] > settings.price_lookback_days:
        yield reason("stale_price", reference)
    priced = [r.price for r in form.rows if r.price and kind_of(r) != OTHERS]
    median = Decimal(statistics.median(priced)) if priced else None
    for row in filing.leg.rows:
        if row.price and kind_of(row) != OTHERS:
            yield from _row_price(row, f"rows[{form.rows.index(row)}].price", median,
                                  reference, settings)


def _row_price(row: TransactionRow, field: str, median: Decimal | None,
               reference: dict[str, Any] | None, settings: FilingsSettings) -> Iterator[Reason]:
    price = row.price or Decimal(0)
    details = {"field": field, "text": str(price), "row": _row_json(row),
               "document_median_price": median}
    if median and not (settings.within_doc_ratio_low <= price / median
                       <= settings.within_doc_ratio_high):
        yield reason("price_deviation_within_doc", details, scope="row")
    # Off by ten first (the likelier typo): against the market, else against the document.
    base = reference["ref_price"] if reference else median
    if base and _off_by_ten(price / base, settings):
        yield reason("possible_zero_missing", {**details, "ratio": price / base}, scope="row")
    if reference and not (settings.market_ratio_low <= price / reference["ref_price"]
                          <= settings.market_ratio_high):
        yield reason("price_deviation_vs_market", {**details, "market_reference": reference},
                     scope="row")


def _off_by_ten(ratio: Decimal, settings: FilingsSettings) -> bool:
    low10, high10 = settings.zero_missing_x10
    low100, high100 = settings.zero_missing_x100
    return low10 <= ratio <= high10 or low100 <= ratio <= high100


def market_reference(filing: Filing) -> dict[str, Any] | None:
    """The company map's last close, with its age in days at the filing's date."""
    company = filing.company or {}
    price, asof = company.get("last_close_price"), company.get("latest_close_date")
    if price in (None, "") or not asof or Decimal(str(price)) <= 0:
        return None
    filed = date.fromisoformat(str(filing.row["timestamp"])[:10] or str(asof)[:10])
    freshness = (filed - date.fromisoformat(str(asof)[:10])).days
    return {"ref_price": Decimal(str(price)), "ref_type": "close", "asof_date": str(asof)[:10],
            "freshness_days": freshness}


def _row_json(row: TransactionRow) -> dict[str, Any]:
    return {"type": row.type, "amount": row.amount, "price": row.price, "date": row.date}
