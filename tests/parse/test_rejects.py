"""Every way a form cannot be read gives its own alert code, with the text at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from reportlab.pdfgen.canvas import Canvas

from daemon.errors import RejectedInput
from handlers.adapters.parse_pool import ParsePool
from handlers.domain.ksei.records import ParsedForm
from handlers.stages.parse import parse_pdf
from tests.parse.forms import form, row
from tests.pdfform import FormLayout, build_form_pdf


def rejection(path: Path, companies: dict[str, dict[str, Any]]) -> RejectedInput:
    with pytest.raises(RejectedInput) as caught:
        parse_pdf(path, None, companies)
    return caught.value


@pytest.fixture
def good_pdf(examples: dict[str, ParsedForm], pdf_dir: Path) -> Path:
    return build_form_pdf(examples["SRTG.JK"], pdf_dir / "good.pdf")


def test_zero_byte_file(pdf_dir: Path, companies: dict[str, dict[str, Any]]) -> None:
    (path := pdf_dir / "empty.pdf").write_bytes(b"")
    error = rejection(path, companies)
    assert (error.code, error.details["reason"]) == ("pdf_unreadable",
                                                     "the file is empty (zero bytes)")


def test_not_a_pdf(pdf_dir: Path, companies: dict[str, dict[str, Any]]) -> None:
    (path := pdf_dir / "page.pdf").write_text("<html>Access denied</html>")
    assert "not a PDF" in rejection(path, companies).message


def test_truncated_pdf(good_pdf: Path, companies: dict[str, dict[str, Any]]) -> None:
    data = good_pdf.read_bytes()
    good_pdf.write_bytes(data[: len(data) * 2 // 3])
    error = rejection(good_pdf, companies)
    assert error.code == "pdf_unreadable" and "truncated" in error.message


def test_corrupt_pdf(good_pdf: Path, companies: dict[str, dict[str, Any]]) -> None:
    data = good_pdf.read_bytes()
    good_pdf.write_bytes(data[:9] + bytes(range(256)) * 8 + b"\n%%EOF\n")
    error = rejection(good_pdf, companies)
    assert error.code == "pdf_unreadable" and "PDFium cannot open it" in error.message


def test_encrypted_pdf(examples: dict[str, ParsedForm], pdf_dir: Path,
                       companies: dict[str, dict[str, Any]]) -> None:
    path = build_form_pdf(examples["SRTG.JK"], pdf_dir / "locked.pdf",
                          layout=FormLayout(encrypt="secret"))
    assert rejection(path, companies).code == "pdf_unreadable"


def test_image_only_pdf_that_ocr_reads_nothing_in(
        pdf_dir: Path, companies: dict[str, dict[str, Any]], ocr_pool: ParsePool) -> None:
    scan = pdf_dir / "scan.png"
    Image.new("L", (200, 280), color=200).save(scan)
    canvas = Canvas(str(pdf_dir / "scan.pdf"))
    canvas.drawImage(str(scan), 36, 36, width=500, height=700)
    canvas.showPage()
    canvas.drawImage(str(scan), 36, 36, width=500, height=700)
    canvas.save()
    with pytest.raises(RejectedInput) as caught:
        parse_pdf(pdf_dir / "scan.pdf", None, companies, ocr_pool.read)
    assert (caught.value.code, caught.value.details) == ("no_text_extracted",
                                                         {"pages": 2, "ocr": True})


def test_a_pdf_without_the_table(pdf_dir: Path, companies: dict[str, dict[str, Any]]) -> None:
    canvas = Canvas(str(pdf_dir / "letter.pdf"))
    for y, text in enumerate(["Nama (sesuai SID) : UNITRAS PERTAMA",
                              "Nama Perusahaan Tbk : SRTG - Saratoga Investama Sedaya Tbk",
                              "Perihal: Laporan keterbukaan informasi"]):
        canvas.drawString(40, 800 - 12 * y, text)
    canvas.save()
    assert rejection(pdf_dir / "letter.pdf", companies).code == "table_not_found"


def test_a_table_with_a_header_but_no_rows_is_not_a_missing_table(
        pdf_dir: Path, companies: dict[str, dict[str, Any]]) -> None:
    path = build_form_pdf(form(()), pdf_dir / "norows.pdf")
    error = rejection(path, companies)
    assert (error.code, error.message) == ("table_empty",
                                           "the transaction table has a header but no rows")
    assert error.details == {"page": 1}


def test_an_unreadable_amount_names_the_printed_text(
        pdf_dir: Path, companies: dict[str, dict[str, Any]]) -> None:
    # An amount with a fraction of a share cannot be a share count.
    path = build_form_pdf(form((row(amount=1),)), pdf_dir / "fraction.pdf",
                          layout=FormLayout(replace_text=(("1,00", "1,5"),)))
    error = rejection(path, companies)
    assert error.code == "number_parse_error"
    assert error.details == {"field": "rows[0].amount", "page": 1, "text": "1,5"}


def test_an_unreadable_holding_names_its_label(examples: dict[str, ParsedForm], pdf_dir: Path,
                                               companies: dict[str, dict[str, Any]]) -> None:
    path = build_form_pdf(examples["SRTG.JK"], pdf_dir / "holding.pdf",
                          layout=FormLayout(replace_text=(("4.289.610.000", "4,289,610,000"),)))
    error = rejection(path, companies)
    assert error.code == "number_parse_error"
    assert error.details == {"field": "holding_before", "page": 1, "text": "4,289,610,000"}
    assert "holding_before on page 1: cannot read '4,289,610,000'" in error.message


def test_an_unknown_month_is_a_date_error(examples: dict[str, ParsedForm], pdf_dir: Path,
                                          companies: dict[str, dict[str, Any]]) -> None:
    path = build_form_pdf(examples["SRTG.JK"], pdf_dir / "month.pdf",
                          layout=FormLayout(replace_text=(("Apr -", "Avr -"),)))
    error = rejection(path, companies)
    assert error.code == "date_parse_error"
    assert error.details == {"field": "rows[0].date", "page": 1, "text": "24 - Avr - 2026"}


def test_a_missing_label_is_named(examples: dict[str, ParsedForm], pdf_dir: Path,
                                  companies: dict[str, dict[str, Any]]) -> None:
    path = build_form_pdf(examples["SRTG.JK"], pdf_dir / "label.pdf", layout=FormLayout(
        replace_text=(("Hak Suara Setelah Transaksi", "Hak Suara Sesudah Transaksi"),)))
    error = rejection(path, companies)
    assert (error.code, error.details) == ("label_missing",
                                           {"label": "Hak Suara Setelah Transaksi"})


def test_an_unknown_ticker_suggests_the_closest_companies(
        pdf_dir: Path, companies: dict[str, dict[str, Any]]) -> None:
    unknown = form((row(),), symbol="SRTX.JK", company_name="Saratoga Investama Sedaya Tbk")
    error = rejection(build_form_pdf(unknown, pdf_dir / "ticker.pdf"), companies)
    assert error.code == "symbol_missing"
    assert error.details["ticker"] == "SRTX"
    assert error.details["suggestions"][0]["symbol"] == "SRTG.JK"
    assert len(error.details["suggestions"]) == 3
