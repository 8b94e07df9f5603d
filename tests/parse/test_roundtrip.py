"""A form rendered from a record parses back to the same record, in every layout variation:
every drawing of a record (the ways real forms are drawn, combined at random) reads the same."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.domain.ksei.records import ParsedForm, TransactionRow
from handlers.domain.ksei.table import classify
from handlers.stages.parse import parse_pdf
from tests.parse.forms import MIXED_ROWS, form, row, same_form
from tests.pdfform import FormLayout, build_form_pdf

LAYOUTS = {
    "plain": FormLayout(),
    "next-line-inline-english": FormLayout(value_next_line=True, date_style="inline",
                                           english_months=True, amount_decimals=False),
    "words-dates-ya": FormLayout(date_style="words", control="Ya", page_numbers=False),
    "two-pages": FormLayout(rows_per_page=3),
    "row-split-by-page": FormLayout(rows_per_page=2, split_row=True),
}


def round_trip(expected: ParsedForm, path: Path, layout: FormLayout,
               companies: dict[str, dict[str, Any]]) -> ParsedForm:
    parsed = parse_pdf(build_form_pdf(expected, path, layout=layout), None, companies)
    same_form(parsed, expected)
    return parsed


@pytest.mark.parametrize("symbol", ["SRTG.JK", "BYAN.JK"])
@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_real_records_round_trip(symbol: str, layout: FormLayout, examples: dict[str, ParsedForm],
                                 companies: dict[str, dict[str, Any]], pdf_dir: Path) -> None:
    parsed = round_trip(examples[symbol], pdf_dir / "form.pdf", layout, companies)
    assert parsed.flags == ()


def test_srtg_reads_as_the_real_form_printed_it(examples: dict[str, ParsedForm],
                                                companies: dict[str, dict[str, Any]],
                                                pdf_dir: Path) -> None:
    path = build_form_pdf(examples["SRTG.JK"], pdf_dir / "LK-24042026-7431-00.pdf-0.pdf")
    parsed = parse_pdf(path, None, companies)
    assert (parsed.symbol, parsed.holder_name) == ("SRTG.JK", "Unitras Pertama")
    assert (parsed.holding_before, parsed.holding_after) == (4_289_610_000, 3_369_610_000)
    assert str(parsed.percentage_before) == "31.623"
    (only,) = parsed.rows
    assert (only.type, only.amount, str(only.price), only.date) == \
        ("sell", 920_000_000, "1770.00", "2026-04-24")
    assert parsed.document["pages"] == 1


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_mixed_rows_decimal_prices_and_other_share_classes(
        layout: FormLayout, companies: dict[str, dict[str, Any]], pdf_dir: Path) -> None:
    round_trip(form(MIXED_ROWS), pdf_dir / "mixed.pdf", layout, companies)


def test_a_long_table_over_three_pages_keeps_every_row(companies: dict[str, dict[str, Any]],
                                                       pdf_dir: Path) -> None:
    rows = tuple(row(amount=1_000 + index, day=f"2026-03-{1 + index % 28:02d}")
                 for index in range(40))
    parsed = round_trip(form(rows), pdf_dir / "long.pdf",
                        FormLayout(rows_per_page=15, split_row=True), companies)
    assert parsed.document["pages"] >= 3
    assert [r.amount for r in parsed.rows] == list(range(1_000, 1_040))


@pytest.mark.parametrize("word", ["kepemilikan", "saham", "transaksi", "Status"])
def test_a_purpose_cut_by_a_page_break_ends_in_a_word_of_the_header_it_follows(
        companies: dict[str, dict[str, Any]], pdf_dir: Path, word: str) -> None:
    """The cut row's rest is the first line under the next page's repeated header, and is a
    header word: it belongs to the purpose, not to the header."""
    rows = (row("buy", "Pembelian", amount=1, price=None, day="2000-01-01",
                purpose=f"Investasi Investasi Investasi Investasi {word}"),
            row("buy", "Pembelian", amount=1, price=None, day="2000-01-01", purpose="Investasi"))
    layout = FormLayout(font="Times-Roman", size=7.0, rows_per_page=1, split_row=True,
                        percent_space=False, date_style="inline", amount_decimals=False,
                        control="Ya")
    drawn = form(rows, symbol="SRTG.JK", company_name="Oliver Tbk", holder="Oliver",
                 before=80_000_000_000, pct_before="0.000", pct_after="0.000")
    parsed = round_trip(drawn, pdf_dir / "cut.pdf", layout, companies)
    assert parsed.rows[0].purpose.endswith(f" {word}")


def test_an_amount_drawn_wider_than_its_cell_is_read_apart_from_the_share_class(
        companies: dict[str, dict[str, Any]], pdf_dir: Path) -> None:
    """Ten billion shares with decimals, widely spaced at 9 pt, reach into the next cell with
    no gap: "10.000.000.000,00Saham"."""
    rows = tuple(row("buy", "Pembelian", amount=amount, price=None, day="2000-01-01",
                     purpose="Investasi") for amount in (1, 1, 10**10))
    layout = FormLayout(size=9.0, kerning=0.1, percent_space=False, control="Ya")
    drawn = form(rows, symbol="SRTG.JK", company_name="Oliver Tbk", holder="Oliver",
                 before=80_000_000_000, pct_before="0.000", pct_after="0.000")
    parsed = round_trip(drawn, pdf_dir / "wide.pdf", layout, companies)
    assert (parsed.rows[2].amount, parsed.rows[2].share_class) == (10**10, "Saham Biasa")


def test_a_correction_is_flagged_not_typed(companies: dict[str, dict[str, Any]],
                                           pdf_dir: Path) -> None:
    rows = (row("sell", "Koreksi atas laporan", purpose="Divestasi"),)
    parsed = round_trip(form(rows, correction=True), pdf_dir / "fix.pdf", FormLayout(),
                        companies)
    assert parsed.correction is True
    assert parsed.rows[0].type == "sell"


def test_equal_holdings_still_give_a_record_flagged_for_review(
        companies: dict[str, dict[str, Any]], pdf_dir: Path) -> None:
    unchanged = form((row("others", "Lainnya", purpose="Gadai saham"),), after=1_000_000)
    parsed = round_trip(unchanged, pdf_dir / "same.pdf", FormLayout(), companies)
    assert parsed.flags == ("holdings_unchanged",)


# -- generated forms ----------------------------------------------------------------------

WORDS = st.sampled_from(["Investasi", "divestasi", "untuk", "memperluas", "basis",
                         "kepemilikan", "saham", "penjualan", "Pembelian", "hibah", "mesop",
                         "restrukturisasi", "jangka", "panjang", "reinvestasi"])
NAME_WORDS = st.sampled_from(["Oliver", "Khaw", "Kar", "Heng", "Unitras", "Pertama", "Dewi",
                              "Sari", "Investama", "Global", "Holdings"])
RAW_TYPES = st.sampled_from(["Pembelian", "Penjualan", "Lainnya", "Pelaksanaan (exercise)"])


@st.composite
def rows_strategy(draw: st.DrawFn) -> TransactionRow:
    raw_type = draw(RAW_TYPES)
    purpose = " ".join(draw(st.lists(WORDS, min_size=1, max_size=12)))
    price = draw(st.none() | st.decimals(min_value=1, max_value=99_999, places=2,
                                         allow_nan=False, allow_infinity=False)
                 | st.integers(min_value=1, max_value=99_999).map(Decimal))
    return row(classify(raw_type, purpose), raw_type,
               amount=draw(st.integers(min_value=1, max_value=10**10)), price=price,
               day=draw(st.dates(min_value=date(1990, 1, 1),
                                 max_value=date(2099, 12, 31))).isoformat(), purpose=purpose,
               share_class=draw(st.sampled_from(["Saham Biasa", "Saham Preferen",
                                                 "Waran Seri II"])),
               ownership=draw(st.sampled_from(["Langsung", "Tidak Langsung"])))


@st.composite
def forms_strategy(draw: st.DrawFn) -> ParsedForm:
    holder = " ".join(draw(st.lists(NAME_WORDS, min_size=1, max_size=6)))
    company = " ".join(draw(st.lists(NAME_WORDS, min_size=1, max_size=5))) + " Tbk"
    percent = st.decimals(min_value=0, max_value=100, places=3, allow_nan=False,
                          allow_infinity=False)
    drawn = form(tuple(draw(st.lists(rows_strategy(), min_size=1, max_size=8))),
                 symbol=draw(st.sampled_from(["SRTG.JK", "BYAN.JK", "TOWR.JK", "UNVR.JK"])),
                 company_name=company, holder=draw(st.sampled_from(["", "PT "])) + holder,
                 # Above 8 sales of the largest amount: a holding never goes negative.
                 before=draw(st.integers(min_value=8 * 10**10, max_value=10**12)),
                 pct_before=str(draw(percent)), pct_after=str(draw(percent)))
    return dataclasses.replace(
        drawn, position=draw(st.none() | st.sampled_from(["Direktur Utama", "Komisaris",
                                                          "Dewan Komisaris Independen"])),
        board_member=draw(st.none() | st.sampled_from(["Direksi", "Dewan Komisaris"])),
        controlling_shareholder=draw(st.none() | st.booleans()),
        holder_category=draw(st.none() | st.sampled_from(["Perorangan", "Korporasi"])))


LAYOUT_STRATEGY = st.builds(
    FormLayout, value_next_line=st.booleans(), one_line=st.booleans(),
    bilingual=st.sampled_from(["", "below", "between"]), statements=st.booleans(),
    value_drop=st.sampled_from([0.0, 1.5, 3.5]), percent_space=st.booleans(),
    personal=st.booleans(), font=st.sampled_from(["Helvetica", "Times-Roman"]),
    size=st.sampled_from([7.0, 8.0, 9.0]), kerning=st.sampled_from([0.0, 0.1, 0.19]),
    shuffle=st.booleans(), seed=st.integers(min_value=0, max_value=1000),
    date_style=st.sampled_from(["split", "inline", "words"]), english_months=st.booleans(),
    rows_per_page=st.none() | st.integers(min_value=1, max_value=4), split_row=st.booleans(),
    repeated_header=st.sampled_from(["id", "en"]), english_page_numbers=st.booleans(),
    amount_decimals=st.booleans(), control=st.sampled_from(["Ya", "Tidak"]))


def test_any_form_in_any_layout_round_trips(companies: dict[str, dict[str, Any]],
                                            pdf_dir: Path) -> None:
    @settings(max_examples=30, deadline=None)
    @given(expected=forms_strategy(), layout=LAYOUT_STRATEGY)
    def check(expected: ParsedForm, layout: FormLayout) -> None:
        round_trip(expected, pdf_dir / "generated.pdf", layout, companies)

    check()


def test_a_table_too_long_for_one_page_breaks_by_itself(companies: dict[str, dict[str, Any]],
                                                        pdf_dir: Path) -> None:
    rows = tuple(row(amount=1 + index, purpose=" ".join(["Divestasi"] * 12)) for index in range(30))
    parsed = round_trip(form(rows), pdf_dir / "auto.pdf", FormLayout(), companies)
    assert parsed.document["pages"] >= 3


def test_every_field_of_a_row_is_in_the_record_and_back() -> None:
    written = TransactionRow("sell", "Penjualan", "Saham Biasa", 920_000_000, Decimal("1770.00"),
                             "2026-04-24", "Divestasi", "Langsung")
    record = written.to_json()
    assert list(record) == [f.name for f in dataclasses.fields(TransactionRow)]
    assert record["price"] == "1770.00"
    assert TransactionRow.from_json(record) == written
    unpriced = dataclasses.replace(written, price=None)
    assert TransactionRow.from_json(unpriced.to_json()) == unpriced
