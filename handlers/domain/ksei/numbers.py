"""Numbers and dates as the KSEI form prints them, read exactly and written back the same way.

Indonesian numbers use `.` for thousands and `,` for decimals (`4.289.610.000`, `1.770,00`,
`31,623 %`). Share counts must be whole; prices and percentages keep every digit printed, so
they come back as `Decimal`. Dates are `24-Apr-2026`, `24 - Apr - 2026` or `24 April 2026` with
Indonesian or English month names. Anything else raises `ValueError` with the offending text:
the old parsers truncated prices and turned an unknown month into January, and we never guess.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

# Groups of three after the first group are mandatory: "1.77" is not a thousands number, and
# refusing it catches an English-formatted value ("1,770.00") instead of misreading it.
_NUMBER = re.compile(r"^(?P<int>\d{1,3}(?:\.\d{3})*|\d+)(?:,(?P<frac>\d+))?$")
_PERCENT_SIGN = re.compile(r"\s*%$")
_GAP_IN_NUMBER = re.compile(r"(?<=[\d.,])\s+(?=[\d.,])")
_DATE = re.compile(
    r"^(?P<day>\d{1,2})[\s\-./]+(?P<month>[A-Za-z]+|\d{1,2})\.?[\s\-./]+(?P<year>\d{4})$")

MONTHS: dict[str, int] = {
    "jan": 1, "januari": 1, "january": 1,
    "feb": 2, "februari": 2, "february": 2, "peb": 2, "pebruari": 2,
    "mar": 3, "maret": 3, "march": 3,
    "apr": 4, "april": 4,
    "mei": 5, "may": 5,
    "jun": 6, "juni": 6, "june": 6,
    "jul": 7, "juli": 7, "july": 7,
    "agu": 8, "agt": 8, "agus": 8, "agustus": 8, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9,
    "okt": 10, "oktober": 10, "oct": 10, "october": 10,
    "nov": 11, "nopember": 11, "november": 11,
    "des": 12, "desember": 12, "dec": 12, "december": 12,
}
MONTH_ABBR_ID = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov",
                 "Des")
MONTH_ABBR_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                 "Dec")


def parse_decimal(text: str) -> Decimal:
    """`"1.770,00"` -> `Decimal("1770.00")`: the digits printed, nothing added or lost."""
    match = _NUMBER.match(text.strip())
    if match is None:
        raise ValueError(f"not an Indonesian number: {text!r}")
    digits = match["int"].replace(".", "")
    return Decimal(f"{digits}.{match['frac']}" if match["frac"] else digits)


def parse_shares(text: str) -> int:
    """A share count: `"920.000.000,00"` -> 920000000; a non-zero fraction is an error."""
    value = parse_decimal(text)
    if value != value.to_integral_value():
        raise ValueError(f"a share count cannot have a fraction: {text!r}")
    return int(value)


def parse_percent(text: str) -> Decimal:
    """`"31,623 %"` -> `Decimal("31.623")`; the sign is optional."""
    return parse_decimal(_PERCENT_SIGN.sub("", text.strip()))


def is_number(text: str) -> bool:
    return _NUMBER.match(text.strip()) is not None


def parse_date(text: str) -> date:
    """`"24 - Apr - 2026"`, `"24-Mei-2026"`, `"24 August 2026"`, `"24/04/2026"` -> a date."""
    match = _DATE.match(" ".join(text.split()))
    if match is None:
        raise ValueError(f"not a date: {text!r}")
    name = match["month"]
    month = int(name) if name.isdigit() else MONTHS.get(name.lower())
    if month is None:
        raise ValueError(f"unknown month name {match['month']!r} in {text!r}")
    try:
        return date(int(match["year"]), month, int(match["day"]))
    except ValueError as error:
        raise ValueError(f"impossible date {text!r}: {error}") from None


def format_decimal(value: Decimal | int) -> str:
    """The inverse of `parse_decimal`: `Decimal("1770.00")` -> `"1.770,00"`."""
    sign, digits, exponent = Decimal(value).as_tuple()
    if sign or not isinstance(exponent, int):
        raise ValueError(f"cannot print {value!r} as a form number")
    text = "".join(map(str, digits)).rjust(max(1, -exponent + 1), "0")
    whole, frac = (text[:exponent], text[exponent:]) if exponent < 0 else (text + "0" * exponent,
                                                                           "")
    grouped = f"{int(whole):,}".replace(",", ".")
    return f"{grouped},{frac}" if frac else grouped


def format_date(day: date, *, english: bool = False, separator: str = "-") -> str:
    """`date(2026, 5, 4)` -> `"04-Mei-2026"` (or `"04-May-2026"` with `english`)."""
    months = MONTH_ABBR_EN if english else MONTH_ABBR_ID
    return separator.join((f"{day.day:02d}", months[day.month - 1], str(day.year)))


def compact_number(text: str) -> str:
    """A number drawn in pieces the reader kept apart (`4.289. 610.000`) put back together;
    the space before a percent sign and any other text stay as printed."""
    return _GAP_IN_NUMBER.sub("", " ".join(text.split()))
