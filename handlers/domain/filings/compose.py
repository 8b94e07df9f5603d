"""English title and body of a filing, by the v1 templates, with the purpose translated offline.

The purpose printed on the form is Indonesian free text. It is translated by a built-in map of
the phrases these forms use (longest phrase first, whole words only); words the map does not
know are kept as printed, so nothing is invented and no network service is called.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

TITLES = {
    "buy": "{holder} buys shares of {company}",
    "sell": "{holder} sells shares of {company}",
    "share-transfer": "{holder} transfers shares of {company}",
    "award": "{holder} was awarded shares of {company}",
    "inheritance": "{holder} inherits shares of {company}",
    "others": "Change in {holder}'s position in {company}",
}
VERBS = {"buy": "bought", "sell": "sold", "share-transfer": "transferred",
         "award": "was awarded", "inheritance": "inherited", "others": "transacted"}

# Indonesian phrase -> English, as they appear in the purpose column of the KSEI form.
PURPOSE_PHRASES: dict[str, str] = {
    "memperluas basis kepemilikan saham": "expanding the shareholder base",
    "pemenuhan porsi publik": "meeting the free-float requirement",
    "program opsi saham": "share option program",
    "penyelesaian penurunan modal": "settlement of a capital reduction",
    "investasi jangka panjang": "long-term investment",
    "investasi jangka pendek": "short-term investment",
    "kebutuhan dana pribadi": "personal funding needs",
    "kebutuhan pribadi": "personal needs",
    "transaksi repurchase": "repurchase transaction",
    "transaksi repo": "repo transaction",
    "tanpa perubahan": "no change",
    "pengalihan saham": "share transfer",
    "hibah saham": "share grant",
    "divestasi": "divestment",
    "investasi": "investment",
    "pembelian": "purchase",
    "penjualan": "sale",
    "pengalihan": "transfer",
    "pemindahan": "transfer",
    "konversi": "conversion",
    "pelaksanaan": "exercise",
    "restrukturisasi": "restructuring",
    "reorganisasi": "reorganisation",
    "akuisisi": "acquisition",
    "akumulasi": "accumulation",
    "penambahan": "addition",
    "pengurangan": "reduction",
    "peningkatan": "increase",
    "penempatan": "placement",
    "jaminan": "collateral",
    "gadai": "pledge",
    "warisan": "inheritance",
    "waris": "inheritance",
    "hibah": "grant",
    "portofolio": "portfolio",
    "kepemilikan": "ownership",
    "saham": "shares",
    "lainnya": "other",
    "dan": "and",
    "untuk": "for",
}
_PHRASES = sorted(PURPOSE_PHRASES, key=len, reverse=True)
_PURPOSE_RE = re.compile(
    r"(?<!\w)(" + "|".join(r"\s+".join(map(re.escape, p.split())) for p in _PHRASES) + r")(?!\w)",
    re.IGNORECASE,
)


def translate_purpose(text: str) -> str:
    """The purpose in English as far as the phrase map knows it, whitespace collapsed."""
    collapsed = " ".join((text or "").split())
    return _PURPOSE_RE.sub(lambda m: PURPOSE_PHRASES[" ".join(m.group(1).lower().split())],
                           collapsed)


def combined_purpose(purposes: Iterable[str]) -> str:
    """The distinct purposes of a filing's rows, in order, joined with "; "."""
    seen: list[str] = []
    for purpose in purposes:
        cleaned = " ".join((purpose or "").split())
        if cleaned and cleaned.lower() not in (p.lower() for p in seen):
            seen.append(cleaned)
    return "; ".join(seen)


def purpose_label(purpose_en: str) -> str:
    """`Divestment`: the translated purpose with a capital first letter (v1's column)."""
    return purpose_en[:1].upper() + purpose_en[1:]


def title(kind: str, holder: str, company: str) -> str:
    template = TITLES.get(kind, "{holder} {kind} transaction of {company}")
    return template.format(holder=holder, company=company, kind=kind.replace("-", " ").title())


def body(kind: str, holder: str, company: str, amount: int, before: int, after: int,
         purpose_en: str) -> str:
    verb = VERBS.get(kind, "transacted")
    sentences = [f"{holder} {verb} {amount:,} shares of {company}.", _change(before, after)]
    if purpose_en:
        sentences.append(f"The stated purpose of the transaction was {purpose_en.lower()}.")
    return " ".join(sentences)


def _change(before: int, after: int) -> str:
    if after == before:
        return f"Their holdings remain at {before:,} shares."
    direction = "increases" if after > before else "decreases"
    return f"This {direction} their holdings from {before:,} to {after:,} shares."
