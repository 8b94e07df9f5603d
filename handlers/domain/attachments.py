"""Names and kinds of downloaded attachments: IDX-format or not, and a safe local file name.

An attachment is an IDX-format (KSEI) ownership form when its original name looks like
`LK-DDMMYYYY-N-N` or its URL comes from `From_KSEI`. Local names are built from the ticker and
the original name with everything unsafe replaced (a `/` in `OriginalFilename` is real), bounded
in length, and end with a short hash of the announcement id and URL: the same attachment of the
same announcement always gets the same name, which is what makes a re-run skip it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

IDX_NAME = re.compile(r"^LK-\d{8}-\d+-\d+", re.IGNORECASE)
KSEI_URL_MARK = "from_ksei"
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")  # also control characters, `/`, `\`
PDF_SUFFIX = re.compile(r"(\.pdf|\.xlsx)+$", re.IGNORECASE)
SPREADSHEET_SUFFIX = ".xlsx"
MAX_STEM_CHARS = 80
IDX_FORMAT, NON_IDX_FORMAT = "idx-format", "non-idx-format"


def original_name(attachment: Mapping[str, Any]) -> str:
    """The name the issuer gave the file, else the exchange's, else the URL's last segment."""
    for key in ("original_name", "pdf_filename"):
        value = str(attachment.get(key) or "").strip()
        if value:
            return value
    return unquote(urlsplit(str(attachment.get("url") or "")).path.rsplit("/", 1)[-1])


def is_idx_format(attachment: Mapping[str, Any]) -> bool:
    name = original_name(attachment).replace("\\", "/").rsplit("/", 1)[-1]
    return bool(IDX_NAME.match(name)) or KSEI_URL_MARK in str(attachment.get("url", "")).lower()


def is_spreadsheet(attachment: Mapping[str, Any]) -> bool:
    names = (original_name(attachment), urlsplit(str(attachment.get("url") or "")).path)
    return any(name.lower().endswith(SPREADSHEET_SUFFIX) for name in names)


def kind_of(attachment: Mapping[str, Any]) -> str:
    # A spreadsheet is never a KSEI form, whatever its name: it goes to a person.
    if is_idx_format(attachment) and not is_spreadsheet(attachment):
        return IDX_FORMAT
    return NON_IDX_FORMAT


def safe_part(text: str, max_chars: int = MAX_STEM_CHARS) -> str:
    """Letters, digits, `.`, `_`, `-` only; no `..`, no leading dot; bounded length."""
    cleaned = re.sub(r"\.{2,}", ".", UNSAFE.sub("_", text)).strip("._-")
    if len(cleaned) > max_chars:
        # Keep both ends: names often differ only at the end (`…_lamp1`, `…_lamp2`).
        tail_chars = max_chars // 3
        cleaned = f"{cleaned[:max_chars - tail_chars - 2]}__{cleaned[-tail_chars:]}"
    return cleaned.strip("._-")


def local_name(record: Mapping[str, Any], attachment: Mapping[str, Any]) -> str:
    ticker = safe_part(str(record.get("ticker") or ""), 12) or "UNKNOWN"
    stem = safe_part(PDF_SUFFIX.sub("", original_name(attachment))) or "attachment"
    suffix = SPREADSHEET_SUFFIX if is_spreadsheet(attachment) else ".pdf"
    return f"{ticker}_{stem}_{attachment_key(record, attachment)[:10]}{suffix}"


def attachment_key(record: Mapping[str, Any], attachment: Mapping[str, Any]) -> str:
    """A stable identity for (announcement, URL)."""
    identity = f"{record.get('id') or ''}\n{attachment.get('url') or ''}"
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()
