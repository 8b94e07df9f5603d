"""The form reader on pages of runs: words from kerned pieces, lines whatever the content
order, labels in either language, values beside or below them, the table as a grid."""

from __future__ import annotations

import pytest

from daemon.errors import RejectedInput
from handlers.domain.ksei.form import read_form, title_case
from handlers.domain.ksei.layout import Method
from handlers.domain.ksei.table import classify
from handlers.domain.ksei.words import lines_of
from tests.parse.pages import kerned, page

COLON, VALUE = 200.0, 208.0
X = {"type": 40.0, "control": 100.0, "ownership": 150.0, "amount": 200.0, "class": 270.0,
     "price": 320.0, "date": 370.0, "purpose": 430.0}
HEADER = [[(X["type"], "Jenis"), (X["control"], "Pengendali"), (X["ownership"], "Status"),
           (X["amount"], "Jumlah"), (X["class"], "Klasifikasi"), (X["price"], "Harga"),
           (X["date"], "Tanggal"), (X["purpose"], "Tujuan")],
          [(X["type"], "Transaksi"), (X["ownership"], "Kepemilikan"), (X["amount"], "Saham"),
           (X["class"], "Saham"), (X["price"], "Transaksi"), (X["date"], "Transaksi"),
           (X["purpose"], "Transaksi")]]
ROW = [[(X["type"], "Penjualan"), (X["control"], "Tidak"), (X["ownership"], "Langsung"),
        (X["amount"], "920.000.000,00"), (X["class"], "Saham"), (X["price"], "1.770,00"),
        (X["date"], "24 -"), (X["purpose"], "Divestasi")],
       [(X["class"], "Biasa"), (X["date"], "Apr -")], [(X["date"], "2026")]]
FOOTER = [[(40.0, "Saya bertanggung jawab penuh atas kebenaran informasi")]]


def field(label: str, value: str) -> list[tuple[float, str]]:
    return [(40.0, label), (COLON, ":"), (VALUE, value)]


FIELDS = [field("Nama (sesuai SID)", "UNITRAS PERTAMA"),
          field("Nama Perusahaan Tbk", "SRTG - Saratoga Investama"), [(VALUE, "Sedaya Tbk")],
          field("Jumlah Saham Sebelum Transaksi", "4.289.610.000"),
          field("Jumlah Saham Setelah Transaksi", "3.369.610.000"),
          field("Hak Suara Sebelum Transaksi", "31,62 %"),
          field("Hak Suara Setelah Transaksi", "24,841%")]


def test_reads_a_form_laid_out_as_the_appendix_describes() -> None:
    fields = read_form([page([*FIELDS, [], *HEADER, *ROW, [], *FOOTER])])
    assert (fields.ticker, fields.company_name) == ("SRTG", "Saratoga Investama Sedaya Tbk")
    assert fields.holder_name == "Unitras Pertama"
    assert (fields.holding_before, fields.holding_after) == (4_289_610_000, 3_369_610_000)
    assert (str(fields.percentage_before), str(fields.percentage_after)) == ("31.62", "24.841")
    (only,) = fields.rows
    assert (only.type, only.ownership, only.amount, str(only.price), only.date, only.purpose,
            only.share_class) == ("sell", "Langsung", 920_000_000, "1770.00", "2026-04-24",
                                  "Divestasi", "Saham Biasa")
    assert fields.provenance["holding_before"] == {"page": 1, "method": "text",
                                                   "text": "4.289.610.000"}
    assert fields.provenance["rows[0].date"]["text"] == "24 - Apr - 2026"


def test_the_content_order_says_nothing() -> None:
    rows = [*FIELDS, [], *HEADER, *ROW, [], *FOOTER]
    assert read_form([page(rows, shuffle_seed=7)]) == read_form([page(rows)])


def test_kerned_pieces_make_one_word_and_a_space_makes_two() -> None:
    name = kerned(VALUE, ["PT ", "SINAR", " MAS"], 0.05, 0)
    number = kerned(VALUE, ["4.", "289.", "610.", "000"], 0.19, 0)
    wide = kerned(VALUE, ["Sara", "toga"], 0.19, 0)  # PDFium makes a space of this one
    (first,), (second,), (third,) = (lines_of(page([[runs]])) for runs in (name, number, wide))
    assert [word.text for word in first.words] == ["PT", "SINAR", "MAS"]
    assert [word.text for word in second.words] == ["4.289.610.000"]
    assert [word.text for word in third.words] == ["Saratoga"]


