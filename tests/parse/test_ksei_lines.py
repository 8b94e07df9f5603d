"""The form parser on text lines as other extractors and form versions produce them."""

from __future__ import annotations

import pytest

from daemon.errors import RejectedInput
from handlers.domain.ksei.form import parse_form, title_case
from handlers.domain.ksei.table import classify

APPENDIX = """LAPORAN KEPEMILIKAN ATAU SETIAP PERUBAHAN KEPEMILIKAN SAHAM PERUSAHAAN TERBUKA
Nama (sesuai SID) : UNITRAS PERTAMA
Alamat : Jl. Merdeka No. 1
Nama Perusahaan Tbk : SRTG - Saratoga Investama
Sedaya Tbk
Jumlah Saham Sebelum
Transaksi : 4.289.610.000
Jumlah Saham Setelah Transaksi :
3.369.610.000
Hak Suara Sebelum Transaksi : 31,62 %
Hak Suara Setelah Transaksi
:
24,841
%
Jenis Transaksi
Klasifikasi
Saham
Tujuan
Transaksi
Penjualan
Tidak
Tidak Langsung
920.000.000
Saham
Biasa
1.770,00
24 -
Apr -
2026
Divestasi sebagian, bukan
Penjualan
Tidak
Langsung
5
Saham Biasa
-
1-Mei-2026
Koreksi atas laporan
Ya
Langsung
10,00
Saham Biasa
2,5
2 - Agu -
2026
investasi
Saya bertanggung jawab penuh""".splitlines()


def test_reads_the_appendix_sequence_with_its_variations() -> None:
    fields = parse_form(APPENDIX)
    assert (fields.ticker, fields.company_name) == ("SRTG", "Saratoga Investama Sedaya Tbk")
    assert fields.holder_name == "Unitras Pertama"
    assert (fields.holding_before, fields.holding_after) == (4_289_610_000, 3_369_610_000)
    assert (str(fields.percentage_before), str(fields.percentage_after)) == ("31.62", "24.841")
    first, second, third = fields.rows
    assert (first.type, first.ownership, first.amount, first.purpose) == \
        ("sell", "Tidak Langsung", 920_000_000, "Divestasi sebagian, bukan")
    # "Penjualan" after a purpose line opens a row only because a whole row head follows.
    assert (second.type, second.price, second.date) == ("sell", None, "2026-05-01")
    assert (third.type, third.raw_type, str(third.price), third.date) == \
        ("buy", "Koreksi atas laporan", "2.5", "2026-08-02")
    assert fields.correction is True


def test_a_type_word_inside_a_purpose_opens_no_row() -> None:
    head = APPENDIX[:APPENDIX.index("Divestasi sebagian, bukan")]
    lines = [*head, "Divestasi", "Penjualan", "saham", "Saya bertanggung jawab penuh"]
    (only,) = parse_form(lines).rows
    assert only.purpose == "Divestasi Penjualan saham"


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


def test_a_missing_holder_label_is_named() -> None:
    lines = [line for line in APPENDIX if not line.startswith("Nama (sesuai SID)")]
    with pytest.raises(RejectedInput) as caught:
        parse_form(lines)
    assert (caught.value.code, caught.value.details) == ("label_missing",
                                                         {"label": "Nama (sesuai SID)"})
