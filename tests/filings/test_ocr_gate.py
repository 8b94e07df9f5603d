"""A form read by OCR is stored only when every consistency check confirms it; otherwise it is
held with an `ocr_unverified` alert naming the field, its page, the text read and the OCR
confidence. What the form says about the holder and each row, and where each value was read,
reach `data/filings/` and the row.
"""

from __future__ import annotations

import json
import subprocess
import sys
from email import message_from_bytes, policy

from handlers.stages import generate
from tests.e2e.daemon import REPO
from tests.filings.forms import drop, form, row
from tests.support import write_toml


def ocr(page, text, confidence):
    return {"page": page, "method": "ocr", "confidence": confidence, "text": text}


def scanned(after=900, price="1770", **extra):
    """A one-row sale whose every value was read by OCR from a two-page scan."""
    provenance = {
        "holder_name": ocr(1, "UNITRAS PERTAMA", 93.5),
        "company_name": ocr(1, "SRTG - Saratoga Investama Sedaya Tbk", 91.0),
        "holding_before": ocr(1, "1.000", 95.2), "holding_after": ocr(1, f"{after:,}", 61.4),
        "percentage_before": ocr(1, "10,000 %", 90.0),
        "percentage_after": ocr(1, "9,000 %", 90.0),
        "rows[0].amount": ocr(2, "100", 88.0), "rows[0].price": ocr(2, price, 72.5),
        "rows[0].date": ocr(2, "24-Apr-2026", 89.0), "rows[0].purpose": ocr(2, "Divestasi", 84.0),
    }
    return form([row("sell", 100, price)], 1000, after, pct_before="10", pct_after="9.000",
                provenance=provenance, **extra)


def run(make_ctx, record):
    ctx = make_ctx()
    outputs = generate.handle(drop(ctx.root, "scan.json", record), ctx)
    return ctx, json.loads(outputs[0].read_text()), [json.loads(p.read_text())
                                                     for p in outputs[1:]]


def test_an_ocr_reading_every_check_confirms_is_stored_with_its_provenance(make_ctx):
    ctx, result, (alert,) = run(make_ctx, scanned())
    assert len(ctx.sink.rows()) == 1
    # Stored, but a person is told what no check could confirm: the name and the purpose.
    assert (alert["code"], alert["category"]) == ("ocr_read", "inserted")
    fields = alert["reasons"][0]["details"]["fields"]
    assert [(f["field"], f["text"], f["page"], f["confidence"]) for f in fields] == [
        ("holder_name", "UNITRAS PERTAMA", 1, 93.5), ("rows[0].purpose", "Divestasi", 2, 84.0)]
    assert "holder_name 'UNITRAS PERTAMA' (page 1, confidence 93.5)" in alert["message"]
    (filing,) = result["filings"]
    assert filing["outcome"] == "inserted"
    assert filing["provenance"]["holding_after"] == {"page": 1, "method": "ocr",
                                                     "confidence": 61.4}
    assert filing["provenance"]["share_percentage_after"]["method"] == "ocr"
    assert filing["provenance"]["price_transaction[0].price"] == {"page": 2, "method": "ocr",
                                                                  "confidence": 72.5}
    assert result["provenance"]["rows[0].price"]["text"] == "1770"


def test_an_ocr_reading_that_does_not_add_up_is_held_naming_the_field(make_ctx):
    ctx, result, (alert,) = run(make_ctx, scanned(after=950))
    assert (alert["code"], alert["category"]) == ("ocr_unverified", "not_inserted")
    held = alert["reasons"][0]
    assert held["details"] == {"field": "holding_after", "page": 1, "text": "950",
                               "method": "ocr", "confidence": 61.4,
                               "check": "holdings_mismatch"}
    assert "holding_after on page 1 reads '950' (OCR confidence 61.4)" in held["message"]
    assert alert["message"] == held["message"]
    assert "holdings_mismatch" in [r["code"] for r in alert["reasons"]]
    assert result["filings"][0]["outcome"] == "rejected" and ctx.sink.rows() == []


def test_an_ocr_price_far_from_the_market_is_held_though_text_would_be_stored(make_ctx):
    # 2,600 against a last close of 1,770: a warning for a text reading, a hold for OCR.
    ctx, _, (alert,) = run(make_ctx, scanned(price="2600"))
    assert alert["code"] == "ocr_unverified" and ctx.sink.rows() == []
    details = alert["reasons"][0]["details"]
    assert (details["field"], details["page"], details["confidence"], details["check"]) == \
        ("rows[0].price", 2, 72.5, "price_deviation_vs_market")


def test_warnings_about_the_filing_not_its_values_do_not_hold_an_ocr_reading(make_ctx):
    ctx, result, (alert,) = run(make_ctx, scanned(correction=True))
    assert alert["code"] == "correction_filing" and len(ctx.sink.rows()) == 1
    assert result["filings"][0]["outcome"] == "inserted"


def test_holder_and_row_fields_reach_the_filing_and_the_row(make_ctx):
    rows = [row("sell", 100, "1770"), {**row("sell", 50, "1770"), "ownership": "Tidak Langsung"}]
    record = form(rows, 1000, 850, position="Direktur Utama", board_member="Direksi",
                  controlling_shareholder=False)
    ctx, result, _ = run(make_ctx, record)
    stored = result["filings"][0]["row"]
    assert (stored["position"], stored["board_member"], stored["controlling_shareholder"]) == \
        ("Direktur Utama", "Direksi", False)
    assert (stored["ownership"], stored["share_class"]) == ("mixed", "Saham Biasa")
    assert [(p["ownership"], p["share_class"]) for p in stored["price_transaction"]] == \
        [("direct", "Saham Biasa"), ("indirect", "Saham Biasa")]
    (database_row,) = ctx.sink.rows()
    assert database_row["controlling_shareholder"] is False
    assert database_row["position"] == "Direktur Utama"


def test_a_form_silent_about_the_holder_stores_nulls(make_ctx):
    rows = [{**row("sell", 100, "1770"), "ownership": ""}]
    ctx, _, _ = run(make_ctx, form(rows, 1000, 900))
    (database_row,) = ctx.sink.rows()
    assert [database_row[c] for c in ("position", "board_member", "controlling_shareholder",
                                      "ownership")] == [None, None, None, None]


def test_the_window_email_names_the_field_an_ocr_reading_was_held_for(tmp_path):
    root = tmp_path / "root"
    drop(root, "scan.json", scanned(after=950))
    config = write_toml(tmp_path / "idxd.toml", {
        "daemon": {"root": str(root), "durable_writes": False, "log_format": "json"}})
    done = subprocess.run([sys.executable, "-m", "daemon", "--config", str(config), "once",
                           "--no-ingest", "--date", "2026-04-24", "--start", "16:00",
                           "--end", "18:00"], cwd=REPO, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (sent,) = (root / "outbox").glob("*.eml")
    message = message_from_bytes(sent.read_bytes(), policy=policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "ocr_unverified" in text
    assert "holding_after on page 1 reads '950' (OCR confidence 61.4)" in text
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "ocr_unverified" in html and "holding_after on page 1" in html
