"""The parse stage as the engine runs it: inbox PDF (+ sidecar) in, `data/parsed/` JSON out."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from daemon.errors import RejectedInput
from daemon.files import handling_input, write_json_atomic
from daemon.stages import Failure
from handlers.context import PipelineContext
from handlers.domain.ksei.records import SCHEMA, ParsedForm
from handlers.hooks import report_failure
from handlers.stages.parse import handle
from tests.parse.forms import form, row
from tests.pdfform import FormLayout, build_form_pdf

PDF_NAME = "LK-24042026-7431-00.pdf-0.pdf"
URL = ("https://www.idx.co.id/StaticData/NewsAndAnnouncement/ANNOUNCEMENTSTOCK/From_KSEI/"
       + PDF_NAME)
SIDECAR = {
    "announcement_id": "20260424170300-LK/24042026/0005/1_en-us",
    "title": "REPORT OF OWNERSHIP OR ANY CHANGES IN SHARE OWNERSHIP OF PUBLIC COMPANIES",
    "ticker": "SRTG", "published_at": "2026-04-24T17:03:00+07:00", "url": URL,
    "original_name": "LK-24042026-7431-00.pdf", "window": "20260424_1500_20260424_1700",
    "is_correction": False,
}


@pytest.fixture
def ctx(make_ctx: Callable[..., PipelineContext]) -> PipelineContext:
    return make_ctx()


def inbox_pdf(ctx: PipelineContext, parsed: ParsedForm, *, sidecar: dict[str, Any] | None,
              layout: FormLayout | None = None) -> Path:
    path = build_form_pdf(parsed, ctx.root / "downloads" / "idx-format" / PDF_NAME, layout=layout)
    if sidecar is not None:
        write_json_atomic(path.with_name(PDF_NAME + ".meta.json"), sidecar, durable=False)
    return path


def test_the_record_takes_the_digest_the_engine_claimed_rather_than_hashing_again(
        ctx: PipelineContext, examples: dict[str, ParsedForm]) -> None:
    pdf = inbox_pdf(ctx, examples["SRTG.JK"], sidecar=SIDECAR)
    claimed = "c" * 64  # what the engine hashed before the handler was given the file
    with handling_input(pdf, claimed):
        (output,) = handle(pdf, ctx)
    record = json.loads(output.read_text(encoding="utf-8"))
    assert record["document"]["sha256"] == claimed
    with handling_input(pdf.with_name("another.pdf"), claimed):  # not this file's digest
        (output,) = handle(pdf, ctx)
    record = json.loads(output.read_text(encoding="utf-8"))
    assert record["document"]["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()


def test_writes_the_parsed_record_with_its_announcement(
        ctx: PipelineContext, examples: dict[str, ParsedForm]) -> None:
    pdf = inbox_pdf(ctx, examples["SRTG.JK"], sidecar=SIDECAR)
    (output,) = handle(pdf, ctx)
    assert output == ctx.root / "data" / "parsed" / "LK-24042026-7431-00.pdf-0.json"
    record = json.loads(output.read_text(encoding="utf-8"))
    assert record["schema"] == SCHEMA
    assert record["announcement"] == SIDECAR
    assert record["document"]["filename"] == PDF_NAME and record["document"]["pages"] == 1
    assert record["document"]["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert (record["symbol"], record["holder_name"]) == ("SRTG.JK", "Unitras Pertama")
    assert (record["percentage_before"], record["percentage_after"]) == ("31.623", "24.841")
    assert record["rows"] == [{"type": "sell", "raw_type": "Penjualan",
                               "share_class": "Saham Biasa", "amount": 920000000,
                               "price": "1770.00", "date": "2026-04-24",
                               "purpose": "Divestasi", "ownership": "Langsung"}]
    assert ParsedForm.from_json(record).holding_after == 3_369_610_000
    assert pdf.exists()  # the engine, not the handler, moves its input


def test_the_same_pdf_gives_the_same_bytes(ctx: PipelineContext,
                                           examples: dict[str, ParsedForm]) -> None:
    pdf = inbox_pdf(ctx, examples["BYAN.JK"], sidecar=SIDECAR | {"ticker": "BYAN"})
    first = handle(pdf, ctx)[0].read_bytes()
    assert handle(pdf, ctx)[0].read_bytes() == first


def test_a_pdf_dropped_by_hand_is_parsed_without_an_announcement(
        ctx: PipelineContext, examples: dict[str, ParsedForm]) -> None:
    record = json.loads(handle(inbox_pdf(ctx, examples["BYAN.JK"], sidecar=None), ctx)[0]
                        .read_text(encoding="utf-8"))
    assert record["announcement"] is None
    assert record["symbol"] == "BYAN.JK"
    assert [r["price"] for r in record["rows"]] == ["12344.00", "12044.00"]


BYAN_NO_TICKER = FormLayout(replace_text=(("BYAN - Bayan Resources Tbk", "Bayan Resources Tbk"),))


def test_a_form_without_a_ticker_takes_the_announcements(
        ctx: PipelineContext, examples: dict[str, ParsedForm]) -> None:
    pdf = inbox_pdf(ctx, examples["BYAN.JK"], sidecar=SIDECAR | {"ticker": "BYAN"},
                    layout=BYAN_NO_TICKER)
    record = json.loads(handle(pdf, ctx)[0].read_text(encoding="utf-8"))
    assert (record["symbol"], record["company_name"]) == ("BYAN.JK", "Bayan Resources Tbk")


def test_a_ticker_other_than_the_announcements_is_flagged(
        ctx: PipelineContext, examples: dict[str, ParsedForm]) -> None:
    pdf = inbox_pdf(ctx, examples["BYAN.JK"], sidecar=SIDECAR)  # announced as SRTG
    record = json.loads(handle(pdf, ctx)[0].read_text(encoding="utf-8"))
    assert record["symbol"] == "BYAN.JK"
    assert record["flags"] == ["ticker_differs_from_announcement"]


def test_equal_holdings_are_written_with_the_review_flag(ctx: PipelineContext) -> None:
    unchanged = form((row("others", "Lainnya", purpose="Gadai saham"),), after=1_000_000)
    record = json.loads(handle(inbox_pdf(ctx, unchanged, sidecar=None), ctx)[0]
                        .read_text(encoding="utf-8"))
    assert record["flags"] == ["holdings_unchanged"]
    assert record["holding_before"] == record["holding_after"] == 1_000_000


def test_a_rejection_carries_the_document_and_the_announcement(ctx: PipelineContext) -> None:
    pdf = ctx.root / "downloads" / "idx-format" / PDF_NAME
    pdf.parent.mkdir(parents=True)
    pdf.write_bytes(b"")
    write_json_atomic(pdf.with_name(PDF_NAME + ".meta.json"), SIDECAR, durable=False)
    with pytest.raises(RejectedInput) as caught:
        handle(pdf, ctx)
    assert caught.value.code == "pdf_unreadable"
    assert caught.value.details["doc"] == {"filename": PDF_NAME, "url": URL,
                                           "title": SIDECAR["title"]}
    assert caught.value.details["announcement"] == SIDECAR
    assert not (ctx.root / "data" / "parsed").exists()


def test_the_operator_alert_names_the_code_and_the_announcement(
        ctx: PipelineContext, examples: dict[str, ParsedForm]) -> None:
    pdf = inbox_pdf(ctx, examples["BYAN.JK"], sidecar=SIDECAR | {"ticker": "XXXX"},
                    layout=BYAN_NO_TICKER)
    with pytest.raises(RejectedInput) as caught:
        handle(pdf, ctx)
    error = caught.value
    report_failure(ctx, Failure(
        stage="parse", source_path=f"downloads/idx-format/{PDF_NAME}",
        quarantine_path=f"quarantine/parse/{PDF_NAME}", code=error.code,
        error_type="RejectedInput", message=error.message, details=error.details, attempts=1,
        sha256="0" * 64))
    (alert_file,) = (ctx.root / "alerts").iterdir()
    alert = json.loads(alert_file.read_text(encoding="utf-8"))
    assert (alert["code"], alert["stage"]) == ("symbol_missing", "parser")
    assert alert["context"]["doc"]["url"] == URL
    assert alert["context"]["announcement"]["ticker"] == "XXXX"
    assert alert["reasons"][0]["details"]["suggestions"][0]["symbol"] == "BYAN.JK"


def test_the_engine_routes_form_pdfs_but_not_their_sidecars_to_parse() -> None:
    from handlers.app import APP

    stage = APP.stage_for(f"downloads/idx-format/{PDF_NAME}")
    assert stage is not None and (stage.name, stage.handler) == ("parse", handle)
    assert APP.stage_for(f"downloads/idx-format/{PDF_NAME}.meta.json") is None
