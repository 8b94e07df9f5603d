"""The identity rules on their own: what makes two filings one, two files one document, a form
a correction and which filing it corrects, and which filing a holder's chain continues from."""

from __future__ import annotations

from typing import Any

from handlers.domain.filings.chain import chain_break, previous_filing
from handlers.domain.filings.identity import (
    document_key,
    filing_key,
    is_correction,
    named_documents,
    normalize_holder,
)
from handlers.domain.filings.versions import Document, correction_target


def filing(**fields: Any) -> dict[str, Any]:
    row = {"symbol": "SRTG.JK", "holder_name": "Unitras Pertama", "transaction_type": "sell",
           "holding_before": 1000, "holding_after": 900, "amount_transaction": 100,
           "price_transaction": [{"date": "2026-04-24", "type": "sell", "price": "1770",
                                  "amount_transacted": 100}],
           "timestamp": "2026-04-24T17:03:00", "source": "https://x/LK-1.pdf", "id": 1}
    row.update(fields)
    row.setdefault("dedup_key", filing_key(row))
    return row


def test_the_key_is_what_the_form_says_not_how_it_arrived():
    announced = filing()
    by_hand = filing(timestamp="2026-04-24T00:00:00", source="LK-1.pdf", price="9")
    assert filing_key(announced) == filing_key(by_hand)
    assert filing_key(filing(holder_name="PT. UNITRAS  PERTAMA")) == filing_key(announced)
    for change in ({"holding_after": 901}, {"amount_transaction": 99},
                   {"transaction_type": "buy"}, {"symbol": "BYAN.JK"},
                   {"price_transaction": [{"date": "2026-04-25", "amount_transacted": 100}]}):
        assert filing_key(filing(**change)) != filing_key(announced), change


def test_a_document_is_its_lk_number_else_its_attachment_else_its_content():
    assert document_key({"filename": "x.pdf"}, {"original_name": "LK-24042026-7431-00.pdf",
                                                "url": "https://h/f.pdf"}) == \
        "LK-24042026-7431-00"
    assert document_key({"filename": "SRTG_lk-24042026-7431-00_ab12.pdf"}, None) == \
        "LK-24042026-7431-00"
    attachment = document_key({"filename": "letter.pdf"},
                              {"announcement_id": "A-1", "url": "https://h/f.pdf"})
    assert attachment.startswith("attachment:")
    assert document_key({"filename": "letter.pdf", "sha256": "ab"}, None) == "sha256:ab"


def test_a_correction_is_told_by_the_form_or_its_announcement():
    assert is_correction(True, None)
    assert is_correction(False, {"title": "(CORRECTION) REPORT OF OWNERSHIP"})
    assert is_correction(False, {"title": "Koreksi atas Laporan Kepemilikan"})
    assert is_correction(False, {"is_correction": True})
    assert not is_correction(False, {"title": "REPORT OF OWNERSHIP"})
    assert named_documents({"title": "Koreksi LK-20042026-0001-00 (LK-27042026-0100-00)"},
                           "LK-27042026-0100-00") == {"LK-20042026-0001-00"}


def test_a_correction_replaces_the_filing_it_names_first_then_one_it_overlaps():
    named = filing(id=1, document_key="LK-A", price_transaction=[{"date": "2026-03-01"}])
    overlapping = filing(id=2, document_key="LK-B")
    other_holder = filing(id=3, document_key="LK-C", holder_name="Budi Santoso")
    stored = [named, overlapping, other_holder]
    fix = filing(document_key="LK-FIX", holding_after=905, amount_transaction=95)
    assert correction_target(stored, fix, Document("LK-FIX", True, frozenset({"LK-A"}))) \
        is named
    assert correction_target(stored, fix, Document("LK-FIX", True)) is overlapping
    assert correction_target([other_holder], fix, Document("LK-FIX", True)) is None


def test_the_chain_continues_from_the_latest_filing_not_dated_after():
    april = filing(id=1, holding_after=900)
    june = filing(id=2, holding_before=800, holding_after=700,
                  price_transaction=[{"date": "2026-06-01"}])
    may = filing(holding_before=850, holding_after=800,
                 price_transaction=[{"date": "2026-05-02"}])
    assert previous_filing([april, june], may, set()) is april  # June is later: not counted
    gap = chain_break(april, may)
    assert gap is not None and gap["missing_shares"] == -50
    assert chain_break(april, filing(holding_before=900, holding_after=800)) is None
    assert previous_filing([april], filing(holder_name="PT Unitras Pertama"), set()) is april
    assert previous_filing([april], may, {april["dedup_key"]}) is None


def test_holder_names_normalize_to_one_holder():
    assert normalize_holder("PT. UNITRAS  Pertama, Tbk") == "unitras pertama"


def test_a_stored_filing_is_replaced_by_one_leg_of_a_correction_only():
    from handlers.domain.filings.versions import plan

    stored = [filing(id=1, document_key="LK-A")]
    legs = [filing(document_key="LK-FIX", holding_after=950, amount_transaction=50),
            filing(document_key="LK-FIX", transaction_type="buy", holding_before=950,
                   holding_after=980, amount_transaction=30)]
    plans, retired = plan(legs, stored, Document("LK-FIX", True))
    assert [(p.action, p.previous is stored[0]) for p in plans] == [("supersede", True),
                                                                   ("insert", False)]
    assert retired == []
