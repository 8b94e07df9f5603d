"""The PostgreSQL sink on a real throwaway cluster: schema, exactly once, concurrency, outages."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal

import psycopg
import pytest

from daemon.errors import TransientError
from handlers.adapters.sinks.postgres import PostgresSink
from handlers.stages import generate
from tests.filings.forms import drop, examples, from_example
from tests.sinks.conftest import pg_env


def pg_ctx(make_ctx, cluster, table):
    return make_ctx(env=pg_env(cluster, table))


def count(cluster, table):
    with psycopg.connect(cluster.dsn) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_schema_is_applied_and_rows_are_exact(make_ctx, pg_cluster, pg_table):
    ctx = pg_ctx(make_ctx, pg_cluster, pg_table)
    for i, example in enumerate(examples()):
        generate.handle(drop(ctx.root, f"f{i}.json", from_example(example)), ctx)
    rows = ctx.sink.rows()
    assert [r["symbol"] for r in rows] == ["SRTG.JK", "BYAN.JK"]
    assert rows[1]["price"] == Decimal("12248.217")
    assert rows[0]["share_percentage_after"] == Decimal("24.841")
    assert rows[0]["tags"] == ["divestment"]
    assert rows[1]["price_transaction"][0] == {"date": "2026-04-22", "type": "sell",
                                               "price": 12344, "amount_transacted": 11300,
                                               "ownership": "direct",
                                               "share_class": "Saham Biasa"}
    assert rows[0]["timestamp"].isoformat() == "2026-04-24T17:03:00"


def _insert_examples(dsn: str, table: str) -> int:
    sink = PostgresSink(dsn, table)
    rows = [_row(example) for example in examples()]
    try:
        return len(sink.insert(rows))
    finally:
        sink.close()


def _row(example):
    from handlers.domain.filings.aggregate import split_legs
    from handlers.domain.filings.rows import build_filing
    from handlers.domain.ksei.records import ParsedForm

    form = ParsedForm.from_json(from_example(example))
    return build_filing(form, split_legs(form)[0], None).row


def test_two_processes_inserting_the_same_filings_leave_one_row_each(pg_cluster, pg_table):
    PostgresSink(pg_cluster.dsn, pg_table).close()  # nothing created until first use
    with ProcessPoolExecutor(max_workers=2) as pool:
        rounds = [sum(pool.map(_insert_examples, [pg_cluster.dsn] * 2, [pg_table] * 2))
                  for _ in range(3)]
    assert rounds == [2, 0, 0]  # each filing inserted by exactly one process, once
    assert count(pg_cluster, pg_table) == 2


def test_database_down_makes_the_file_wait_then_go_through(make_ctx, pg_cluster, pg_table):
    ctx = pg_ctx(make_ctx, pg_cluster, pg_table)
    first = drop(ctx.root, "a.json", from_example(examples()[0]))
    generate.handle(first, ctx)  # connected and schema applied
    second = drop(ctx.root, "b.json", from_example(examples()[1]))
    pg_cluster.stop()
    try:
        for _ in range(2):  # the engine would retry; each attempt fails fast while it is down
            with pytest.raises(TransientError):
                generate.handle(second, ctx)
        assert not (ctx.root / "data" / "filings" / "b.json").exists()
    finally:
        pg_cluster.start()
    generate.handle(second, ctx)
    assert count(pg_cluster, pg_table) == 2

