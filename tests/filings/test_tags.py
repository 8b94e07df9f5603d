"""Tags, zero-change tags and the English text, by whole words (the original matched substrings)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from handlers.domain.filings.compose import body, title, translate_purpose
from handlers.domain.filings.tags import detect_tags, filing_tags

D = Decimal


def tags(purpose, kind="buy", before="10", after="11"):
    return detect_tags(purpose, kind, D(before), D(after))


def test_keywords_match_whole_words_only():
    assert tags("Laporan report investasi") == ["investment"]  # "repo" is not in "report"
    assert tags("Repo saham", kind="others") == ["repurchase-agreement"]
    assert "share-transfer" not in tags("Kealihan", kind="others")  # "alih" inside a word


@pytest.mark.parametrize(("purpose", "expected"), [
    ("Program MESOP", ["mesop"]),
    ("Pemenuhan porsi publik (free float)", ["free-float-compliance"]),
    ("Restrukturisasi dan capital restructuring", ["capital-restructuring"]),
    ("Pengalihan saham", ["share-transfer"]),
    ("Hibah", ["inheritance"]),
])
def test_whitelist_is_spelled_correctly(purpose, expected):
    assert tags(purpose, kind="others") == expected


def test_type_decides_when_the_purpose_says_nothing_or_both():
    assert tags("", kind="sell") == ["divestment"]
    assert tags("jual beli", kind="sell") == ["divestment"]
    assert tags("jual beli", kind="buy") == ["investment"]


def test_takeover_when_the_holding_crosses_fifty_percent():
    assert tags("Investasi", before="49.9", after="50") == ["investment", "takeover"]
    assert tags("Divestasi", "sell", before="50.1", after="49") == ["divestment", "takeover"]
    assert "takeover" not in tags("Investasi", before="51", after="60")


@pytest.mark.parametrize(("purpose", "tag"), [
    ("Gadai saham", "pledge"), ("Penjaminan saham kepada bank", "pledge"),
    ("Jaminan pinjaman", "pledge"), ("Pledge of shares", "pledge"),
    ("Pemindahan rekening efek", "holdings-unchanged"), ("Lainnya", "holdings-unchanged"),
])
def test_a_filing_whose_holdings_do_not_change_is_tagged_for_what_it_is(purpose, tag):
    assert filing_tags(purpose, "others", 1000, 1000, Decimal(10), Decimal(10)) == [tag]
    # Holdings that change keep the ordinary tags, whatever the purpose says.
    assert tag not in filing_tags(purpose, "others", 1000, 900, Decimal(10), Decimal(9))


def test_purpose_is_translated_by_the_phrase_map():
    assert translate_purpose("Divestasi") == "divestment"
    assert translate_purpose("Memperluas  basis kepemilikan saham") == \
        "expanding the shareholder base"
    assert translate_purpose("Investasi jangka panjang dan Xyzzy") == \
        "long-term investment and Xyzzy"


def test_title_and_body_templates():
    assert title("others", "Budi", "Abc Tbk") == "Change in Budi's position in Abc Tbk"
    assert body("buy", "Budi", "Abc Tbk", 1500, 1000, 2500, "investment") == (
        "Budi bought 1,500 shares of Abc Tbk. This increases their holdings from 1,000 to "
        "2,500 shares. The stated purpose of the transaction was investment.")
    assert "remain at 1,000 shares" in body("others", "Budi", "Abc Tbk", 0, 1000, 1000, "")
