"""Where a value was read: its page, how (text layer or OCR), OCR's confidence, the text seen.

Every field of a parsed form carries one such record (`ParsedForm.provenance`), and every
reason for refusing a form names the field, the page and the text in the same terms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from daemon.errors import RejectedInput
from handlers.domain.ksei.layout import Method
from handlers.domain.ksei.words import Word


def seen(words: Sequence[Word], text: str) -> dict[str, Any]:
    """`{"page": 2, "method": "ocr", "confidence": 88.0, "text": "1.770,00"}`."""
    record: dict[str, Any] = {"page": words[0].page if words else None,
                              "method": (words[0].method if words else Method.TEXT).value}
    confidences = [word.confidence for word in words if word.confidence is not None]
    if confidences:
        record["confidence"] = round(min(confidences), 1)
    record["text"] = text
    return record


def unreadable(code: str, field: str, where: dict[str, Any], why: str) -> RejectedInput:
    """A value that cannot be read: `number_parse_error` and its kin, with field/page/text."""
    if not where["text"]:
        why = "nothing was printed there, or nothing could be read"
    return RejectedInput(code, f"{field} on page {where['page']}: cannot read "
                         f"{where['text']!r} ({why})",
                         {"field": field, "page": where["page"], "text": where["text"]})
