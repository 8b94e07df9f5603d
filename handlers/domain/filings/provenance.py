"""Where each value of a filing was read: the form's provenance under the filing's own names.

The parsed record keys its provenance by the form's fields (`holding_after`, `rows[3].price`);
a filing stores some of them under column names (`share_percentage_after`) and holds only its
own leg's rows (`price_transaction[0].price` is the leg's first row, whichever row of the form
that was). Each entry keeps the page, the method (`text` | `ocr`) and, for OCR, the confidence;
the text read stays in the record's form-level provenance.
"""

from __future__ import annotations

from typing import Any

from handlers.domain.filings.rows import Filing
from handlers.domain.ksei.records import ParsedForm

# form field -> the filing's column
HEADER_COLUMNS = {
    "company_name": "symbol", "holder_name": "holder_name", "holding_before": "holding_before",
    "holding_after": "holding_after", "percentage_before": "share_percentage_before",
    "percentage_after": "share_percentage_after", "position": "position",
    "board_member": "board_member", "controlling_shareholder": "controlling_shareholder",
}
ROW_FIELDS = {"amount": "amount_transacted", "price": "price", "date": "date",
              "purpose": "purpose", "type": "type", "raw_type": "type",
              "ownership": "ownership", "share_class": "share_class"}
KEPT = ("page", "method", "confidence")


def filing_provenance(form: ParsedForm, filing: Filing) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for field, column in HEADER_COLUMNS.items():
        _copy(form, field, column, found)
    for position, row in enumerate(filing.leg.rows):
        index = form.rows.index(row)
        for field, name in ROW_FIELDS.items():
            _copy(form, f"rows[{index}].{field}", f"price_transaction[{position}].{name}", found)
    return found


def _copy(form: ParsedForm, key: str, name: str, into: dict[str, dict[str, Any]]) -> None:
    entry = form.provenance.get(key)
    if isinstance(entry, dict) and name not in into:
        into[name] = {k: entry[k] for k in KEPT if k in entry}
