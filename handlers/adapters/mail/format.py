"""How the email writes numbers, money, percentages and times, one convention throughout.

Amounts are grouped with commas and money is in rupiah as `IDR 1,628,400,000,000` (the email
is in English, like the exchange's announcements it links to); prices keep their decimals only
when they have any; percentages keep up to three decimals; every time is WIB. A value that is
missing or unreadable is a dash, never a raw number or `None`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from handlers.domain.windows import to_wib

DASH = "-"


def decimal_of(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).replace(",", ""))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def grouped(value: Any) -> str:
    """`920000000` -> `920,000,000`; `1770.50` -> `1,770.50`; decimals only when there are any."""
    number = decimal_of(value)
    if number is None:
        return DASH
    if number == number.to_integral_value():
        return f"{number:,.0f}"
    return f"{number:,.2f}"


def idr(value: Any) -> str:
    text = grouped(value)
    return DASH if text == DASH else f"IDR {text}"


def percent(value: Any) -> str:
    number = decimal_of(value)
    if number is None:
        return DASH
    text = f"{number:.3f}".rstrip("0")
    return f"{text}0%" if text.endswith(".") else f"{text}%"


def holding(shares: Any, share_percent: Any) -> str:
    """`4,289,610,000 (31.623%)`; the percentage only when the form gave one."""
    text = grouped(shares)
    pct = percent(share_percent)
    return text if pct == DASH else f"{text} ({pct})"


def wib(instant: datetime | None) -> str:
    return DASH if instant is None else f"{to_wib(instant):%Y-%m-%d %H:%M} WIB"


def size(num_bytes: int) -> str:
    """A file size as people read it: `812 bytes`, `3.4 MB`."""
    if num_bytes < 1000:
        return f"{num_bytes} bytes"
    value = num_bytes / 1000
    for unit in ("KB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"
