"""Tags and holder type of a filing, by whole-word or whole-phrase matching.

The keyword banks are the original's, but a keyword only matches as a whole word or phrase
(`repo` no longer matches "report", `alih` no longer matches inside words, `NV` no longer
makes "Investama" an institution). Tag names are the v1 whitelist spelled correctly
(`free-float-compliance`, `mesop`, hyphens throughout); `takeover` is added when the holding
crosses 50 %.
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
WHITELIST = frozenset(TAG_KEYWORDS) | {"takeover"}

# Words and phrases that mark an organisation in a holder's name (uppercase, whole words).
ORG_TOKENS = (
    "PT", "TBK", "PTE", "LTD", "LIMITED", "INC", "CORP", "CORPORATION", "NV", "N.V.", "BV",
    "B.V.", "GMBH", "LLC", "LP", "L.P.", "LLP", "PLC", "SDN BHD", "BHD", "BERHAD", "BANK",
    "SECURITIES", "SEKURITAS", "ASSET MANAGEMENT", "MANAJER INVESTASI", "INVESTMENT", "FUND",
    "YAYASAN", "FOUNDATION", "KOPERASI", "UNIVERSITAS", "PERSERO", "CV", "UD", "COMPANY",
    "HOLDINGS", "HOLDING", "TRUST", "DANA PENSIUN", "ASURANSI",
)
INSTITUTION, INSIDER = "institution", "insider"


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


def _tag_for_type(transaction_type: str) -> set[str]:
    return {"buy": {INVESTMENT}, "sell": {DIVESTMENT}}.get(transaction_type, set())


def crosses_takeover(before: Decimal, after: Decimal) -> bool:
    return before < TAKEOVER_PCT <= after or after < TAKEOVER_PCT <= before


def holder_type(name: str) -> str:
    """`institution` when the name carries an organisation word, else `insider`."""
    return INSTITUTION if matches_any(name, ORG_TOKENS) else INSIDER
