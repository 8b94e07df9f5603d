"""The filings a window inserted, as the email's first table shows them.

Each `data/filings/*.json` record of the window carries its rows and their sink outcome; a row
whose outcome is `inserted` is listed with what an analyst reads first: ticker, holder and
position, buy or sell, shares, price and value, the holding before and after, when the exchange
published it and the exchange's own PDF. The position comes from the row when the generator put
it there, otherwise from the parsed form the record names (its "Jabatan"), otherwise from the
holder type. A record that cannot be read is skipped here; the artifacts zip still has it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from daemon.files import read_json_object
from handlers import paths
from handlers.adapters.mail import format as fmt
from handlers.domain.filings.rows import publish_time

LISTED_OUTCOMES = ("inserted",)
KIND_WORDS = {"buy": "Buy", "sell": "Sell", "others": "Other", "transfer": "Transfer"}


@dataclass(frozen=True)
class FilingLine:
    published: datetime | None
    ticker: str
    holder: str
    position: str
    kind: str
    shares: str
    price: str
    value: str
    before: str
    after: str
    pdf_url: str | None

    def cells(self) -> list[str]:
        """The plain values in the table's column order, up to the holding (rendered apart)."""
        return [fmt.wib(self.published), self.ticker, self.holder, self.position, self.kind,
                self.shares, self.price, self.value]


COLUMNS = ("Published", "Ticker", "Holder", "Position", "Type", "Shares", "Price", "Value",
           "Holding before → after", "PDF")


def inserted_filings(records: Iterable[Path], root: Path) -> list[FilingLine]:
    lines = []
    for path in records:
        record = read_json_object(path)
        position = _form_position(root, record)
        for filing in record.get("filings") or []:
            if isinstance(filing, Mapping) and filing.get("outcome") in LISTED_OUTCOMES:
                lines.append(_line(record, filing.get("row") or {}, position))
    return sorted(lines, key=lambda line: (line.published is None, line.published or 0,
                                           line.ticker, line.holder))


def _line(record: Mapping[str, Any], row: Mapping[str, Any], position: str | None) -> FilingLine:
    announcement = record.get("announcement") or {}
    kind = str(row.get("transaction_type") or "")
    return FilingLine(
        published=publish_time(announcement),
        ticker=str(row.get("symbol") or announcement.get("ticker") or fmt.DASH),
        holder=str(row.get("holder_name") or fmt.DASH),
        position=str(row.get("position") or position or row.get("holder_type") or fmt.DASH),
        kind=KIND_WORDS.get(kind, kind.capitalize() or fmt.DASH),
        shares=fmt.grouped(row.get("amount_transaction")),
        price=fmt.idr(row.get("price")),
        value=fmt.idr(row.get("transaction_value")),
        before=fmt.holding(row.get("holding_before"), row.get("share_percentage_before")),
        after=fmt.holding(row.get("holding_after"), row.get("share_percentage_after")),
        pdf_url=web_link(row.get("source") or announcement.get("url")))


def _form_position(root: Path, record: Mapping[str, Any]) -> str | None:
    name = record.get("parsed")
    if not isinstance(name, str) or "/" in name or name.startswith("."):
        return None
    value = read_json_object(root / paths.PARSED / name).get("position")
    return str(value) if value else None


def web_link(value: Any) -> str | None:
    """Only web addresses become links: a `javascript:` or file path never does."""
    text = str(value or "")
    return text if text.startswith(("https://", "http://")) else None
