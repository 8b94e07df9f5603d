"""Building the database row of each filing from a parsed form: figures, enrichment, text.

A row carries exactly the `idx_filings` columns plus `dedup_key` (the filing's identity,
`identity.filing_key`) and `document_key`, with exact types (`int`, `Decimal`, lists); each sink
turns them into what its database takes. What the form says about the holder (position, board
membership, controlling shareholder) and about each row (direct or indirect ownership, share
class) is None where the form does not say. The company map supplies
the company name and the sector and sub-sector slugs; the announcement supplies the publish
time (naive WIB, like the original's `timestamp` column) and the document's URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from handlers.domain.filings import compose, tags
from handlers.domain.filings.aggregate import PERCENT_QUANTUM, Leg, Totals, aggregate
from handlers.domain.filings.holder_type import HolderType, classify
from handlers.domain.filings.identity import filing_key
from handlers.domain.ksei.records import ParsedForm, TransactionRow
from handlers.domain.windows import to_wib

# Keys under which an announcement record may carry its publish time, most specific first.
PUBLISH_KEYS = ("published_at", "publish_time", "publish_date", "PublishDate", "timestamp")
URL_KEYS = ("pdf_url", "attachment_url", "url")
UNKNOWN = "unknown"
MIXED = "mixed"
OWNERSHIP = {"langsung": "direct", "direct": "direct", "tidak langsung": "indirect",
             "indirect": "indirect"}


@dataclass(frozen=True)
class Filing:
    """One row to store, with what validation needs to judge it."""

    row: dict[str, Any]
    leg: Leg
    totals: Totals
    company: Mapping[str, Any] | None  # the company map's entry, None when unknown
    published: datetime | None  # the announcement's publish time (WIB), None when unknown
    holder: HolderType | None = None  # the holder type and the rule that decided it


def publish_time(announcement: Mapping[str, Any] | None) -> datetime | None:
    """The announcement's publish time in WIB (a naive value is WIB already)."""
    for key in PUBLISH_KEYS:
        value = (announcement or {}).get(key)
        if value:
            try:
                return to_wib(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
            except ValueError:
                continue
    return None


def build_filing(form: ParsedForm, leg: Leg, company: Mapping[str, Any] | None,
                 document_key: str = "", companies: frozenset[str] = frozenset()) -> Filing:
    """The row of one leg; `document_key` names the document (`identity.document_key`) and
    `companies` are the company map's normalized names (a holder among them is a company)."""
    totals = aggregate(leg.rows)
    published = publish_time(form.announcement)
    company_name = (company or {}).get("company_name") or form.company_name
    purpose = compose.combined_purpose(r.purpose for r in leg.rows)
    purpose_en = compose.translate_purpose(purpose)
    kind = totals.type if leg.type != "others" else "others"
    amount = totals.amount if kind != "others" else (abs(leg.delta) or totals.amount)
    row: dict[str, Any] = {
        "symbol": normalize_symbol(form.symbol),
        "timestamp": _timestamp(published, leg.rows),
        "transaction_type": kind,
        "holder_name": form.holder_name,
        "holding_before": leg.holding_before,
        "holding_after": leg.holding_after,
        "amount_transaction": amount,
        "share_percentage_before": _pct(leg.percentage_before),
        "share_percentage_after": _pct(leg.percentage_after),
        "share_percentage_transaction": _pct(abs(leg.percentage_after - leg.percentage_before)),
        "price": totals.price,
        "transaction_value": totals.value,
        "price_transaction": [price_entry(r) for r in leg.rows],
        "title": compose.title(kind, form.holder_name, company_name),
        "body": compose.body(kind, form.holder_name, company_name, amount,
                             leg.holding_before, leg.holding_after, purpose_en),
        "source": document_url(form),
        "sector": slug((company or {}).get("sector")),
        "sub_sector": slug((company or {}).get("sub_sector")),
        "tags": tags.filing_tags(purpose, kind, leg.holding_before, leg.holding_after,
                                 leg.percentage_before, leg.percentage_after),
        "holder_type": "",
        "source_is_manual": False,
        **holder_fields(form),
        "ownership": common_value(ownership(r.ownership) for r in leg.rows),
        "share_class": common_value(r.share_class for r in leg.rows),
        "document_key": document_key,
    }
    holder = classify(form.holder_name, companies, form.holder_category)
    row["holder_type"] = holder.type
    row["dedup_key"] = filing_key(row)
    return Filing(row, leg, totals, company, published, holder)


def price_entry(row: TransactionRow) -> dict[str, Any]:
    return {"date": row.date, "type": row.type, "price": row.price,
            "amount_transacted": row.amount, "ownership": ownership(row.ownership),
            "share_class": row.share_class or None}


def holder_fields(form: ParsedForm) -> dict[str, Any]:
    """What the form says about the holder, None where it does not say."""
    return {"position": form.position or None, "board_member": form.board_member or None,
            "controlling_shareholder": form.controlling_shareholder}


def ownership(printed: str) -> str | None:
    """`direct` / `indirect` for the form's Langsung / Tidak Langsung; other text as printed."""
    words = " ".join(printed.lower().split())
    return OWNERSHIP.get(words, printed.strip() or None)


def common_value(values: Iterable[str | None]) -> str | None:
    """The one value all rows share; `mixed` when they differ (each row keeps its own)."""
    distinct = {v for v in values if v}
    if not distinct:
        return None
    return distinct.pop() if len(distinct) == 1 else MIXED


def normalize_symbol(symbol: str) -> str:
    text = (symbol or "").strip().upper()
    return text if not text or text.endswith(".JK") else f"{text}.JK"


def slug(text: Any) -> str:
    """`Holding & Investment Companies` -> `holding-investment-companies`."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", str(text or "").lower()).strip("-")
    return cleaned or UNKNOWN


def document_url(form: ParsedForm) -> str:
    for key in URL_KEYS:
        value = (form.announcement or {}).get(key)
        if value:
            return str(value)
    return str(form.document.get("url") or form.document.get("filename") or "")


def _timestamp(published: datetime | None, rows: tuple[TransactionRow, ...]) -> str:
    """Naive WIB `YYYY-MM-DDTHH:MM:SS`; without an announcement, the last transaction's day."""
    if published is not None:
        return published.replace(tzinfo=None).isoformat(timespec="seconds")
    last_day = max((r.date for r in rows if r.date), default="")
    return f"{last_day}T00:00:00" if last_day else ""


def _pct(value: Decimal) -> Decimal:
    return value.quantize(PERCENT_QUANTUM, rounding=ROUND_HALF_UP)
