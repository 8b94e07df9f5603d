"""Aggregation, the split of multi-type forms and their chained holdings."""

from __future__ import annotations

import json
from decimal import Decimal

from handlers.domain.filings.aggregate import aggregate, split_legs
from handlers.domain.ksei.records import ParsedForm, TransactionRow
from handlers.stages import generate
from tests.filings.forms import drop, form, row

# Part 2's worked example of a mixed document: bought 9,563,160 at 140, sold 39,782,660 at 135.
MIXED_ROWS = [row("buy", 9_563_160, "140", purpose="Investasi"),
              row("sell", 39_782_660, "135", purpose="Divestasi")]


def test_worked_example_of_a_mixed_document():
    totals = aggregate([TransactionRow.from_json(r) for r in MIXED_ROWS])
    assert totals.net_shares == -30_219_500
    assert totals.value == Decimal("4031816700")
    assert totals.price == Decimal("133.418")
    assert totals.type == "sell"


def test_decimal_prices_are_kept_exactly():
    rows = [TransactionRow.from_json(row("buy", 3, "1770.50")),
            TransactionRow.from_json(row("buy", 1, "1771.25"))]
    totals = aggregate(rows)
    assert totals.value == Decimal("7082.75")
    assert totals.price == Decimal("1770.688")  # 7082.75 / 4 = 1770.6875, half up


def test_multi_type_form_splits_into_chained_filings(make_ctx):
    ctx = make_ctx()
    record = form(MIXED_ROWS, before=100_000_000, after=69_780_500, pct_before="10",
                  pct_after="6.978")
    output = generate.handle(drop(ctx.root, "mixed.json", record), ctx)[0]
    filings = json.loads(output.read_text())["filings"]
    rows = [f["row"] for f in filings]
    assert [r["transaction_type"] for r in rows] == ["buy", "sell"]
    # The buy comes first so the running holding never goes negative, and it feeds the sell.
    assert (rows[0]["holding_before"], rows[0]["holding_after"]) == (100_000_000, 109_563_160)
    assert (rows[1]["holding_before"], rows[1]["holding_after"]) == (109_563_160, 69_780_500)
    assert rows[0]["share_percentage_after"] == "10.956" == rows[1]["share_percentage_before"]
    assert rows[1]["share_percentage_after"] == "6.978"
    assert (rows[0]["price"], rows[1]["price"]) == ("140.000", "135.000")
    assert [f["outcome"] for f in filings] == ["inserted", "inserted"]
    assert len(ctx.sink.rows()) == 2


def test_others_rows_take_what_buys_and_sells_leave():
    rows = [row("sell", 500, "100"), row("others", 300, None, purpose="Hibah")]
    legs = split_legs(ParsedForm.from_json(form(rows, before=1_000, after=800)))
    assert [(leg.type, leg.delta) for leg in legs] == [("sell", -500), ("others", 300)]
    assert [(leg.holding_before, leg.holding_after) for leg in legs] == [(1000, 500), (500, 800)]


def test_a_chain_that_cannot_explain_the_holdings_is_alerted_not_dropped(make_ctx):
    ctx = make_ctx()
    record = form([row("buy", 100, "140"), row("sell", 50, "135")], before=1_000, after=2_000)
    outputs = generate.handle(drop(ctx.root, "nochain.json", record), ctx)
    result = json.loads(outputs[0].read_text())
    # 1,000 + 100 - 50 is not 2,000: the holdings do not add up, whatever the order.
    assert result["filings"] == [] and result["rejected"]["code"] == "holdings_mismatch"
    assert result["rejected"]["details"]["expected_after"] == 1_050
    alert = json.loads(outputs[1].read_text())
    assert (alert["category"], alert["code"]) == ("not_inserted", "holdings_mismatch")
    assert alert["symbol"] == "SRTG.JK" and alert["holder_name"] == "Unitras Pertama"
    assert ctx.sink.rows() == []
