"""The Supabase sink against a local PostgREST stand-in: the exact requests, pagination,
retryable 5xx and a refused 409 (a replay after a crash: test_replay_after_a_crash.py)."""

from __future__ import annotations

import json

import pytest
from structlog.testing import capture_logs

from daemon.errors import TransientError
from handlers.stages import generate
from tests.filings.forms import drop, examples, from_example
from tests.sinks.conftest import POSTGREST_PATH as PATH
from tests.sinks.conftest import SUPABASE_KEY as KEY
from tests.sinks.conftest import supabase_env


@pytest.fixture
def ctx(make_ctx, httpserver, postgrest):
    return make_ctx(env=supabase_env(httpserver))


def test_insert_is_an_upsert_that_ignores_duplicates(ctx, postgrest):
    generate.handle(drop(ctx.root, "srtg.json", from_example(examples()[0])), ctx)
    read, post = postgrest.seen  # the issuer's and the document's rows, then the insert
    assert (read.method, read.path) == ("GET", PATH)
    assert read.args["or"] == ('(and(symbol.eq."SRTG.JK",holder_name.ilike.*unitras*pertama*),'
                               'document_key.eq."LK-24042026-7431-00")')
    assert (post.method, post.path) == ("POST", PATH)
    assert post.args["on_conflict"] == "dedup_key" and post.args["select"] == "dedup_key"
    assert set(post.headers["Prefer"].split(",")) >= {"resolution=ignore-duplicates",
                                                      "return=representation"}
    assert post.headers["Apikey"] == KEY and post.headers["Authorization"] == f"Bearer {KEY}"
    (row,) = post.body
    assert (row["price"], row["transaction_value"]) == ("1770.000", "1628400000000")
    assert row["price_transaction"] == [{"date": "2026-04-24", "type": "sell", "price": 1770,
                                         "amount_transacted": 920000000,
                                         "ownership": "direct", "share_class": "Saham Biasa"}]
    assert row["tags"] == ["divestment"] and row["timestamp"] == "2026-04-24T17:03:00"
    assert row["document_key"] == "LK-24042026-7431-00"


def test_reads_are_paginated_until_the_exact_count(ctx, postgrest):
    for n in range(5):
        postgrest.rows[f"k{n}"] = {"id": n + 1, "dedup_key": f"k{n}", "source": f"s{n}"}
    rows = ctx.sink.rows()
    assert [r["dedup_key"] for r in rows] == ["k0", "k1", "k2", "k3", "k4"]
    gets = [s for s in postgrest.seen if s.method == "GET"]
    assert [(g.args["offset"], g.args["limit"]) for g in gets] == [("0", "2"), ("2", "2"),
                                                                   ("4", "2")]
    assert all(g.headers["Prefer"] == "count=exact" for g in gets)


def test_5xx_is_transient_then_the_file_goes_through(ctx, postgrest):
    path = drop(ctx.root, "srtg.json", from_example(examples()[0]))
    postgrest.failures = [(503, "text/html", "<html>Service Unavailable</html>"),
                          (502, "text/html", "<html>Bad Gateway</html>")]
    with capture_logs() as logs:
        for _ in range(2):
            with pytest.raises(TransientError) as raised:
                generate.handle(path, ctx)
            assert KEY not in str(raised.value)
    assert KEY not in repr(logs) and KEY not in repr(ctx.config)
    assert not (ctx.root / "data" / "filings" / "srtg.json").exists()
    generate.handle(path, ctx)
    assert len(postgrest.rows) == 1


def test_409_is_an_error_outcome_with_an_alert(ctx, postgrest):
    conflict = json.dumps({"code": "23505", "message": "duplicate key value violates unique "
                           "constraint \"idx_filings_pkey\"", "details": None, "hint": None})
    postgrest.failures = [(409, "application/json", conflict)]
    outputs = generate.handle(drop(ctx.root, "srtg.json", from_example(examples()[0])), ctx)
    filing = json.loads(outputs[0].read_text())["filings"][0]
    assert filing["outcome"] == "error" and "23505" in filing["error"]
    alert = json.loads(outputs[1].read_text())
    assert (alert["category"], alert["code"]) == ("not_inserted", "sink_error")
    assert alert["symbol"] == "SRTG.JK" and alert["value"] == "1628400000000"


