"""One fixed case per way the real forms are drawn: each reads back to the record it was drawn
from, through the real text layer; and the two cases the text-order parser stored wrong."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest

from handlers.domain.ksei.records import ParsedForm
from handlers.stages.parse import parse_pdf
from tests.parse.forms import MIXED_ROWS, form, row, same_form
from tests.pdfform import FormLayout, build_form_pdf

PHENOMENA = {
    "label and value as one string": FormLayout(one_line=True),
    "English label below the Indonesian one": FormLayout(bilingual="below"),
    "English label between the label and its value": FormLayout(bilingual="between"),
    "English label, then the value on its own row": FormLayout(bilingual="between",
                                                              value_next_line=True),
    "English preamble and statements": FormLayout(statements=True),
    "values below their labels' baseline": FormLayout(value_drop=3.5),
    "percentages without a space": FormLayout(percent_space=False),
    "personal fields not shown": FormLayout(personal=True),
    "Times 9 pt": FormLayout(font="Times-Roman", size=9),
    "Helvetica 7 pt": FormLayout(size=7),
    "values in kerned pieces": FormLayout(kerning=0.19, seed=3),
    "content order shuffled": FormLayout(shuffle=True, seed=5),
    "row cut mid-cell, header repeated in English": FormLayout(
        rows_per_page=2, split_row=True, repeated_header="en", english_page_numbers=True),
    "row cut mid-cell, header repeated in Indonesian": FormLayout(rows_per_page=3,
                                                                  split_row=True),
    "everything at once": FormLayout(
        one_line=True, bilingual="below", statements=True, value_drop=2, percent_space=False,
        personal=True, font="Times-Roman", size=9, kerning=0.19, shuffle=True, seed=7,
        rows_per_page=2, split_row=True, repeated_header="en"),
}
WITH_POSITION = dict(position="Direktur Utama", board_member="Direksi",
                     controlling_shareholder=False, holder_category="Korporasi")


@pytest.mark.parametrize("layout", PHENOMENA.values(), ids=PHENOMENA.keys())
@pytest.mark.parametrize("which", ["SRTG", "mixed rows"])
def test_each_way_of_drawing_reads_back_the_same_record(
        layout: FormLayout, which: str, examples: dict[str, ParsedForm],
        companies: dict[str, dict[str, Any]], pdf_dir: Path) -> None:
    record = examples["SRTG.JK"] if which == "SRTG" else form(MIXED_ROWS)
    record = dataclasses.replace(record, **WITH_POSITION)
    parsed = parse_pdf(build_form_pdf(record, pdf_dir / "form.pdf", layout=layout), None,
                       companies)
    same_form(parsed, record)
    assert (parsed.position, parsed.board_member, parsed.controlling_shareholder,
            parsed.holder_category) == ("Direktur Utama", "Direksi", False, "Korporasi")
    assert parsed.provenance["position"]["text"] == "Direktur Utama"


def plain_text(path: Path) -> str:
    """What a text-order extractor sees: PDFium's text of every page, in content order."""
    document = pdfium.PdfDocument(path)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def test_a_name_in_widely_kerned_pieces_is_not_split(
        examples: dict[str, ParsedForm], companies: dict[str, dict[str, Any]],
        pdf_dir: Path) -> None:
    record = dataclasses.replace(examples["SRTG.JK"], holder_name="Saratoga Investama")
    layout = FormLayout(kerning=0.19, pieces=(("SARATOGA INVESTAMA",
                                               ("SARA", "TOGA ", "INVE", "STAMA")),))
    path = build_form_pdf(record, pdf_dir / "kerned.pdf", layout=layout)
    assert "SARA TOGA INVE STAMA" in plain_text(path)  # PDFium made spaces of the gaps
    parsed = parse_pdf(path, None, companies)
    assert parsed.holder_name == "Saratoga Investama"
    assert parsed.provenance["holder_name"] == {"page": 1, "method": "text",
                                                "text": "SARATOGA INVESTAMA"}


def test_a_header_repeated_on_the_next_page_is_not_glued_onto_a_purpose(
        companies: dict[str, dict[str, Any]], pdf_dir: Path) -> None:
    rows = (row(purpose="Divestasi"), row(amount=2_000, purpose="divestment"),
            row(amount=3_000, purpose="Divestasi tahap dua"))
    record = form(rows)
    path = build_form_pdf(record, pdf_dir / "repeated.pdf", layout=FormLayout(
        rows_per_page=2, split_row=True, repeated_header="en", english_page_numbers=True))
    text = plain_text(path)
    assert "Purpose of" in text and "Transaction" in text and "Page 1 of 2" in text
    parsed = parse_pdf(path, None, companies)
    same_form(parsed, record)
    assert [r.purpose for r in parsed.rows] == ["Divestasi", "divestment", "Divestasi tahap dua"]
    assert parsed.provenance["rows[1].purpose"] == {"page": 1, "method": "text",
                                                    "text": "divestment"}


def test_a_row_cut_by_the_page_break_keeps_each_cell_whole(
        companies: dict[str, dict[str, Any]], pdf_dir: Path) -> None:
    long_purpose = "Divestasi untuk memperluas basis kepemilikan saham publik sesuai ketentuan"
    record = form((row(amount=5_000, purpose=long_purpose, day="2026-05-04"), row()))
    path = build_form_pdf(record, pdf_dir / "cut.pdf", layout=FormLayout(
        rows_per_page=1, split_row=True))
    first_page = plain_text(path).split("Halaman 1 dari 2")[0]
    assert "04 -" in first_page and "Mei -" not in first_page  # the date cut after its day
    parsed = parse_pdf(path, None, companies)
    assert parsed.document["pages"] == 2
    same_form(parsed, record)
    assert parsed.provenance["rows[0].date"] == {"page": 1, "method": "text",
                                                 "text": "04 - Mei - 2026"}


def test_a_hyphen_pdfium_takes_for_a_line_break_hyphen_stays_a_hyphen(
        examples: dict[str, ParsedForm], companies: dict[str, dict[str, Any]],
        pdf_dir: Path) -> None:
    layout = FormLayout(date_style="inline", kerning=0.1, shuffle=True, seed=0,
                        pieces=(("24-Apr-2026", ("24-Apr-", "2026")),))
    path = build_form_pdf(examples["SRTG.JK"], pdf_dir / "hyphen.pdf", layout=layout)
    assert "\ufffe" in plain_text(path)  # PDFium's mark for a word hyphenated at a line end
    parsed = parse_pdf(path, None, companies)
    assert parsed.rows[0].date == "2026-04-24"
    assert parsed.provenance["rows[0].date"]["text"] == "24-Apr-2026"