def test_english_labels_between_the_label_and_its_value() -> None:
    rows = [[(40.0, "Nama (sesuai SID)")], [(40.0, "Name (as per SID)"), (COLON, ":"),
                                            (VALUE, "HAKIMSON GROWTH")],
            [(40.0, "Nama Perusahaan Tbk")], [(40.0, "Name of Public Company"), (COLON, ":"),
                                              (VALUE, "HAKI - Hakimson Tbk")],
            [(40.0, "Jumlah Saham Sebelum Transaksi")],
            [(40.0, "Number of shares before the transaction"), (COLON, ":"),
             (VALUE, "84.915.700")],
            field("Jumlah Saham Setelah Transaksi", "84.000.000"),
            [(40.0, "Hak Suara Sebelum Transaksi :")], [(50.0, "5,00%")],
            field("Hak Suara Setelah Transaksi", "4,95 %"), [], *HEADER, *ROW, [], *FOOTER]
    fields = read_form([page(rows)])
    assert (fields.holder_name, fields.ticker, fields.holding_before) == \
        ("Hakimson Growth", "HAKI", 84_915_700)
    assert str(fields.percentage_before) == "5.00"


def test_a_statement_that_starts_like_a_label_is_not_one() -> None:
    statement = [(40.0, "Nama (sesuai SID) adalah nama pemegang saham menurut KSEI")]
    fields = read_form([page([statement, *FIELDS, [], *HEADER, *ROW, [], *FOOTER])])
    assert fields.holder_name == "Unitras Pertama"


def test_optional_fields_and_fields_not_shown() -> None:
    extra = [field("Jabatan", "Dewan Komisaris"), field("Alamat", "Tidak ditampilkan"),
             field("Pemegang Saham Pengendali", "Tidak"),
             field("Anggota Direksi/Dewan Komisaris", "Tidak ditampilkan"),
             field("Classification of Shareholder", "Perorangan")]
    fields = read_form([page([*FIELDS[:1], *extra, *FIELDS[1:], [], *HEADER, *ROW, [],
                              *FOOTER])])
    assert (fields.position, fields.controlling_shareholder, fields.board_member,
            fields.holder_category) == ("Dewan Komisaris", False, None, "Perorangan")
    assert fields.holder_name == "Unitras Pertama"


def test_ocr_words_carry_their_confidence_into_provenance() -> None:
    fields = read_form([page([*FIELDS, [], *HEADER, *ROW, [], *FOOTER], method=Method.OCR,
                             confidence=87.25)])
    assert fields.provenance["holder_name"] == {"page": 1, "method": "ocr", "confidence": 87.2,
                                                "text": "UNITRAS PERTAMA"}


def test_a_header_repeated_on_the_next_page_is_not_part_of_the_row() -> None:
    head, tail = [row[:1] + row[1:] for row in ROW[:1]], ROW[1:]
    english = [[(X["type"], "Type of"), (X["control"], "Controlling"),
                (X["ownership"], "Ownership"), (X["amount"], "Number of"),
                (X["class"], "Share"), (X["price"], "Transaction"),
                (X["date"], "Transaction"), (X["purpose"], "Purpose of")],
               [(X["type"], "Transaction"), (X["ownership"], "Status"),
                (X["amount"], "Shares"), (X["class"], "Class"), (X["price"], "Price"),
                (X["date"], "Date"), (X["purpose"], "Transaction")]]
    first = page([*FIELDS, [], *HEADER, *head, [], [(40.0, "Halaman 1 dari 2")]])
    second = page([*english, *tail, [], *FOOTER], number=2)
    (only,) = read_form([first, second]).rows
    assert (only.purpose, only.date, only.share_class) == ("Divestasi", "2026-04-24",
                                                           "Saham Biasa")


def test_a_missing_holder_label_is_named() -> None:
    with pytest.raises(RejectedInput) as caught:
        read_form([page([*FIELDS[1:], [], *HEADER, *ROW, [], *FOOTER])])
    assert (caught.value.code, caught.value.details) == ("label_missing",
                                                         {"label": "Nama (sesuai SID)"})


def test_no_header_is_table_not_found() -> None:
    with pytest.raises(RejectedInput) as caught:
        read_form([page([*FIELDS, [], *ROW])])
    assert caught.value.code == "table_not_found"


@pytest.mark.parametrize(("purpose", "expected"), [
    ("Investasi", "buy"), ("program MESOP 2025", "buy"), ("esop", "buy"),
    ("Divestasi", "sell"), ("penjualan kembali", "sell"),
    ("reinvestasi dividen", "others"),  # whole words only: not "investasi"
    ("Hibah", "others"), ("", "others"),
])
def test_lainnya_takes_its_direction_from_the_purpose(purpose: str, expected: str) -> None:
    assert classify("Lainnya", purpose) == expected


def test_printed_types_win_over_the_purpose() -> None:
    assert classify("Pembelian", "Divestasi") == "buy"
    assert classify("Pelaksanaan (exercise)", "Investasi") == "exercise"


@pytest.mark.parametrize(("printed", "expected"), [
    ("PT UNITRAS PERTAMA", "PT Unitras Pertama"),
    ("OLIVER KHAW KAR HENG", "Oliver Khaw Kar Heng"),
    ("PERUSAHAAN PERSEROAN (PERSERO) PT TELKOM TBK",
     "Perusahaan Perseroan (Persero) PT Telkom Tbk"),
])
def test_holder_names_are_title_cased_keeping_pt(printed: str, expected: str) -> None:
    assert title_case(printed) == expected
