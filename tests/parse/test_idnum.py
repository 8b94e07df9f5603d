"""Indonesian numbers and dates: exact, and refused rather than guessed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.domain.ksei.numbers import (
    MONTH_ABBR_EN,
    MONTH_ABBR_ID,
    format_decimal,
    parse_date,
    parse_decimal,
    parse_percent,
    parse_shares,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("4.289.610.000", Decimal("4289610000")),
    ("1.770,00", Decimal("1770.00")),
    ("12.344,50", Decimal("12344.50")),
    ("0,05", Decimal("0.05")),
    ("920000000", Decimal("920000000")),
])
def test_reads_indonesian_numbers_with_every_printed_digit(text: str, expected: Decimal) -> None:
    value = parse_decimal(text)
    assert value == expected
    assert str(value) == str(expected)


@pytest.mark.parametrize("text", ["1,770.00", "1.77", "12.3456", "", "abc", "1.770,", "-5",
                                  "1 770"])
def test_refuses_what_is_not_an_indonesian_number(text: str) -> None:
    with pytest.raises(ValueError, match="not an Indonesian number"):
        parse_decimal(text)


def test_share_counts_are_whole() -> None:
    assert parse_shares("920.000.000,00") == 920_000_000
    with pytest.raises(ValueError, match="fraction"):
        parse_shares("1.000,50")


def test_percentages_keep_their_printed_precision() -> None:
    assert str(parse_percent("31,623 %")) == "31.623"
    assert str(parse_percent("0,00%")) == "0.00"


@pytest.mark.parametrize(("text", "expected"), [
    ("24-Apr-2026", date(2026, 4, 24)),
    ("24 - Apr - 2026", date(2026, 4, 24)),
    ("2 Mei 2026", date(2026, 5, 2)),
    ("17-Agu-2025", date(2025, 8, 17)),
    ("1 - Okt - 2025", date(2025, 10, 1)),
    ("31-Des-2025", date(2025, 12, 31)),
    ("31 December 2025", date(2025, 12, 31)),
    ("24/04/2026", date(2026, 4, 24)),
])
def test_reads_dates_in_indonesian_and_english(text: str, expected: date) -> None:
    assert parse_date(text) == expected


def test_an_unknown_month_is_an_error_not_january() -> None:
    with pytest.raises(ValueError, match="unknown month name 'Xyz'"):
        parse_date("24-Xyz-2026")


def test_an_impossible_day_is_an_error() -> None:
    with pytest.raises(ValueError, match="impossible date"):
        parse_date("31-Feb-2026")


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**15))
def test_any_share_count_reads_back(count: int) -> None:
    printed = f"{count:,}".replace(",", ".")
    assert parse_shares(printed) == count
    assert parse_shares(printed + ",00") == count


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False,
                   allow_infinity=False) | st.decimals(min_value=0, max_value=10**9, places=2,
                                                       allow_nan=False, allow_infinity=False))
def test_any_decimal_reads_back_with_the_same_digits(value: Decimal) -> None:
    printed = format_decimal(value)
    assert "," not in printed.split(",")[0]  # one decimal comma at most
    assert str(parse_decimal(printed)) == str(value)


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)),
       st.sampled_from([MONTH_ABBR_ID, MONTH_ABBR_EN]),
       st.sampled_from(["{d}-{m}-{y}", "{d} - {m} - {y}", "{d} {m} {y}", "{d} -\n{m} -\n{y}"]))
def test_any_date_reads_back_in_any_printed_style(day: date, months: tuple[str, ...],
                                                  style: str) -> None:
    printed = style.format(d=day.day, m=months[day.month - 1], y=day.year)
    assert parse_date(printed.replace("\n", " ")) == day
