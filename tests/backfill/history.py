"""A year of the exchange's history for the backfill: about 250 trading days, a few forms each.

Trading days are the year's weekdays less a few holidays. Each carries `per_day` announcements,
most with one KSEI form of a holder of its own (one filing each). The cases a person must see
are mixed in: every `MULTI_EVERY`-th announcement has its form beside an issuer's letter and an
appendix (three attachments, one filing), every `LETTER_EVERY`-th has only a letter (a
`non_idx_document` alert), every `GONE_EVERY`-th a form the file host no longer has (a
`download_failed` alert), and every `BUSY_EVERY`-th form is answered 503 once before it is
served. Forms are rendered once per holder and kept in a cache directory, so a second run
builds none. `History.publish` puts it all on the local exchange and says what must come out.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from handlers.domain.windows import WIB
from tests.e2e.exchange import Exchange, ksei_item
from tests.e2e.scenario import srtg_form
from tests.ingest.exchange import minimal_pdf
from tests.pdfform import build_form_pdf

MULTI_EVERY, LETTER_EVERY, GONE_EVERY, BUSY_EVERY = 7, 11, 13, 17
HOLIDAYS = ("01-01", "01-29", "03-31", "04-01", "04-18", "05-01", "05-12", "05-29", "06-06",
            "08-18", "12-25", "12-26")
RENDERER = Path(__file__).resolve().parents[1] / "pdfform.py"


def holder(number: int) -> str:
    return f"Pemegang Riwayat {number:05d}"


def trading_days(first: date, last: date) -> list[date]:
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [day for day in days if day.weekday() < 5 and f"{day:%m-%d}" not in HOLIDAYS]


def cached_form(number: int, cache: Path) -> bytes:
    """The holder's form, rendered once per version of the renderer."""
    version = hashlib.sha256(RENDERER.read_bytes()).hexdigest()[:12]
    path = cache / version / f"form-{number:05d}.pdf"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        form = dataclasses.replace(srtg_form(), holder_name=holder(number))
        build_form_pdf(form, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)
    return path.read_bytes()


@dataclass
class History:
    first: date
    last: date
    per_day: int = 2
    offset: int = 0  # numbers (holders, files) start here, so two histories can share a run
    holders: list[str] = field(default_factory=list)  # whose filing must be stored
    expected_alerts: dict[str, int] = field(default_factory=dict)  # code -> count
    files: list[str] = field(default_factory=list)  # every attachment's path on the exchange
    busy: set[str] = field(default_factory=set)  # those answered 503 once before being served

    @property
    def days(self) -> list[date]:
        return trading_days(self.first, self.last)

    def kind(self, number: int) -> str:
        for every, kind in ((LETTER_EVERY, "letter"), (GONE_EVERY, "gone"),
                            (MULTI_EVERY, "multi")):
            if number % every == every - 1:
                return kind
        return "form"

    def publish(self, exchange: Exchange, cache: Path) -> None:
        number = self.offset
        for day in self.days:
            for slot in range(self.per_day):
                published = datetime.combine(day, time(9, 0), WIB) + timedelta(minutes=47 * slot)
                exchange.publish(self._item(exchange, number, published, cache))
                number += 1

    def _item(self, exchange: Exchange, number: int, published: datetime,
              cache: Path) -> dict[str, Any]:
        kind, form_path = self.kind(number), f"/files/h{number:05d}.pdf"
        if kind == "letter":
            self._count("non_idx_document")
            return ksei_item(number, published, self._letter(exchange, number, "Surat"),
                             original=f"Surat_{number}.pdf")
        exchange.files[form_path] = 404 if kind == "gone" else cached_form(number, cache)
        self.files.append(form_path)
        if kind == "gone":
            self._count("download_failed")
        else:
            self.holders.append(holder(number))
        if kind == "form" and number % BUSY_EVERY == BUSY_EVERY - 1:
            exchange.fail(form_path, 503)
            self.busy.add(form_path)
        item = ksei_item(number, published, exchange.origin + form_path)
        if kind == "multi":
            item["Attachments"] = [
                {"FullSavePath": self._letter(exchange, number, "Surat"), "IsAttachment": 0,
                 "OriginalFilename": f"Surat_{number}.pdf", "PDFFilename": f"Surat_{number}"},
                {**item["Attachments"][0], "IsAttachment": 1},
                {"FullSavePath": self._letter(exchange, number, "Lampiran"), "IsAttachment": 1,
                 "OriginalFilename": f"Lampiran_{number}.pdf",
                 "PDFFilename": f"Lampiran_{number}"}]
        return item

    def _letter(self, exchange: Exchange, number: int, label: str) -> str:
        path = f"/files/{label.lower()}-{number:05d}.pdf"
        exchange.files[path] = minimal_pdf(f"{label} {number}")
        self.files.append(path)
        return exchange.origin + path

    def _count(self, code: str) -> None:
        self.expected_alerts[code] = self.expected_alerts.get(code, 0) + 1
