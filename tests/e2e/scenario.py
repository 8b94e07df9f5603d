"""A busy stretch of the exchange: a few hundred announcements, published over a minute or so,
each with its own KSEI form, and the outcome the pipeline must reach for them.

Most announcements carry one form of a distinct holder (so each is one filing in the sink);
every `NON_IDX_EVERY`-th carries only an issuer's letter (a `non_idx_document` alert) and every
`GONE_EVERY`-th a form the file host no longer has (a `download_failed` alert). `Scenario`
publishes them on the local exchange and says which holders must end up in the sink.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from handlers.domain.ksei.records import ParsedForm
from tests.conftest import FIXTURES
from tests.e2e.exchange import Exchange, ksei_item
from tests.ingest.exchange import minimal_pdf
from tests.pdfform import build_form_pdf, example_forms

NON_IDX_EVERY = 12
GONE_EVERY = 25


@cache
def srtg_form() -> ParsedForm:
    return example_forms(FIXTURES / "parsed_examples.json")["SRTG.JK"]


def holder(number: int) -> str:
    return f"Investor Nomor {number:04d}"


def form_pdf(number: int, directory: Path) -> bytes:
    form = dataclasses.replace(srtg_form(), holder_name=holder(number))
    return build_form_pdf(form, directory / f"form-{number}.pdf").read_bytes()


@dataclass
class Scenario:
    count: int
    first: datetime  # publish time of the first announcement (aware)
    spread_s: float  # the last one is published this long after the first
    holders: list[str] = field(default_factory=list)  # those whose filing must be stored
    offset: int = 0  # numbers (holders, files) start here, so two scenarios can share a run

    def kind(self, number: int) -> str:
        if number % NON_IDX_EVERY == NON_IDX_EVERY - 1:
            return "letter"
        if number % GONE_EVERY == GONE_EVERY - 1:
            return "gone"
        return "form"

    def published(self, number: int) -> datetime:
        share = (number - self.offset) / max(1, self.count - 1)
        return self.first + timedelta(seconds=self.spread_s * share)

    @property
    def last(self) -> datetime:
        return self.published(self.offset + self.count - 1)

    def publish(self, exchange: Exchange, pdf_dir: Path) -> None:
        pdf_dir.mkdir(parents=True, exist_ok=True)
        for number in range(self.offset, self.offset + self.count):
            path = f"/files/{number:05d}.pdf"
            kind = self.kind(number)
            url = exchange.origin + path
            if kind == "letter":
                exchange.files[path] = minimal_pdf(f"letter {number}")
                item = ksei_item(number, self.published(number), url, code="SRTG",
                                 original=f"Surat_{number}.pdf")
            else:
                exchange.files[path] = form_pdf(number, pdf_dir) if kind == "form" else 404
                item = ksei_item(number, self.published(number), url)
            if kind == "form":
                self.holders.append(holder(number))
            exchange.publish(item)
