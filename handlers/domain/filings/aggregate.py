"""Aggregation of a form's transaction rows: net shares, value, weighted price and type, and the
split of a multi-type form into one leg per type with chained intermediate holdings.

All arithmetic is exact (`int` shares, `Decimal` prices). The combined view of a form follows the
original's rule (net shares = bought − sold, value = |bought value − sold value|, price =
|net value / net shares| to 3 decimals, type by the sign of net shares). A form whose rows have
more than one type is split into legs ordered so the running holding never goes negative; the
holdings between legs are chained and their percentages derived from the implied share count.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from handlers.domain.ksei.records import BUY, SELL, ParsedForm, TransactionRow

OTHERS = "others"
KIND_ORDER = (BUY, SELL, OTHERS)
PRICE_QUANTUM = Decimal("0.001")
PERCENT_QUANTUM = Decimal("0.001")
ZERO = Decimal(0)


@dataclass(frozen=True)
class Totals:
    type: str  # buy | sell | others
    net_shares: int  # signed: bought − sold (others: their total)
    amount: int  # shares the filing reports as transacted (absolute)
    value: Decimal  # absolute, exact
    price: Decimal  # volume-weighted, 3 decimals


@dataclass(frozen=True)
class Leg:
    """One filing's worth of a form: the rows of one type and the holdings around them."""

    type: str
    rows: tuple[TransactionRow, ...]
    delta: int  # signed change of the holding this leg explains
    holding_before: int
    holding_after: int
    percentage_before: Decimal
    percentage_after: Decimal


def kind_of(row: TransactionRow) -> str:
    """Buy and sell keep their direction; exercise and other rows are `others` (as in v1)."""
    return row.type if row.type in (BUY, SELL) else OTHERS


def row_value(row: TransactionRow) -> Decimal:
    return (row.price or ZERO) * row.amount


def aggregate(rows: Sequence[TransactionRow]) -> Totals:
    """The combined figures of `rows` by the original's rule."""
    shares = {kind: sum(r.amount for r in rows if kind_of(r) == kind) for kind in KIND_ORDER}
    values = {kind: sum((row_value(r) for r in rows if kind_of(r) == kind), ZERO)
              for kind in KIND_ORDER}
    if shares[BUY] == 0 and shares[SELL] == 0:
        # Only other rows: their own weighted price, no direction.
        return Totals(OTHERS, shares[OTHERS], shares[OTHERS], values[OTHERS],
                      _ratio(values[OTHERS], shares[OTHERS]))
    net_shares = shares[BUY] - shares[SELL]
    net_value = values[BUY] - values[SELL]
    kind = BUY if net_shares > 0 else SELL if net_shares < 0 else OTHERS
    return Totals(kind, net_shares, abs(net_shares), abs(net_value), _ratio(net_value, net_shares))


def _ratio(value: Decimal, shares: int) -> Decimal:
    if shares == 0:
        return ZERO.quantize(PRICE_QUANTUM)
    return abs(value / shares).quantize(PRICE_QUANTUM, rounding=ROUND_HALF_UP)


def signed_deltas(form: ParsedForm) -> dict[str, int]:
    """Each type's signed share change; `others` is whatever buys and sells leave unexplained."""
    kinds = {kind_of(row) for row in form.rows}
    deltas = {}
    if BUY in kinds:
        deltas[BUY] = sum(r.amount for r in form.rows if kind_of(r) == BUY)
    if SELL in kinds:
        deltas[SELL] = -sum(r.amount for r in form.rows if kind_of(r) == SELL)
    residual = form.holding_after - form.holding_before - sum(deltas.values())
    if OTHERS in kinds or residual:
        deltas[OTHERS] = residual
    return deltas


def explains_holdings(form: ParsedForm) -> bool:
    """True when the rows can account for the change from holding before to after."""
    deltas = signed_deltas(form)
    others_amount = sum(r.amount for r in form.rows if kind_of(r) == OTHERS)
    return abs(deltas.get(OTHERS, 0)) <= others_amount


def split_legs(form: ParsedForm) -> list[Leg]:
    """One leg per type, chained; `[]` when no order explains the holdings.

    A single-type form is one leg with the form's own holdings, consistent or not: whether they
    add up is the validator's question (`holdings_mismatch`), not a reason to drop the form.
    """
    kinds = [k for k in KIND_ORDER if any(kind_of(r) == k for r in form.rows)]
    if len(kinds) == 1:
        return [Leg(kinds[0], form.rows, form.holding_after - form.holding_before,
                    form.holding_before, form.holding_after, form.percentage_before,
                    form.percentage_after)]
    if not kinds or not explains_holdings(form):
        return []
    deltas = signed_deltas(form)
    for order in itertools.permutations(k for k in KIND_ORDER if k in deltas):
        legs = _chain(form, order, deltas)
        if legs:
            return legs
    return []


def _chain(form: ParsedForm, order: Sequence[str], deltas: dict[str, int]) -> list[Leg]:
    total_shares = implied_total_shares(form)
    legs, holding, percentage = [], form.holding_before, form.percentage_before
    for position, kind in enumerate(order):
        after = holding + deltas[kind]
        if after < 0:
            return []
        last = position == len(order) - 1
        pct_after = form.percentage_after if last else _percentage(after, total_shares, percentage)
        rows = tuple(r for r in form.rows if kind_of(r) == kind)
        legs.append(Leg(kind, rows, deltas[kind], holding, after, percentage, pct_after))
        holding, percentage = after, pct_after
    return legs


def implied_total_shares(form: ParsedForm) -> Decimal | None:
    """Shares outstanding implied by a holding and its percentage (before first, then after)."""
    for holding, pct in ((form.holding_before, form.percentage_before),
                         (form.holding_after, form.percentage_after)):
        if holding > 0 and pct > 0:
            return Decimal(holding) / (pct / 100)
    return None


def _percentage(holding: int, total_shares: Decimal | None, fallback: Decimal) -> Decimal:
    if total_shares is None:
        return fallback  # too small to show on the form: keep what it printed
    return (Decimal(holding) / total_shares * 100).quantize(PERCENT_QUANTUM,
                                                            rounding=ROUND_HALF_UP)