def test_a_supersession_writes_the_history_first_then_patches_the_old_key(ctx, postgrest):
    from tests.sinks.documents import LK, hand_dropped

    path = drop(ctx.root, f"{LK}.json", hand_dropped(sold=920_000_000))
    generate.handle(path, ctx)
    (old_key,) = postgrest.rows
    path.write_text(json.dumps(hand_dropped(sold=900_000_000)))
    postgrest.seen.clear()
    generate.handle(path, ctx)
    read, history, patch = postgrest.seen
    assert (read.method, read.args["or"]) == (
        "GET", f'(and(symbol.eq."SRTG.JK",holder_name.ilike.*unitras*pertama*),'
               f'document_key.eq."{LK}")')
    assert (history.method, history.path) == ("POST", PATH + "_history")
    assert history.args["on_conflict"] == "history_key"
    assert set(history.headers["Prefer"].split(",")) >= {"resolution=ignore-duplicates",
                                                         "return=minimal"}
    assert (history.body["dedup_key"], history.body["reason"]) == (old_key, "new_content")
    assert history.body["previous"]["amount_transaction"] == 920_000_000
    assert history.headers["Apikey"] == KEY
    assert (patch.method, patch.path, patch.args) == ("PATCH", PATH,
                                                      {"dedup_key": f"eq.{old_key}"})
    assert patch.body["dedup_key"] == history.body["superseded_by"] != old_key
    assert patch.body["amount_transaction"] == 900_000_000
    postgrest.seen.clear()
    generate.handle(path, ctx)  # a replay asks the history which version it replaced
    read, asked = postgrest.seen
    assert (asked.method, asked.path) == ("GET", PATH + "_history")
    assert asked.args["superseded_by"] == f"in.({patch.body['dedup_key']})"


def test_a_filing_a_new_version_no_longer_has_is_retired_by_a_delete(ctx, postgrest):
    from tests.filings.forms import form, row

    both = form([row("buy", 100, "1770"), row("sell", 300, "1770")], 1000, 800)
    path = drop(ctx.root, "two.json", both)
    generate.handle(path, ctx)
    assert len(postgrest.rows) == 2
    path.write_text(json.dumps(form([row("sell", 200, "1770")], 1000, 800)))
    postgrest.seen.clear()
    record = json.loads(generate.handle(path, ctx)[0].read_text())
    assert [f["outcome"] for f in record["filings"]] == ["superseded"]
    methods = [(s.method, s.table) for s in postgrest.seen]
    assert methods == [("GET", "idx_filings"), ("POST", "idx_filings_history"),
                       ("PATCH", "idx_filings"), ("POST", "idx_filings_history"),
                       ("DELETE", "idx_filings")]
    (row_left,) = postgrest.rows.values()
    assert (row_left["transaction_type"], row_left["amount_transaction"]) == ("sell", 200)
    assert sorted(h["reason"] for h in postgrest.history.values()) == ["new_content", "retired"]


def test_without_the_history_table_a_new_version_is_refused_and_the_row_kept(ctx, postgrest):
    from tests.sinks.documents import LK, hand_dropped

    path = drop(ctx.root, f"{LK}.json", hand_dropped(sold=920_000_000))
    generate.handle(path, ctx)
    postgrest.missing_tables.add("idx_filings_history")
    path.write_text(json.dumps(hand_dropped(sold=900_000_000)))
    outputs = generate.handle(path, ctx)
    (filing,) = json.loads(outputs[0].read_text())["filings"]
    assert filing["outcome"] == "error" and "PGRST205" in filing["error"]
    assert "idx_filings_history" in filing["error"]
    alert = json.loads(outputs[1].read_text())
    assert (alert["category"], alert["code"]) == ("not_inserted", "sink_error")
    (row,) = postgrest.rows.values()
    assert row["amount_transaction"] == 920_000_000
