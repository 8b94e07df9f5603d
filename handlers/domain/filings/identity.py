"""What makes two filings the same filing, and two files the same document.

A filing's key (`dedup_key`) is built from what the form says: the issuer, the holder (name
normalized), the transaction type, the dates of its rows, the holdings before and after and the
amount. Nothing about how or when the file arrived is in it, so a form dropped by hand and the
same form arriving later with its announcement are one filing. The arrival adds context only:
`CONTEXT_COLUMNS` (the source URL and the publish time), which a stored row without an
announcement takes from the first arrival that has one.

A document is identified by its exchange identity: the KSEI number in its name
(`LK-24042026-7431-00`) when there is one, else the attachment's identity (announcement and
URL), else its content (sha256). New figures under a known document are a new version of that
document's filing. `FORM_FIELDS` are the figures a version is compared on; the rest of a row is
enrichment (company map, templates) that does not make a new version.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

KEY_VERSION = "idxd.filing/2"
LK_NUMBER = re.compile(r"LK-\d{8}-\d+-\d+", re.IGNORECASE)
# Words of a holder's name that say nothing about who it is: "PT Unitras Pertama" and
# "UNITRAS PERTAMA" are one holder.
HOLDER_NOISE = frozenset({"pt", "tbk", "persero", "the"})
CORRECTION_MARKS = re.compile(r"\(\s*correction\s*\)|\bkoreksi\b|\bcorrection\b", re.IGNORECASE)
CONTEXT_COLUMNS = ("source", "timestamp")
INTEGERS = ("holding_before", "holding_after", "amount_transaction")
DECIMALS = ("share_percentage_before", "share_percentage_after",
            "share_percentage_transaction", "price", "transaction_value")
FORM_FIELDS = ("symbol", "holder_name", "transaction_type", *INTEGERS, *DECIMALS,
               "price_transaction")
Row = Mapping[str, Any]


def normalize_holder(name: str) -> str:
    """`"PT. UNITRAS  Pertama"` -> `"unitras pertama"`: case, punctuation and legal-form
    noise removed, spaces collapsed."""
    words = re.sub(r"[^\w\s]", " ", (name or "").lower()).split()
    return " ".join(word for word in words if word not in HOLDER_NOISE)


def row_dates(row: Row) -> list[str]:
    """The distinct transaction dates of a row's price_transaction, sorted."""
    return sorted({str(entry.get("date") or "") for entry in row.get("price_transaction") or []}
                  - {""})


def filing_key(row: Row) -> str:
    """sha256 of issuer|holder|type|row dates|before|after|amount (never the arrival)."""
    parts = (KEY_VERSION, row["symbol"], normalize_holder(str(row["holder_name"])),
             row["transaction_type"], ",".join(row_dates(row)), int(row["holding_before"]),
             int(row["holding_after"]), int(row["amount_transaction"]))
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def document_key(document: Mapping[str, Any], announcement: Mapping[str, Any] | None) -> str:
    """`LK-24042026-7431-00` from the attachment's name or URL, else the file's name, else
    the attachment's identity, else the content's sha256."""
    meta = announcement or {}
    names = (meta.get("original_name"), meta.get("url"), meta.get("pdf_url"),
             meta.get("local_name"), document.get("filename"))
    for name in names:
        found = LK_NUMBER.search(str(name or ""))
        if found:
            return found.group(0).upper()
    if meta.get("announcement_id") and meta.get("url"):
        identity = f"{meta['announcement_id']}\n{meta['url']}"
        return "attachment:" + hashlib.sha256(identity.encode()).hexdigest()[:32]
    return f"sha256:{document.get('sha256') or ''}"


def is_correction(flagged: bool, announcement: Mapping[str, Any] | None) -> bool:
    """A correction form: the parser saw "Koreksi atas laporan", or the announcement says so
    ("(CORRECTION)" in its title, the exchange's correction type)."""
    meta = announcement or {}
    texts = (meta.get("title"), meta.get("announcement_type"), meta.get("perihal"))
    return flagged or bool(meta.get("is_correction")) or any(
        CORRECTION_MARKS.search(str(text or "")) for text in texts)


def named_documents(announcement: Mapping[str, Any] | None, own: str) -> set[str]:
    """KSEI numbers a correction's announcement names, other than its own document's."""
    meta = announcement or {}
    texts = " ".join(str(meta.get(key) or "") for key in ("title", "perihal", "description"))
    return {number.upper() for number in LK_NUMBER.findall(texts)} - {own}


def has_context(row: Row) -> bool:
    """Whether a row was stored with its announcement: its source is a URL, not a file name
    (a form dropped by hand has only its name)."""
    return "://" in str(row.get("source") or "")


def canonical(column: str, value: Any) -> Any:
    """A stored value as one comparable, JSON-ready shape whichever database returned it
    (SQLite text, PostgreSQL numeric and timestamp, PostgREST JSON numbers)."""
    if value is None:
        return None
    if column in INTEGERS:
        return int(value)
    if column in DECIMALS:
        return _decimal_text(value)
    if column == "timestamp":
        text = value.isoformat(timespec="seconds") if isinstance(value, datetime) else str(value)
        return text.replace(" ", "T")[:19]
    if column == "price_transaction":
        entries = json.loads(value) if isinstance(value, str) else value
        return [{"date": e.get("date"), "type": e.get("type"),
                 "price": _decimal_text(e.get("price")),
                 "amount_transacted": int(e.get("amount_transacted") or 0)} for e in entries]
    if column == "tags" and isinstance(value, str):
        return json.loads(value)
    return value


def _decimal_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    # One spelling per number: 1770, 1770.0 and 1770.000 compare (and show) alike.
    text = format(number.normalize(), "f")
    return text


def changes(old: Row, new: Row, columns: Iterable[str] = FORM_FIELDS) -> dict[str, list[Any]]:
    """`{column: [old, new]}` for every column whose value differs."""
    found: dict[str, list[Any]] = {}
    for column in columns:
        before, after = canonical(column, old.get(column)), canonical(column, new.get(column))
        if before != after:
            found[column] = [before, after]
    return found


def snapshot(row: Row) -> dict[str, Any]:
    """A stored row as JSON-ready data, for the history table."""
    return {column: _json_ready(canonical(column, value)) for column, value in row.items()}


def _json_ready(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def history_key(previous: Row, replacement_key: str, reason: str) -> str:
    """The identity of one transition (this stored version -> that key): written twice, it is
    one history row."""
    body = json.dumps(snapshot({c: previous.get(c) for c in (*FORM_FIELDS, *CONTEXT_COLUMNS,
                                                             "dedup_key", "document_key")}),
                      sort_keys=True, default=str)
    return hashlib.sha256(f"{body}|{replacement_key}|{reason}".encode()).hexdigest()
