"""The consistency checks a form passes before any of its filings is stored: the issuer is the
announcement's and the company map's, the holdings add up, the percentages fit the shares
outstanding, and no value holds the form's own label or header words. Each failure names the
field, the page and the text seen; a form in doubt stores nothing and raises one alert.

The company map has SRTG.JK as "PT Saratoga Investama Sedaya Tbk" and BYAN.JK as "Bayan
Resources Tbk"; crafted forms are SRTG's unless said otherwise.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.adapters.company_map import BUNDLED_DIR, MAP_NAME
from handlers.domain.filings.checks import check_form
from handlers.domain.filings.labels import label_found, other_field_of
from handlers.domain.ksei.records import ParsedForm
from handlers.settings import FilingsSettings
from handlers.stages import generate
from tests.filings.forms import drop, form, row

SELL = [row("sell", 100, "1770")]


def text_at(page, text, method="text", **extra):
    return {"page": page, "method": method, "text": text, **extra}


def run(make_ctx, record, **ctx_options):
    ctx = make_ctx(**ctx_options)
    outputs = generate.handle(drop(ctx.root, "crafted.json", record), ctx)
    result = json.loads(outputs[0].read_text())
    alerts = [json.loads(p.read_text()) for p in outputs[1:]]
    return ctx, result, alerts


def codes(alert):
    return [r["code"] for r in alert["reasons"]]


def test_a_form_naming_another_issuer_than_its_announcement_is_not_stored(make_ctx):
    record = form(SELL, 1000, 900, provenance={
        "company_name": text_at(1, "SRTG - Saratoga Investama Sedaya Tbk")})
    record["announcement"]["ticker"] = "BYAN"
    ctx, result, alerts = run(make_ctx, record)
    (alert,) = alerts
    assert (alert["code"], alert["category"]) == ("issuer_mismatch", "not_inserted")
    assert alert["reasons"][0]["details"] == {
        "field": "symbol", "page": 1, "text": "SRTG - Saratoga Investama Sedaya Tbk",
        "method": "text", "expected": "BYAN.JK", "against": "announcement"}
    assert [f["outcome"] for f in result["filings"]] == ["rejected"]
    assert ctx.sink.rows() == []


def test_a_company_name_other_than_the_maps_is_an_issuer_mismatch(make_ctx):
    ctx, _, (alert,) = run(make_ctx, form(SELL, 1000, 900, company="Bayan Resources Tbk"))
    assert alert["code"] == "issuer_mismatch"
    details = alert["reasons"][0]["details"]
    assert (details["field"], details["text"]) == ("company_name", "Bayan Resources Tbk")
    assert details["expected"] == "PT Saratoga Investama Sedaya Tbk"
    assert ctx.sink.rows() == []


def test_a_name_split_inside_its_words_is_not_the_issuer(make_ctx):
    ctx, _, (alert,) = run(make_ctx, form(SELL, 1000, 900, company="Sara toga Inve stama "
                                                                    "Sedaya Tbk"))
    assert alert["code"] == "issuer_mismatch" and ctx.sink.rows() == []


@pytest.mark.parametrize("printed", ["PT. SARATOGA INVESTAMA SEDAYA, TBK",
                                     "Saratoga Investama Sedaya Tbk.",
                                     "saratoga  investama sedaya"])
def test_case_punctuation_and_pt_tbk_do_not_make_a_mismatch(make_ctx, printed):
    _, result, alerts = run(make_ctx, form(SELL, 1000, 900, company=printed))
    assert alerts == [] and [f["outcome"] for f in result["filings"]] == ["inserted"]


def test_a_multi_type_form_of_the_wrong_issuer_raises_one_alert(make_ctx):
    rows = [row("buy", 300, "1770"), row("sell", 100, "1770")]
    record = form(rows, 1000, 1200)
    record["announcement"]["ticker"] = "BYAN"
    ctx, result, alerts = run(make_ctx, record)
    assert len(result["filings"]) == 2 and len(alerts) == 1
    assert alerts[0]["code"] == "issuer_mismatch" and ctx.sink.rows() == []


def test_an_issuer_missing_from_the_company_map_is_stored_with_a_warning(make_ctx):
    ctx, _, (alert,) = run(make_ctx, form(SELL, 1000, 900, symbol="ZZZZ.JK"))
    assert "issuer_unknown" in codes(alert) and alert["category"] == "inserted"
    assert len(ctx.sink.rows()) == 1


def test_holdings_must_equal_before_plus_the_signed_rows(make_ctx):
    record = form(SELL, 1000, 950, provenance={"holding_after": text_at(1, "950")})
    ctx, _, (alert,) = run(make_ctx, record)
    assert alert["code"] == "holdings_mismatch"
    assert alert["reasons"][0]["details"] == {
        "field": "holding_after", "page": 1, "text": "950", "method": "text",
        "holding_before": 1000, "net_shares": -100, "holding_after": 950, "expected_after": 900}
    assert ctx.sink.rows() == []


@pytest.mark.parametrize(("amounts", "before", "after", "consistent"), [
    ([100], 1000, 1000, True),  # a pledge: the shares stay where they are
    ([100], 1000, 900, True),
    ([100, 40], 1000, 1060, True),  # one row in, one row out
    ([100], 1000, 950, False),  # half a row is no row
    ([100, 40], 1000, 1030, False),
])
def test_other_rows_each_add_remove_or_leave_their_shares(make_ctx, amounts, before, after,
                                                          consistent):
    rows = [row("others", a, None, purpose="Gadai") for a in amounts]
    _, result, _ = run(make_ctx, form(rows, before, after))
    reasons = [r["code"] for f in result["filings"] for r in f["reasons"]]
    assert ("holdings_mismatch" not in reasons) is consistent


def test_percentages_disagreeing_with_the_shares_outstanding_name_the_field(make_ctx):
    record = form(SELL, 1000, 900, pct_before="10", pct_after="8.5",
                  provenance={"percentage_after": text_at(1, "8,50 %")})
    ctx, _, (alert,) = run(make_ctx, record)
    assert alert["code"] == "percent_discrepancy"
    details = alert["reasons"][0]["details"]
    assert (details["field"], details["page"], details["text"]) == ("percentage_after", 1,
                                                                    "8,50 %")
    assert (details["pp_model"], details["pp_reported"]) == ("9.000", "8.5")
    assert ctx.sink.rows() == []


def test_a_tiny_holding_rounded_on_the_form_is_judged_by_the_precise_side(make_ctx):
    # 1,400 of 10 million shares prints as 0,01 %: the after side gives the share count.
    record = form([row("buy", 1_000_000, "1770")], 1_400, 1_001_400, pct_before="0.01",
                  pct_after="10.014")
    _, result, _ = run(make_ctx, record)
    assert [f["outcome"] for f in result["filings"]] == ["inserted"]


@pytest.mark.parametrize(("rows", "after", "pct_after"), [
    (SELL, 900, "900"),  # above 100 %
    ([row("sell", 1000, "1770")], 0, "0.5"),  # voting rights left with no share left
])
def test_a_percentage_no_holding_can_have_is_a_discrepancy(make_ctx, rows, after, pct_after):
    ctx, _, (alert,) = run(make_ctx, form(rows, 1000, after, pct_before="10",
                                          pct_after=pct_after))
    details = alert["reasons"][0]["details"]
    assert (alert["code"], details["field"]) == ("percent_discrepancy", "percentage_after")
    assert (details["reported_pp"], details["holding"]) == (pct_after, after)
    assert ctx.sink.rows() == []


def test_a_purpose_holding_the_repeated_header_is_not_stored(make_ctx):
    rows = [row("sell", 100, "1770", purpose="Divestasi purpose of transaction")]
    record = form(rows, 1000, 900, provenance={
        "rows[0].purpose": text_at(2, "Divestasi purpose of transaction")})
    ctx, result, (alert,) = run(make_ctx, record)
    assert (alert["code"], alert["category"]) == ("label_in_value", "not_inserted")
    assert alert["reasons"][0]["details"] == {
        "field": "rows[0].purpose", "page": 2, "text": "Divestasi purpose of transaction",
        "method": "text", "label": "purpose of transaction"}
    assert result["filings"][0]["outcome"] == "rejected" and ctx.sink.rows() == []


@pytest.mark.parametrize(("field", "value", "label"), [
    ("holder", "Nama (sesuai SID) Unitras Pertama", "Nama (sesuai SID)"),
    ("holder", "Unitras Pertama Jumlah Saham", "Jumlah Saham"),
    ("purpose", "Divestasi Halaman 2 dari 3", "Halaman"),
    ("purpose", "Investasi Page 2 of 3", "Page 2 of 3"),
    ("purpose", "Tujuan   Transaksi", "Tujuan   Transaksi"),
    ("position", "Jabatan Direktur", "Jabatan"),
])
def test_label_and_header_words_of_either_language_are_refused(make_ctx, field, value, label):
    purpose = value if field == "purpose" else "Divestasi"
    extra = {"position": value} if field == "position" else {}
    record = form([row("sell", 100, "1770", purpose=purpose)], 1000, 900,
                  holder=value if field == "holder" else "Unitras Pertama", **extra)
    ctx, _, (alert,) = run(make_ctx, record)
    assert alert["code"] == "label_in_value" and ctx.sink.rows() == []
    assert alert["reasons"][0]["details"]["label"] == label


def test_ordinary_purposes_that_mention_shares_are_values(make_ctx):
    rows = [row("sell", 100, "1770", purpose="Penjualan saham untuk kebutuhan pribadi")]
    _, result, alerts = run(make_ctx, form(rows, 1000, 900, position="Direktur Utama"))
    assert alerts == [] and result["filings"][0]["outcome"] == "inserted"


def test_an_operator_may_let_a_label_warning_through_but_never_silently(make_ctx):
    rows = [row("sell", 100, "1770", purpose="Divestasi purpose of transaction")]
    ctx, result, (alert,) = run(make_ctx, form(rows, 1000, 900),
                                env={"FILINGS_REJECT_CODES": "holdings_mismatch"})
    assert result["filings"][0]["outcome"] == "inserted" and len(ctx.sink.rows()) == 1
    assert (alert["code"], alert["category"]) == ("label_in_value", "inserted")


def test_no_listed_company_name_reads_as_form_vocabulary():
    names = [c["company_name"] for c in json.loads((BUNDLED_DIR / MAP_NAME).read_text()).values()]
    assert len(names) > 900
    assert [n for n in names if label_found(n)] == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["buy", "sell", "others"]),
                          st.integers(1, 10**9), st.sampled_from([-1, 0, 1])),
                min_size=1, max_size=6),
       st.integers(0, 2))
def test_holdings_that_follow_the_rows_always_pass_and_one_share_off_never(rows, off_by):
    before = 10**10
    change = sum(a if k == "buy" else -a if k == "sell" else sign * a for k, a, sign in rows)
    built = [row(k, a, None if k == "others" else "1770", purpose="Gadai") for k, a, _ in rows]
    only_signed = all(k != "others" for k, _, _ in rows)
    record = ParsedForm.from_json(form(built, before, before + change + off_by,
                                       pct_before="10", pct_after="10"))
    found = [r["code"] for r in check_form(record, {}, FilingsSettings())]
    if off_by == 0:
        assert "holdings_mismatch" not in found
    elif only_signed:
        assert "holdings_mismatch" in found


@pytest.mark.parametrize(("holder", "position", "belongs_to"), [
    ("Dewan Komisaris", None, "position"),  # the label column shifted one row
    ("DIREKTUR  UTAMA", None, "position"),
    ("Ya", None, "answer"),
    ("Langsung", None, "ownership"),
    ("Chief Strategy Officer", "Chief Strategy Officer", "position"),
])
def test_a_holder_that_is_another_fields_value_is_not_stored(make_ctx, holder, position,
                                                             belongs_to):
    record = form(SELL, 1000, 900, holder=holder, position=position,
                  provenance={"holder_name": text_at(1, holder)})
    ctx, _, (alert,) = run(make_ctx, record)
    assert (alert["code"], alert["category"]) == ("value_misplaced", "not_inserted")
    assert alert["reasons"][0]["details"] == {"field": "holder_name", "page": 1, "text": holder,
                                              "method": "text", "belongs_to": belongs_to}
    assert ctx.sink.rows() == []


def test_no_listed_company_name_is_another_fields_value():
    names = [c["company_name"] for c in json.loads((BUNDLED_DIR / MAP_NAME).read_text()).values()]
    assert [n for n in names if other_field_of(n)] == []
