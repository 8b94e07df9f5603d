"""Every validation code, raised by a crafted form, and what its alert tells a human.

The company map gives SRTG.JK a last close of 1,770 on 2026-04-23; the crafted forms are
published on 2026-04-24 unless said otherwise.
"""

from __future__ import annotations

import json

import pytest

from handlers.stages import generate
from tests.filings.forms import drop, form, row

SELL = [row("sell", 100, "1770")]
REJECT, WARN = "not_inserted", "inserted"

CASES = {
    "missing_required_field": (form(SELL, 1000, 900, holder=""), REJECT),
    "missing_price_on_a_sale": (form([row("sell", 100, None)], 1000, 900), REJECT),
    "invalid_price_transaction": (form([row("sell", 100, "1770", date="")], 1000, 900), REJECT),
    "holdings_mismatch": (form(SELL, 1000, 950), REJECT),
    "mismatch_transaction_type": (form([row("buy", 100, "1770")], 1000, 900), REJECT),
    "non_common_shares": (form([row("sell", 100, "1770", share_class="Waran Seri I")],
                               1000, 900), REJECT),
    "transfer_uid_required": (form([row("others", 100, None, purpose="Pengalihan")],
                                   1000, 900), REJECT),
    "percent_discrepancy": (form(SELL, 1000, 900, pct_before="10", pct_after="8.5"), REJECT),
    # A pledge is a filing: stored, and told as information (tests/filings/test_zero_change.py).
    "holdings_unchanged": (form([row("others", 100, None, purpose="Gadai")], 1000, 1000,
                                flags=["holdings_unchanged"]), WARN),
    "price_deviation_vs_market": (form([row("sell", 100, "2600")], 1000, 900), WARN),
    "price_deviation_within_doc": (form([row("sell", 100, "1770"), row("sell", 100, "1770"),
                                         row("sell", 100, "700")], 1000, 700), WARN),
    "possible_zero_missing": (form([row("sell", 100, "17700")], 1000, 900), WARN),
    "stale_price": (form(SELL, 1000, 900, published="2026-05-20T10:00:00+07:00"), WARN),
    "missing_price": (form(SELL, 1000, 900, symbol="ZZZZ.JK"), WARN),
    "correction_filing": (form(SELL, 1000, 900, correction=True), WARN),
    "publish_time_missing": (form(SELL, 1000, 900, published=None), WARN),
}


def run(make_ctx, record):
    ctx = make_ctx()
    outputs = generate.handle(drop(ctx.root, "crafted.json", record), ctx)
    result = json.loads(outputs[0].read_text())
    alerts = [json.loads(p.read_text()) for p in outputs[1:]]
    return ctx, result, alerts


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_code_is_raised_and_routed(make_ctx, name):
    record, category = CASES[name]
    code = "missing_required_field" if name == "missing_price_on_a_sale" else name
    ctx, result, alerts = run(make_ctx, record)
    (alert,) = alerts
    assert code in [r["code"] for r in alert["reasons"]]
    assert alert["category"] == category
    (filing,) = result["filings"]
    stored = len(ctx.sink.rows())
    if category == REJECT:
        assert (filing["outcome"], stored) == ("rejected", 0)
        assert alert["code"] in ctx.config.filings.reject_codes  # headed by a rejecting code
    else:
        assert (filing["outcome"], stored) == ("inserted", 1)
        assert alert["code"] == alert["reasons"][0]["code"]


def test_rejected_alert_carries_the_filing_and_its_documents(make_ctx):
    _, result, (alert,) = run(make_ctx, CASES["holdings_mismatch"][0])
    assert alert["stage"] == "filings" and alert["code"] == "holdings_mismatch"
    assert alert["severity"] == "hard" and alert["needs_review"] is True
    assert (alert["symbol"], alert["holder_name"], alert["type"]) == \
        ("SRTG.JK", "Unitras Pertama", "sell")
    assert (alert["amount"], alert["price"], alert["value"]) == (100, "1770.000", "177000")
    details = alert["reasons"][0]["details"]
    assert details == {"field": "holding_after", "page": None, "text": "950",
                       "holding_before": 1000, "net_shares": -100, "holding_after": 950,
                       "expected_after": 900}
    assert alert["context"]["doc"]["url"].endswith("LK-24042026-0001-00.pdf")
    assert alert["context"]["announcement"]["published_at"].startswith("2026-04-24T17:03")
    assert result["filings"][0]["reasons"][0]["code"] == "holdings_mismatch"


def test_warning_alert_names_the_market_reference(make_ctx):
    _, _, (alert,) = run(make_ctx, CASES["price_deviation_vs_market"][0])
    reason = alert["reasons"][0]
    assert (alert["code"], alert["severity"]) == ("price_deviation_vs_market", "warning")
    assert reason["details"]["market_reference"]["ref_price"] == "1770.0"
    assert reason["details"]["market_reference"]["freshness_days"] == 1


def test_publish_time_missing_dates_the_filing_by_its_last_transaction(make_ctx):
    ctx, _, _ = run(make_ctx, CASES["publish_time_missing"][0])
    assert ctx.sink.rows()[0]["timestamp"] == "2026-04-24T00:00:00"


def test_reject_codes_are_a_setting(make_ctx):
    ctx = make_ctx(env={"FILINGS_REJECT_CODES": "missing_required_field"})
    generate.handle(drop(ctx.root, "p.json", CASES["percent_discrepancy"][0]), ctx)
    assert len(ctx.sink.rows()) == 1
