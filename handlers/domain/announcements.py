"""The announcements file: normalizing the exchange's items and reading batches back.

The exchange's items are untidy: `Code` may be right-padded with spaces, `PdfPath` is a JSON
string holding a list or a single object (with `IsAttachment` as "0"/"1"), and its order
differs from `Attachments`. Here every item becomes one record with a stripped ticker, a WIB
publish time, every attachment once (by URL) and the main document marked (`IsAttachment == 0`,
else the first), with the raw item kept beside it. Batches dropped by hand may also be a raw
list of items, an API answer (`{"Items": [...]}`) or the original's normalized list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from handlers.domain.windows import Window, to_wib

SCHEMA = "idxd.announcements/1"
CORRECTION_TYPE = "(Form Koreksi)"

Record = dict[str, Any]


def normalize_item(item: Mapping[str, Any]) -> Record:
    title = str(item.get("Title") or "").strip()
    kind = str(item.get("AnnouncementType") or "").strip()
    return {
        "id": item.get("Id") or None,
        "announcement_no": item.get("AnnouncementNo"),
        "published_at": publish_time(item).isoformat(),
        "title": title,
        "ticker": str(item.get("Code") or "").strip().upper(),
        "announcement_type": kind,
        "is_correction": kind == CORRECTION_TYPE or "CORRECTION" in title.upper(),
        "attachments": collect_attachments(item),
        "raw": dict(item),
    }


def publish_time(item: Mapping[str, Any]) -> datetime:
    """`PublishDate` is naive WIB on the wire."""
    return to_wib(datetime.fromisoformat(str(item["PublishDate"])))


def collect_attachments(item: Mapping[str, Any]) -> list[Record]:
    """Each attachment once (by URL), `Attachments` order first; the main one marked."""
    by_url: dict[str, Record] = {}
    for raw in [*_as_list(item.get("Attachments")), *_pdf_path_entries(item.get("PdfPath"))]:
        url = str(raw.get("FullSavePath") or "").strip()
        if url and url not in by_url:
            by_url[url] = {"url": url, "original_name": raw.get("OriginalFilename"),
                           "pdf_filename": raw.get("PDFFilename"),
                           "is_attachment": _flag(raw.get("IsAttachment")), "is_main": False}
    attachments = list(by_url.values())
    main = next((a for a in attachments if a["is_attachment"] is False), None)
    if main is None and attachments:
        main = attachments[0]
    if main is not None:
        main["is_main"] = True
    return attachments


def select_in_window(items: Iterable[Mapping[str, Any]], window: Window) -> list[Record]:
    """Normalized items published inside `window`, deduplicated by `Id`, oldest first."""
    seen: dict[Any, Record] = {}
    for item in items:
        if not item.get("PublishDate") or not window.contains(publish_time(item)):
            continue
        record = normalize_item(item)
        seen.setdefault(dedup_key(record), record)
    return sorted(seen.values(), key=lambda r: (r["published_at"], str(r["id"])))


def dedup_key(record: Mapping[str, Any]) -> Any:
    return record["id"] or (record["title"], record["published_at"], record["ticker"])


def batch_payload(window: Window, records: list[Record], source: str) -> dict[str, Any]:
    return {"schema": SCHEMA, "window": window.to_json(), "source": source,
            "count": len(records), "announcements": records}


def read_batch(path: Path) -> tuple[str | None, list[Record]]:
    """(window stub or None, normalized records) from any accepted batch shape."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, Mapping) and isinstance(data.get("announcements"), list):
        stub = (data.get("window") or {}).get("stub")
        return stub, [dict(record) for record in data["announcements"]]
    items = data.get("Items") if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise ValueError("not an announcements batch: expected a list of items")
    return None, [_from_any(item) for item in items if isinstance(item, Mapping)]


def _from_any(item: Mapping[str, Any]) -> Record:
    if "PublishDate" in item:
        return normalize_item(item)
    if "main_link" in item:
        return _from_original_normalized(item)
    raise ValueError("an item is neither an exchange item nor an original normalized record")


def _from_original_normalized(item: Mapping[str, Any]) -> Record:
    """The original pipeline's record: `company_name` holds the ticker, `main_link` the form."""
    links = [{"FullSavePath": item["main_link"], "IsAttachment": 0,
              "OriginalFilename": item.get("filename")}]
    links += [{"FullSavePath": a.get("url"), "IsAttachment": 1,
               "OriginalFilename": a.get("filename")} for a in item.get("attachments") or []]
    raw = {"Id": item.get("id") or item["main_link"], "PublishDate": item["date"],
           "Title": item.get("title"), "Code": item.get("company_name"), "Attachments": links}
    return normalize_item(raw) | {"raw": dict(item)}


def _pdf_path_entries(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else None
        except json.JSONDecodeError:
            return []
    return _as_list(value)


def _as_list(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list):
        return [entry for entry in value if isinstance(entry, Mapping)]
    return []


def _flag(value: Any) -> bool | None:
    text = str(value).strip()
    return {"0": False, "1": True}.get(text)
