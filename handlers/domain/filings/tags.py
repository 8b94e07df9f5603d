"""Tags of a filing, by whole-word or whole-phrase matching (holder type: holder_type.py).

The keyword banks are the original's, but a keyword only matches as a whole word or phrase
(`repo` no longer matches "report", `alih` no longer matches inside words). Tag names are
the v1 whitelist spelled correctly (`free-float-compliance`, `mesop`, hyphens throughout);
`takeover` is added when the holding crosses 50 %, and a filing whose holdings do not change
is tagged `pledge` or `holdings-unchanged`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache

TAKEOVER_PCT = Decimal(50)
INVESTMENT, DIVESTMENT = "investment", "divestment"
SHARE_TRANSFER = "share-transfer"

# tag -> keywords found in the purpose (lowercase, matched as whole words or phrases).
TAG_KEYWORDS: dict[str, tuple[str, ...]] = {
    INVESTMENT: ("beli", "pembelian", "buy", "akumulasi", "investasi", "acquisition",
                 "penambahan", "increase", "buyback", "buy back", "investment", "peningkatan",
                 "akuisisi"),
    DIVESTMENT: ("jual", "penjualan", "sell", "divestasi", "divestment", "pengurangan",
                 "reduksi", "disposal"),
    SHARE_TRANSFER: ("transfer", "pemindahan", "konversi", "conversion", "neutral",
                     "tanpa perubahan", "alih", "pengalihan"),
    "inheritance": ("waris", "inheritance", "hibah", "grant", "bequest"),
    "mesop": ("mesop", "msop", "esop", "program opsi saham", "employee stock option"),
    "free-float-compliance": ("free float", "free-float", "freefloat",
                              "pemenuhan porsi publik"),
    "capital-restructuring": ("restrukturisasi", "restructuring", "reorganisasi",
                              "penyelesaian penurunan modal"),
    "repurchase-agreement": ("repo", "transaksi repurchase", "transaksi repo",
                             "repurchase agreement"),
    "placement": ("penempatan saham revo", "penempatan"),
}
PLEDGE, HOLDINGS_UNCHANGED = "pledge", "holdings-unchanged"
PLEDGE_WORDS = ("gadai", "gadai saham", "penggadaian", "pegadaian", "jaminan", "penjaminan",
                "dijaminkan", "agunan", "pledge", "pledged", "collateral")
WHITELIST = frozenset(TAG_KEYWORDS) | {"takeover", PLEDGE, HOLDINGS_UNCHANGED}



@lru_cache(maxsize=64)
def _pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    # Word characters on either side would make it part of a longer word; a phrase's inner
    # spaces match any run of whitespace.
    alternatives = "|".join(r"\s+".join(map(re.escape, p.split())) for p in phrases)
    return re.compile(rf"(?<![\w])(?:{alternatives})(?![\w])", re.IGNORECASE)


def matches_any(text: str, phrases: Iterable[str]) -> bool:
    return bool(_pattern(tuple(phrases)).search(text or ""))


def detect_tags(purpose: str, transaction_type: str, percentage_before: Decimal,
                percentage_after: Decimal) -> list[str]:
    """The sorted tags of a filing (v2's rules with whole-word matching)."""
    tags = {tag for tag, words in TAG_KEYWORDS.items() if matches_any(purpose, words)}
    if not tags:
        tags |= _tag_for_type(transaction_type)
    contradicting = {"buy": DIVESTMENT, "sell": INVESTMENT}.get(transaction_type)
    if INVESTMENT in tags and DIVESTMENT in tags and contradicting:
        tags.discard(contradicting)  # keep the direction the numbers say happened
    if crosses_takeover(percentage_before, percentage_after):
        tags.add("takeover")
    return sorted(tags)


def filing_tags(purpose: str, transaction_type: str, holding_before: int, holding_after: int,
                percentage_before: Decimal, percentage_after: Decimal) -> list[str]:
    """The tags of a filing; one whose holdings do not change (a pledge, a transfer between the
    holder's own accounts) is tagged for what it is instead: `pledge` when the purpose says
    so, else `holdings-unchanged`. It has no counterparty, so no `share-transfer` either."""
    if holding_before == holding_after and transaction_type == "others":
        return [PLEDGE if matches_any(purpose, PLEDGE_WORDS) else HOLDINGS_UNCHANGED]
    return detect_tags(purpose, transaction_type, percentage_before, percentage_after)


def _tag_for_type(transaction_type: str) -> set[str]:
    return {"buy": {INVESTMENT}, "sell": {DIVESTMENT}}.get(transaction_type, set())


def crosses_takeover(before: Decimal, after: Decimal) -> bool:
    return before < TAKEOVER_PCT <= after or after < TAKEOVER_PCT <= before

