"""One row per real filing, on every sink: the same form arriving again with its announcement
updates the row's context, new figures for a known document and correction forms supersede the
stored row with the previous version kept in the history table, and replaying any of these
writes the same outcome file byte for byte."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from handlers.domain.filings import versions
from handlers.stages import generate
from tests.filings.forms import drop
from tests.sinks.documents import LK, URL, correction, downloaded, hand_dropped, sale
from tests.sinks.every_sink import SinkUnderTest


def run(sink: SinkUnderTest, name: str, record: dict[str, Any]) -> tuple[dict[str, Any], list]:
    outputs = generate.handle(drop(sink.ctx.root, name, record), sink.ctx)
    return json.loads(outputs[0].read_text()), [json.loads(p.read_text()) for p in outputs[1:]]


def test_a_hand_dropped_form_then_its_sidecar_is_one_row_with_the_sidecars_context(
        sink: SinkUnderTest) -> None:
    first, _ = run(sink, f"{LK}.json", hand_dropped())
    (row,) = sink.active()
    assert (row["source"], _instant(row)) == (f"{LK}.pdf", "2026-04-24T00:00:00")
    second, alerts = run(sink, f"SRTG_{LK}_5f1c0a9e2b.json", downloaded())
    (row,) = sink.active()
    assert row["source"] == URL and _instant(row) == "2026-04-24T17:03:00"
    assert row["document_key"] == LK
    (filing,) = second["filings"]
    assert filing["outcome"] == "context_updated"
    assert filing["dedup_key"] == filing["previous_key"] == first["filings"][0]["dedup_key"]
    assert filing["changes"] == {"source": [f"{LK}.pdf", URL],
                                 "timestamp": ["2026-04-24T00:00:00", "2026-04-24T17:03:00"]}
    assert alerts == []  # the filing was told of when it first arrived
    (kept,) = sink.history()
    assert (kept["reason"], kept["previous"]["source"]) == ("context", f"{LK}.pdf")
    sink.check_reads()


def test_a_rewrite_with_new_figures_supersedes_and_keeps_the_old_version(
        sink: SinkUnderTest) -> None:
    path = drop(sink.ctx.root, f"{LK}.json", hand_dropped(sold=920_000_000))
    first = json.loads(generate.handle(path, sink.ctx)[0].read_text())
    path.write_text(json.dumps(hand_dropped(sold=900_000_000)))  # same name, new content
    outputs = generate.handle(path, sink.ctx)
    record = json.loads(outputs[0].read_text())
    (row,) = sink.active()
    assert (row["amount_transaction"], row["holding_after"]) == (900_000_000, 3_389_610_000)
    (kept,) = sink.history()
    assert kept["previous"]["amount_transaction"] == 920_000_000
    (filing,) = record["filings"]
    old_key = first["filings"][0]["dedup_key"]
    assert (filing["outcome"], filing["previous_key"]) == ("superseded", old_key)
    assert filing["dedup_key"] == row["dedup_key"] != old_key
    assert (kept["dedup_key"], kept["superseded_by"]) == (old_key, row["dedup_key"])
    assert filing["changes"]["amount_transaction"] == [920_000_000, 900_000_000]
    alert = next(json.loads(p.read_text()) for p in outputs[1:] if "superseded" in p.name)
    assert (alert["code"], alert["severity"], alert["needs_review"]) == ("superseded", "info",
                                                                         False)
    details = alert["context"]["details"]
    assert (details["key"], details["previous_key"]) == (row["dedup_key"], old_key)
    assert details["changes"]["holding_after"] == [3_369_610_000, 3_389_610_000]
    assert (details["symbol"], details["holder_name"]) == ("SRTG.JK", "Unitras Pertama")
    again = generate.handle(path, sink.ctx)  # a replay: the same outcome, nothing more stored
    assert again == outputs and again[0].read_bytes() == outputs[0].read_bytes()
    assert (sink.stored(), len(sink.history())) == (1, 1)


def test_a_correction_restating_only_holdings_keeps_the_original_transactions(
        sink: SinkUnderTest) -> None:
    original, _ = run(sink, "original.json", downloaded())
    record, alerts = run(sink, "koreksi.json", correction(4_300_000_000, 3_380_000_000))
    (row,) = sink.active()
    assert (row["holding_before"], row["holding_after"]) == (4_300_000_000, 3_380_000_000)
    assert (row["transaction_type"], row["amount_transaction"]) == ("sell", 920_000_000)
    assert [(p["date"], p["amount_transacted"]) for p in row["price_transaction"]] == \
        [("2026-04-24", 920_000_000)]
    assert row["tags"] == ["divestment"] and "divestment" in row["body"]
    (filing,) = record["filings"]
    assert (filing["outcome"], filing["previous_key"]) == (
        "superseded", original["filings"][0]["dedup_key"])
    assert set(filing["changes"]) >= {"holding_before", "holding_after"}
    assert "amount_transaction" not in filing["changes"]
    (kept,) = sink.history()
    assert (kept["reason"], kept["previous"]["holding_before"]) == ("correction", 4_289_610_000)
    assert [a["code"] for a in alerts] == ["superseded"]  # no "check the earlier filing"


def test_a_correction_with_its_rows_supersedes_the_filing_whose_dates_it_shares(
        sink: SinkUnderTest) -> None:
    run(sink, "original.json", downloaded())
    fixed = correction(4_289_610_000, 3_389_610_000, [sale(900_000_000, "2026-04-24")])
    record, _ = run(sink, "koreksi.json", fixed)
    (row,) = sink.active()
    assert row["amount_transaction"] == 900_000_000 and row["document_key"] == \
        "LK-27042026-0100-00"
    assert record["filings"][0]["outcome"] == "superseded"
    assert len(sink.history()) == 1


def _instant(row: dict[str, Any]) -> str:
    """The stored publish time as text, whether the database keeps text or a timestamp."""
    value = row["timestamp"]
    return value if isinstance(value, str) else value.isoformat()


def test_a_row_stored_under_an_older_key_is_still_recognised(sink: SinkUnderTest) -> None:
    """Rows from before the key was the form's own (its date was the arrival's) or from the
    original system: identity is recomputed from the stored columns, so no second row."""
    outputs = generate.handle(drop(sink.ctx.root, "first.json", downloaded()), sink.ctx)
    (row,) = sink.active()
    legacy = {**json.loads(outputs[0].read_text())["filings"][0]["row"],
              "dedup_key": "legacy-" + "0" * 57, "document_key": None,
              "source": "https://www.idx.co.id/old/location.pdf"}
    sink.ctx.sink.replace(row["dedup_key"], {
        "history_key": "seed", "filing_id": None, "dedup_key": row["dedup_key"],
        "superseded_by": legacy["dedup_key"], "document_key": None, "source": None,
        "reason": "seed", "changes": {}, "previous": {}}, legacy)
    record, alerts = run(sink, "again.json", downloaded())
    assert record["filings"][0]["outcome"] == "already_present" and alerts == []
    assert [r["dedup_key"] for r in sink.active()] == [legacy["dedup_key"]]


def test_a_new_version_with_fewer_filings_retires_the_rest_to_history(
        sink: SinkUnderTest) -> None:
    from tests.filings.forms import form, row

    path = drop(sink.ctx.root, "two.json",
                form([row("buy", 100, "1770"), row("sell", 300, "1770")], 1000, 800))
    generate.handle(path, sink.ctx)
    assert [r["transaction_type"] for r in sink.active()] == ["buy", "sell"]
    path.write_text(json.dumps(form([row("sell", 200, "1770")], 1000, 800)))
    generate.handle(path, sink.ctx)
    (left,) = sink.active()
    assert (left["transaction_type"], left["amount_transaction"]) == ("sell", 200)
    assert sorted(h["reason"] for h in sink.history()) == ["new_content", "retired"]


def test_the_hand_dropped_copy_after_the_published_form_changes_nothing(
        sink: SinkUnderTest) -> None:
    run(sink, f"SRTG_{LK}_5f1c0a9e2b.json", downloaded())
    record, alerts = run(sink, f"{LK}.json", hand_dropped())
    assert record["filings"][0]["outcome"] == "already_present" and alerts == []
    (row,) = sink.active()
    assert row["source"] == URL and sink.history() == []


def test_two_versions_of_one_document_generated_at_once_leave_one_active_row(
        sink: SinkUnderTest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two generate workers on two versions of one document: each plans against what the sink
    holds, so the second must see the first's row (else both would insert)."""
    planned = versions.plan

    def slow_plan(*args: Any, **kwargs: Any) -> Any:
        found = planned(*args, **kwargs)
        time.sleep(0.3)  # wide open: the other worker reads the sink meanwhile
        return found

    monkeypatch.setattr(versions, "plan", slow_plan)
    paths = [drop(sink.ctx.root, f"v{n}.json", hand_dropped(sold=sold))
             for n, sold in enumerate((920_000_000, 900_000_000))]
    workers = [threading.Thread(target=generate.handle, args=(p, sink.ctx)) for p in paths]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sink.stored() == 1
    assert len(sink.history()) == 1
