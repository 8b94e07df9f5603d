"""The holding chain and zero-change filings, on every sink: a filing that does not start where
the holder's last one ended raises one alert with both filings and the gap (and is stored, not
repaired); a pledge, whose holdings do not change, is stored as a filing and told as info."""

from __future__ import annotations

import json
from typing import Any

from handlers.stages import generate
from tests.filings.forms import drop, row
from tests.sinks.documents import downloaded, holder_filing, sale
from tests.sinks.every_sink import SinkUnderTest


def run(sink: SinkUnderTest, name: str, record: dict[str, Any]) -> tuple[dict[str, Any], list]:
    outputs = generate.handle(drop(sink.ctx.root, name, record), sink.ctx)
    return json.loads(outputs[0].read_text()), [json.loads(p.read_text()) for p in outputs[1:]]


def test_a_gap_between_two_filings_of_a_holder_raises_one_alert_with_the_gap(
        sink: SinkUnderTest) -> None:
    first, _ = run(sink, "first.json", downloaded())  # ends at 3,369,610,000
    # The same holder, spelled as its SID name sometimes is.
    later = holder_filing([sale(100_000_000, "2026-04-28")], 3_300_000_000, 3_200_000_000,
                          "LK-28042026-0200-00", holder="PT. UNITRAS PERTAMA")
    record, alerts = run(sink, "later.json", later)
    (filing,) = record["filings"]
    assert filing["outcome"] == "inserted" and sink.stored() == 2  # stored, never repaired
    (alert,) = [a for a in alerts if a["code"] == "holding_chain_break"]
    assert (alert["severity"], alert["category"], alert["needs_review"]) == (
        "warning", "inserted", True)
    assert alert["context"]["details"] == {
        "previous": {"key": first["filings"][0]["dedup_key"], "holding_after": 3_369_610_000,
                     "timestamp": "2026-04-24T17:03:00"},
        "current": {"key": filing["dedup_key"], "holding_before": 3_300_000_000,
                    "timestamp": "2026-04-28T10:00:00"},
        "missing_shares": -69_610_000, "symbol": "SRTG.JK",
        "holder_name": "PT. UNITRAS PERTAMA"}
    assert filing["holding_chain_break"]["missing_shares"] == -69_610_000
    assert [r["holding_after"] for r in sink.active()] == [3_369_610_000, 3_200_000_000]
    # The next filing starts where this one ended: no alert.
    next_one = holder_filing([sale(200_000_000, "2026-04-29")], 3_200_000_000, 3_000_000_000,
                             "LK-29042026-0300-00", "2026-04-29T10:00:00+07:00")
    _, alerts = run(sink, "next.json", next_one)
    assert not [a for a in alerts if a["code"] == "holding_chain_break"]


def test_a_filing_that_continues_the_chain_raises_nothing(sink: SinkUnderTest) -> None:
    run(sink, "first.json", downloaded())
    later = holder_filing([sale(69_610_000, "2026-04-28")], 3_369_610_000, 3_300_000_000,
                          "LK-28042026-0200-00")
    record, alerts = run(sink, "later.json", later)
    assert record["filings"][0]["outcome"] == "inserted" and alerts == []


def test_a_pledge_form_is_stored_as_a_zero_change_filing_with_an_info_alert(
        sink: SinkUnderTest) -> None:
    pledge = holder_filing([row("others", 500_000_000, None, date="2026-04-28",
                                purpose="Gadai saham sebagai jaminan")],
                           3_369_610_000, 3_369_610_000, "LK-28042026-0400-00")
    pledge["flags"] = ["holdings_unchanged"]  # as the parse stage flags it
    record, alerts = run(sink, "pledge.json", pledge)
    (stored,) = sink.active()
    assert (stored["transaction_type"], stored["tags"]) == ("others", ["pledge"])
    assert stored["holding_before"] == stored["holding_after"] == 3_369_610_000
    assert record["filings"][0]["outcome"] == "inserted"
    (alert,) = alerts
    assert (alert["code"], alert["severity"], alert["needs_review"], alert["category"]) == (
        "holdings_unchanged", "info", False, "inserted")
    assert alert["context"]["details"]["tags"] == ["pledge"]


def test_a_transfer_between_own_accounts_is_tagged_holdings_unchanged(
        sink: SinkUnderTest) -> None:
    moved = holder_filing([row("others", 10_000_000, None, date="2026-04-28",
                               purpose="Pemindahan rekening efek")],
                          3_369_610_000, 3_369_610_000, "LK-28042026-0500-00")
    moved["flags"] = ["holdings_unchanged"]
    record, alerts = run(sink, "moved.json", moved)
    assert sink.active()[0]["tags"] == ["holdings-unchanged"]  # no share-transfer to pair
    assert [a["code"] for a in alerts] == ["holdings_unchanged"]
    assert record["filings"][0]["outcome"] == "inserted"
