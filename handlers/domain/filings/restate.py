"""A correction that restates only some fields keeps the rest of the filing it corrects.

A correction form printed with its holdings but no transaction rows restates the holdings only:
the transactions are the corrected filing's, read back from its stored row (type, amount, price,
date; the purpose from its body), so the new version keeps them instead of losing them (an
amendment that wipes the original's transactions is the failure this prevents).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from handlers.domain.filings.identity import canonical
from handlers.domain.ksei.records import ParsedForm, TransactionRow

RAW_TYPES = {"buy": "Pembelian", "sell": "Penjualan", "others": "Lainnya",
             "exercise": "Pelaksanaan (exercise)"}
COMMON_SHARES = "Saham Biasa"  # the stored filing passed validation: its shares were common
PURPOSE = re.compile(r"The stated purpose of the transaction was (?P<purpose>.+)\.$")


def restates_holdings_only(form: ParsedForm, correction: bool) -> bool:
    return correction and not form.rows


def with_transactions_of(form: ParsedForm, corrected: Mapping[str, Any]) -> ParsedForm:
    """`form` with the transaction rows of the stored filing it corrects."""
    purpose = _purpose(str(corrected.get("body") or ""))
    entries = canonical("price_transaction", corrected.get("price_transaction") or [])
    rows = tuple(
        TransactionRow(type=str(e["type"]), raw_type=RAW_TYPES.get(str(e["type"]), "Lainnya"),
                       share_class=COMMON_SHARES, amount=int(e["amount_transacted"]),
                       price=None if e["price"] is None else Decimal(str(e["price"])),
                       date=str(e["date"]), purpose=purpose)
        for e in entries)
    return dataclasses.replace(form, rows=rows)


def _purpose(body: str) -> str:
    found = PURPOSE.search(body.strip())
    return found.group("purpose") if found else ""
