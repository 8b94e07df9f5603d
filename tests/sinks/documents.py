"""Parsed records of one real filing (SRTG, Unitras Pertama selling 920,000,000 shares on 24
April 2026) as each way of arriving gives it: dropped by hand (no announcement, the file's own
name), downloaded with its sidecar, rewritten with other figures, corrected; and crafted
filings of the same holder for the chain."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.filings.forms import TITLE, examples, form, from_example, row

LK = "LK-24042026-7431-00"
URL = f"https://www.idx.co.id/StaticData/ANNOUNCEMENTSTOCK/From_KSEI/{LK}.pdf-0.pdf"
BEFORE = 4_289_610_000


def hand_dropped(name: str = f"{LK}.pdf", sold: int = 920_000_000) -> dict[str, Any]:
    """What the parse stage writes for the PDF dropped by hand: no announcement."""
    record = from_example(examples()[0])
    record["document"] = {"filename": name, "sha256": f"{sold:064d}", "pages": 2}
    record["announcement"] = None
    return with_sale(record, sold)


def downloaded(sold: int = 920_000_000) -> dict[str, Any]:
    """The same form fetched by the download stage, with the sidecar it wrote."""
    record = hand_dropped(f"SRTG_{LK}_5f1c0a9e2b.pdf", sold)
    record["announcement"] = {
        "announcement_id": "20260424170300-LK/24042026/0005/1_en-us",
        "announcement_no": "LK/24042026/0005/1", "title": TITLE, "ticker": "SRTG",
        "published_at": "2026-04-24T17:03:00", "is_correction": False, "url": URL,
        "original_name": f"{LK}.pdf", "local_name": f"SRTG_{LK}_5f1c0a9e2b.pdf"}
    return record


def with_sale(record: dict[str, Any], sold: int) -> dict[str, Any]:
    """The record with `sold` shares sold (holdings and percentage after to match)."""
    after = BEFORE - sold
    record["rows"][0]["amount"] = sold
    record["holding_after"] = after
    record["percentage_after"] = str((Decimal("31.623") * after / BEFORE).quantize(
        Decimal("0.001")))
    return record


def correction(before: int, after: int, rows: list[dict[str, Any]] | None = None,
               number: str = "LK-27042026-0100-00") -> dict[str, Any]:
    """A correction form ("(CORRECTION)" in its announcement's title) for the same holder."""
    record = holder_filing(rows or [], before, after, number, "2026-04-27T09:00:00+07:00")
    record["announcement"]["title"] = f"(CORRECTION) {TITLE}"
    return record


def holder_filing(rows: list[dict[str, Any]], before: int, after: int, number: str,
                  published: str = "2026-04-28T10:00:00+07:00",
                  holder: str = "Unitras Pertama") -> dict[str, Any]:
    """Another filing of Unitras Pertama in SRTG, in its own document `number`."""
    record = form(rows, before, after, pct_before="31.623", published=published, holder=holder)
    record["document"] = {"filename": f"{number}.pdf", "sha256": number.ljust(64, "0"),
                          "pages": 1}
    record["announcement"]["url"] = f"https://www.idx.co.id/x/{number}.pdf"
    return record


def sale(amount: int, day: str) -> dict[str, Any]:
    return row("sell", amount, "1770", date=day, purpose="Divestasi")
