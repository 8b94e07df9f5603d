"""Scanned forms (image-only PDFs, no text layer) read by real Tesseract through the same
reader, in parse children as the daemon reads them: fixed cases, since OCR takes a second or two
a page. What OCR reads is marked so in the provenance, with its confidence; work beyond the OCR
bounds is refused with a precise reason."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from daemon.errors import RejectedInput
from handlers.adapters.ocr import OcrOptions
from handlers.adapters.parse_pool import ParsePool
from handlers.adapters.pdf_form import read_pdf
from handlers.domain.ksei.records import ParsedForm
from handlers.stages.parse import parse_pdf
from tests.parse.forms import MIXED_ROWS, form, same_form
from tests.pdfform import FormLayout, build_form_pdf
from tests.pdfscan import scan_pdf

SCANS = {
    "plain": ("SRTG.JK", FormLayout()),
    "bilingual, statements, personal fields not shown": ("SRTG.JK", FormLayout(
        bilingual="below", statements=True, personal=True)),
    "two pages, row cut, header repeated in English": ("BYAN.JK", FormLayout(
        rows_per_page=1, split_row=True, repeated_header="en")),
}


def scanned(record: ParsedForm, directory: Path, layout: FormLayout, *, dpi: int = 300) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    drawn = build_form_pdf(record, directory / "drawn.pdf", layout=layout)
    return scan_pdf(drawn, directory / "LK-scan.pdf", dpi=dpi)


@pytest.mark.parametrize(("symbol", "layout"), SCANS.values(), ids=SCANS.keys())
def test_a_scanned_form_reads_back_the_same_record_marked_as_ocr(
        symbol: str, layout: FormLayout, examples: dict[str, ParsedForm],
        companies: dict[str, dict[str, Any]], pdf_dir: Path, ocr_pool: ParsePool) -> None:
    record = dataclasses.replace(examples[symbol], position="Direktur Utama")
    parsed = parse_pdf(scanned(record, pdf_dir, layout), None, companies, ocr_pool.read)
    same_form(parsed, record)
    fields = ("holder_name", "company_name", "holding_before", "holding_after",
              "percentage_before", "percentage_after", "position", "rows[0].amount",
              "rows[0].price", "rows[0].date", "rows[0].purpose")
    for name in fields:
        where = parsed.provenance[name]
        assert where["method"] == "ocr", name
        assert 0 < where["confidence"] <= 100, name
    assert parsed.provenance["holding_before"]["text"] == \
        {"SRTG.JK": "4.289.610.000", "BYAN.JK": "211.200"}[symbol]


def test_more_scanned_pages_than_ocr_reads_is_refused_before_reading(
        examples: dict[str, ParsedForm], pdf_dir: Path,
        pool_with: Callable[[OcrOptions], ParsePool]) -> None:
    path = scanned(examples["BYAN.JK"], pdf_dir, SCANS["two pages, row cut, header repeated "
                                                        "in English"][1], dpi=100)
    with pytest.raises(RejectedInput) as caught:
        pool_with(OcrOptions(max_pages=1)).read(path)
    assert (caught.value.code, caught.value.details) == ("ocr_page_limit",
                                                         {"pages": 2, "max_pages": 1})


def test_a_scan_outliving_the_ocr_time_limit_is_refused_with_how_far_it_got(
        examples: dict[str, ParsedForm], pdf_dir: Path,
        pool_with: Callable[[OcrOptions], ParsePool]) -> None:
    path = scanned(examples["SRTG.JK"], pdf_dir, FormLayout(), dpi=100)
    with pytest.raises(RejectedInput) as caught:
        pool_with(OcrOptions(time_limit_s=0.001)).read(path)
    assert caught.value.code == "ocr_time_limit"
    assert caught.value.details == {"time_limit_s": 0.001, "pages_read": 0, "pages": 1}


def test_with_ocr_off_a_scan_has_no_text(examples: dict[str, ParsedForm],
                                         pdf_dir: Path) -> None:
    # In this process: with OCR off, Tesseract is never loaded.
    path = scanned(examples["SRTG.JK"], pdf_dir, FormLayout(), dpi=100)
    with pytest.raises(RejectedInput) as caught:
        read_pdf(path, ocr=OcrOptions(enabled=False))
    assert (caught.value.code, caught.value.details) == ("no_text_extracted",
                                                         {"pages": 1, "ocr": False})


def test_a_coarser_scan_reads_back_or_names_the_cell_it_could_not_read(
        examples: dict[str, ParsedForm], companies: dict[str, dict[str, Any]],
        pdf_dir: Path, ocr_pool: ParsePool) -> None:
    """At 200 dpi (as many scanners send) the real records still read back; the mixed-rows
    form loses a lone "-" price to OCR, and the refusal names that cell."""
    for symbol in ("SRTG.JK", "BYAN.JK"):
        parsed = parse_pdf(scanned(examples[symbol], pdf_dir / symbol, FormLayout(), dpi=200),
                           None, companies, ocr_pool.read)
        same_form(parsed, examples[symbol])
    with pytest.raises(RejectedInput) as caught:
        parse_pdf(scanned(form(MIXED_ROWS), pdf_dir / "mixed", FormLayout(), dpi=200), None,
                  companies, ocr_pool.read)
    assert (caught.value.code, caught.value.details) == (
        "number_parse_error", {"field": "rows[3].price", "page": 1, "text": ""})
    assert "nothing was printed there, or nothing could be read" in caught.value.message
