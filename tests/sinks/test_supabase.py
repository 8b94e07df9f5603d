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
    assert read.args["or"] == '(symbol.eq."SRTG.JK",document_key.eq."LK-24042026-7431-00")'
    assert (post.method, post.path) == ("POST", PATH)
    assert post.args["on_conflict"] == "dedup_key" and post.args["select"] == "dedup_key"
    assert set(post.headers["Prefer"].split(",")) >= {"resolution=ignore-duplicates",
                                                      "return=representation"}
    assert post.headers["Apikey"] == KEY and post.headers["Authorization"] == f"Bearer {KEY}"
    (row,) = post.body
    assert (row["price"], row["transaction_value"]) == ("1770.000", "1628400000000")
    assert row["price_transaction"] == [{"date": "2026-04-24", "type": "sell", "price": 1770,
                                         "amount_transacted": 920000000}]
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
