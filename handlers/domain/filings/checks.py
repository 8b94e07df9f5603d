"""Consistency checks of a parsed form before any of its filings is stored, and the OCR gate.

A form read wrong is worse than a form not read, so before a filing goes to the database the
form must agree with itself and with what else is known: its issuer (ticker and name) is the
announcement's and the company map's (`issuer_mismatch`), its holdings add up to the signed
rows (`holdings_mismatch`), its percentages fit the shares outstanding they imply
(`percent_discrepancy`), no value holds the form's own label or header words
(`label_in_value`), and no name is wholly another field's value (`value_misplaced`). Each
failure names the field, the page and the text seen (from the record's provenance when the
reader gave it). A form any of whose values was read by OCR is only stored when no check
questions a value; otherwise every such failure becomes an `ocr_unverified` reason naming the
field, its page, text and the OCR confidence. A form stored from OCR still raises `ocr_read`,
naming the values read by OCR that no check can confirm (the holder's name, the position, the
purposes): a person compares them with the PDF.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from handlers.domain.filings.aggregate import OTHERS, kind_of
from handlers.domain.filings.labels import label_found, other_field_of
from handlers.domain.filings.rows import normalize_symbol
from handlers.domain.filings.validate import Reason, reason
from handlers.domain.ksei.records import BUY, SELL, ParsedForm
from handlers.settings import FilingsSettings

OCR = "ocr"
# Codes that say a value the form printed is doubtful: a value read by OCR and questioned by
# one of them is not stored.
VALUE_CODES = frozenset({
    "issuer_mismatch", "issuer_unknown", "holdings_mismatch", "percent_discrepancy",
    "label_in_value", "value_misplaced", "mismatch_transaction_type", "possible_zero_missing",
    "price_deviation_within_doc", "price_deviation_vs_market", "invalid_price_transaction",
    "missing_required_field",
})
# The field an OCR failure is named after when the failed check names none.
DEFAULT_FIELDS = {"mismatch_transaction_type": "holding_after", "invalid_price_transaction": "rows"}
NAME_NOISE = frozenset({"pt", "tbk", "persero"})
# Values read by OCR that neither a sum nor the company map can confirm.
UNCONFIRMED_FIELDS = ("holder_name", "position", "board_member")
UNCONFIRMED_ROW_FIELDS = ("purpose",)
MAX_SIGNED_ROWS = 12  # beyond this many "others" rows, fall back to a bound (3^n sums)
Companies = Mapping[str, Mapping[str, Any]]


def check_form(form: ParsedForm, companies: Companies,
               settings: FilingsSettings) -> list[Reason]:
    """Every consistency failure of the form, in a stable order."""
    return [*_issuer(form, companies), *_holdings(form), *_percentages(form, settings),
            *_labels(form)]


def where(form: ParsedForm, field: str, seen: object, *fallbacks: str) -> dict[str, Any]:
    """`{field, page, text}` of a value, from its provenance (or a fallback key's) when known,
    with the method and, for OCR, the confidence."""
    found = next((form.provenance[key] for key in (field, *fallbacks)
                  if isinstance(form.provenance.get(key), dict)), {})
    located = {"field": field, "page": found.get("page"), "text": found.get("text", str(seen))}
    if found.get("method"):
        located["method"] = found["method"]
    if found.get("method") == OCR:
        located["confidence"] = found.get("confidence")
    return located


def _issuer(form: ParsedForm, companies: Companies) -> Iterator[Reason]:
    symbol = normalize_symbol(form.symbol)
    announced = normalize_symbol(str((form.announcement or {}).get("ticker") or ""))
    if announced and announced != symbol:
        yield reason("issuer_mismatch", {**where(form, "symbol", form.symbol, "company_name"),
                                         "expected": announced, "against": "announcement"})
    company = companies.get(symbol)
    if company is None:
        yield reason("issuer_unknown", where(form, "symbol", form.symbol, "company_name"))
        return
    expected = str(company.get("company_name") or "")
    if form.company_name and expected and not same_company(form.company_name, expected):
        yield reason("issuer_mismatch", {**where(form, "company_name", form.company_name),
                                         "expected": expected, "against": "company_map"})


def same_company(printed: str, listed: str) -> bool:
    """Equal names once case, punctuation and the `PT`/`Tbk`/`(Persero)` decorations are set
    aside. Spaces inside words count: "Sara toga" is a misread, not Saratoga."""
    return _name_words(printed) == _name_words(listed)


def _name_words(name: str) -> list[str]:
    return [w for w in re.split(r"[^0-9a-z]+", name.casefold()) if w and w not in NAME_NOISE]


def _holdings(form: ParsedForm) -> Iterator[Reason]:
    """holding_before + buys - sells + (each other row added, removed or neither) = after."""
    net = sum(r.amount if r.type == BUY else -r.amount if r.type == SELL else 0
              for r in form.rows if kind_of(r) != OTHERS)
    others = [r.amount for r in form.rows if kind_of(r) == OTHERS]
    residual = form.holding_after - form.holding_before - net
    if _explained(residual, others):
        return
    details = {**where(form, "holding_after", form.holding_after),
               "holding_before": form.holding_before, "net_shares": net,
               "holding_after": form.holding_after}
    if not others:
        details["expected_after"] = form.holding_before + net
    yield reason("holdings_mismatch", details)


def _explained(residual: int, amounts: list[int]) -> bool:
    """Whether some rows added, some removed and the rest left unchanged give `residual`."""
    if len(amounts) > MAX_SIGNED_ROWS:
        return abs(residual) <= sum(amounts)
    sums = {0}
    for amount in amounts:
        sums = {s + sign * amount for s in sums for sign in (-1, 0, 1)}
    return residual in sums


def _percentages(form: ParsedForm, settings: FilingsSettings) -> Iterator[Reason]:
    sides = (("percentage_before", form.holding_before, form.percentage_before),
             ("percentage_after", form.holding_after, form.percentage_after))
    for field, holding, pct in sides:
        if not Decimal(0) <= pct <= Decimal(100) or (holding == 0 and pct > 0):
            # Out of range, or voting rights without a share: no model can agree.
            yield reason("percent_discrepancy", {**where(form, field, pct), "reported_pp": pct,
                                                 "holding": holding, "range_pp": [0, 100]})
            return
    usable = [side for side in sides if side[1] > 0 and side[2] > 0]
    if len(usable) < 2:
        return  # a side at zero (or below the form's precision) implies nothing
    # The larger percentage rounds least: it gives the shares outstanding, the other is judged.
    (_, holding, pct), (field, other_holding, other_pct) = sorted(usable, key=lambda s: -s[2])
    total = Decimal(holding) / (pct / 100)
    model = Decimal(other_holding) / total * 100
    gap = abs(model - other_pct)
    if gap > settings.percent_tol_pp:
        yield reason("percent_discrepancy", {
            **where(form, field, other_pct), "pp_model": round(model, 3),
            "pp_reported": other_pct, "discrepancy_pp": round(gap, 3),
            "tolerance_pp": settings.percent_tol_pp})


def _labels(form: ParsedForm) -> Iterator[Reason]:
    for field, value in _text_values(form):
        label = label_found(value)
        if label is not None:
            yield reason("label_in_value", {**where(form, field, value), "label": label})
    yield from _misplaced(form)


def _misplaced(form: ParsedForm) -> Iterator[Reason]:
    """A name that is wholly another field's value was read from the wrong row."""
    for field in ("holder_name", "company_name"):
        value = getattr(form, field)
        owner = other_field_of(value)
        if owner is None and form.position and _same_text(value, form.position):
            owner = "position"
        if owner is not None:
            yield reason("value_misplaced", {**where(form, field, value), "belongs_to": owner})


def _same_text(left: str, right: str) -> bool:
    return " ".join(left.casefold().split()) == " ".join(right.casefold().split())


def _text_values(form: ParsedForm) -> Iterator[tuple[str, str]]:
    for field in ("holder_name", "company_name", "position", "board_member"):
        yield field, getattr(form, field) or ""
    for index, row in enumerate(form.rows):
        for name in ("purpose", "raw_type", "share_class", "ownership"):
            yield f"rows[{index}].{name}", getattr(row, name) or ""


def read_by_ocr(form: ParsedForm) -> bool:
    return any(isinstance(p, dict) and p.get("method") == OCR for p in form.provenance.values())


def ocr_hold(form: ParsedForm, reasons: Iterable[Reason]) -> list[Reason]:
    """One `ocr_unverified` reason per check that questions a value of an OCR-read form."""
    if not read_by_ocr(form):
        return []
    held: list[Reason] = []
    for failed in reasons:
        if failed["code"] not in VALUE_CODES:
            continue
        found = _unverified(form, failed)
        if found not in held:
            held.append(found)
    return held


def _unverified(form: ParsedForm, failed: Reason) -> Reason:
    details = failed.get("details") or {}
    field = str(details.get("field") or DEFAULT_FIELDS.get(failed["code"])
                or (details.get("fields") or ["form"])[0])
    located = where(form, field, details.get("text", ""), *_row_fallbacks(field))
    held = reason("ocr_unverified", {**located, "check": failed["code"]})
    held["message"] = _message(located, failed["code"])
    return held


def _row_fallbacks(field: str) -> tuple[str, ...]:
    # "rows" names the table: any of its values' provenance tells the page.
    return ("rows[0].amount",) if field == "rows" else ()


def _message(located: Mapping[str, Any], check: str) -> str:
    page = located.get("page")
    confidence = located.get("confidence")
    parts = [f"Read by OCR and not verified: {located['field']}"]
    if page is not None:
        parts.append(f" on page {page}")
    parts.append(f" reads {str(located.get('text'))!r}")
    if confidence is not None:
        parts.append(f" (OCR confidence {confidence})")
    parts.append(f"; {check} failed")
    return "".join(parts)


def ocr_notice(form: ParsedForm, held: list[Reason]) -> list[Reason]:
    """For a form stored from OCR (nothing held): one `ocr_read` warning naming each value
    OCR read that no check confirms, with its page, text and confidence."""
    if held or not read_by_ocr(form):
        return []
    keys = [*UNCONFIRMED_FIELDS, *(f"rows[{index}].{name}" for index in range(len(form.rows))
                                   for name in UNCONFIRMED_ROW_FIELDS)]
    values = [where(form, key, "") for key in keys
              if (form.provenance.get(key) or {}).get("method") == OCR]
    if not values:
        return []
    notice = reason("ocr_read", {"fields": values})
    shown = ", ".join(f"{v['field']} {str(v.get('text'))!r} (page {v.get('page')}, confidence "
                      f"{v.get('confidence')})" for v in values)
    notice["message"] = (f"Stored from an OCR reading that the sums confirm; compare with the "
                         f"PDF what no check can confirm: {shown}")
    return [notice]
