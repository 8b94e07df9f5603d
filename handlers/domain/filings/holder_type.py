"""Holder type: `institution` or `insider`, decided by a table of rules, each with its reason.

SID names of companies often omit "PT" ("Unitras Pertama", "Saratoga Investama Sedaya"), so a
legal-form word alone misses most corporate holders. The rules, first match wins: the holder
category the form prints (when it prints one), a legal-form word (PT, Tbk, Ltd, B.V., GmbH, …),
a match in the company map (an issuer holding shares of another), then corporate vocabulary
(Investama, Capital, Holdings, Dana Pensiun, …). A name none of them claims is a person's and
stays `insider`. Every word matches whole, never inside another word ("Septian" holds no "PT").
`classify` returns the type and the reason, so a surprising answer can be explained.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from handlers.domain.filings.identity import normalize_holder

INSTITUTION, INSIDER = "institution", "insider"

# The form's own holder category, as printed (lowercase) -> type.
CATEGORIES: dict[str, str] = {
    "perorangan": INSIDER, "individu": INSIDER, "individual": INSIDER, "orang": INSIDER,
    "perseorangan": INSIDER, "korporasi": INSTITUTION, "badan usaha": INSTITUTION,
    "badan hukum": INSTITUTION, "institusi": INSTITUTION, "lembaga": INSTITUTION,
    "corporate": INSTITUTION, "corporation": INSTITUTION, "institution": INSTITUTION,
    "institutional": INSTITUTION, "perusahaan": INSTITUTION,
}
LEGAL_FORMS = (
    "PT", "Tbk", "Ltd", "Ltd.", "Limited", "Pte", "Pte.", "Inc", "Inc.", "Corp", "Corp.",
    "Corporation", "LLC", "L.L.C.", "B.V.", "BV", "N.V.", "NV", "GmbH", "S.A.", "A.G.",
    "PLC", "LP", "L.P.", "LLP", "Sdn Bhd", "Bhd", "Berhad", "CV", "UD", "Persero", "Perum",
    "Co.", "Company", "S.A.R.L.", "S.p.A.", "K.K.", "A.S.",
)
# Words of company names only: "Sentosa", "Makmur" and "Perkasa" are left out, they are family
# names too ("Hendra Sentosa").
CORPORATE_WORDS = (
    "Investama", "Investindo", "Investasi", "Investment", "Investments", "Capital", "Kapital",
    "Holdings", "Holding", "Group", "Grup", "Sukses", "Internasional", "International",
    "Nusantara", "Asset", "Assets", "Management", "Manajemen", "Fund", "Funds", "Dana Pensiun",
    "Asuransi", "Insurance", "Koperasi", "Yayasan", "Foundation", "Bank", "Securities",
    "Sekuritas", "Manajer Investasi", "Trust", "Universitas", "Partners", "Ventures",
    "Industri", "Industries", "Pertama", "Mandiri", "Energi",
    "Energy", "Resources", "Sumber Daya", "Global", "Indonesia", "Properti", "Realty",
    "Reksa Dana", "Nominees", "Custodian", "Pension", "Enterprises", "Equity", "Kustodian",
)


@dataclass(frozen=True)
class HolderType:
    type: str  # institution | insider
    rule: str  # category | legal_form | company_map | corporate_word | person
    evidence: str | None = None  # the word, category or company that decided it


def classify(name: str, companies: frozenset[str] = frozenset(),
             category: str | None = None) -> HolderType:
    """The holder type of `name`; `companies` are the normalized company-map names, as
    `company_names` gives them once per map (a set: no copy of ~900 names per filing)."""
    printed = " ".join((category or "").lower().split())
    if printed in CATEGORIES:
        return HolderType(CATEGORIES[printed], "category", category)
    word = first_match(name, LEGAL_FORMS)
    if word:
        return HolderType(INSTITUTION, "legal_form", word)
    normalized = normalize_holder(name)
    if normalized and normalized in companies:
        return HolderType(INSTITUTION, "company_map", normalized)
    word = first_match(name, CORPORATE_WORDS)
    if word:
        return HolderType(INSTITUTION, "corporate_word", word)
    return HolderType(INSIDER, "person")


def first_match(name: str, words: tuple[str, ...]) -> str | None:
    """The first word or phrase of `name` that is one of `words` (any case), as `words`
    spells it."""
    found = _pattern(words).search(name or "")
    if found is None:
        return None
    text = " ".join(found.group(0).lower().split())
    return next(word for word in words if word.lower() == text)


@lru_cache(maxsize=8)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first, so "Sdn Bhd" wins over "Bhd"; a word character on either side would make
    # it part of a longer word. A phrase's inner spaces match any run of whitespace.
    ordered = sorted(words, key=len, reverse=True)
    alternatives = "|".join(r"\s+".join(map(re.escape, w.split())) for w in ordered)
    return re.compile(rf"(?<![\w.])(?:{alternatives})(?![\w])", re.IGNORECASE)


def company_names(rows: Mapping[str, Mapping[str, Any]]) -> frozenset[str]:
    """The company map's names, normalized as holder names are (no PT, no Tbk); computed once
    per loaded map (a refresh loads a new one), not once per filing."""
    cached = _NAMES.get(id(rows))
    if cached is not None and cached[0] is rows:
        return cached[1]
    names = frozenset(filter(None, (normalize_holder(str(row.get("company_name") or ""))
                                    for row in rows.values())))
    _NAMES.clear()  # the map it was made from is gone or about to be
    _NAMES[id(rows)] = (rows, names)
    return names


# id(map) -> (the map, its names); holding the map keeps its id from being reused.
_NAMES: dict[int, tuple[Mapping[str, Mapping[str, Any]], frozenset[str]]] = {}
