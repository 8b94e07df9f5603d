"""A crash between a sink's insert and the outcome file, then the replay, for every sink: the
row is stored once, the replay says `inserted` (it was this file's insert), and replaying again
writes the same outcome file byte for byte.

The power cut is simulated by making the outcome write fail after the insert went through;
each sink is counted from outside its own code (SQL, the stand-in's rows) where it can be.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
import pytest

from handlers.context import PipelineContext
from handlers.stages import generate
from tests.filings.forms import drop, examples, from_example
from tests.sinks.conftest import pg_env, supabase_env


@dataclass
class SinkUnderTest:
    ctx: PipelineContext
    stored: Callable[[], int]  # how many rows the sink holds
    check_reads: Callable[[], None] = lambda: None  # what only this sink's replay must show


def sqlite_sink(request: pytest.FixtureRequest, make_ctx) -> SinkUnderTest:
    ctx = make_ctx()
    return SinkUnderTest(ctx, lambda: len(ctx.sink.rows()))


def postgres_sink(request: pytest.FixtureRequest, make_ctx) -> SinkUnderTest:
    cluster, table = request.getfixturevalue("pg_cluster"), request.getfixturevalue("pg_table")

    def stored() -> int:
        with psycopg.connect(cluster.dsn) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    return SinkUnderTest(make_ctx(env=pg_env(cluster, table)), stored)


def supabase_sink(request: pytest.FixtureRequest, make_ctx) -> SinkUnderTest:
    httpserver, postgrest = (request.getfixturevalue("httpserver"),
                             request.getfixturevalue("postgrest"))

    def reads_are_narrowed() -> None:
        """Never the whole table: the issuer's or the document's rows, the history of keys."""
        reads = [s for s in postgrest.seen if s.method == "GET"]
        assert reads and all(
            s.args.get("or", "").startswith('(symbol.eq."SRTG.JK",document_key.eq.')
            if s.table == "idx_filings" else s.args["superseded_by"].startswith("in.(")
            for s in reads)

    return SinkUnderTest(make_ctx(env=supabase_env(httpserver)), lambda: len(postgrest.rows),
                         reads_are_narrowed)


@pytest.fixture(params=[sqlite_sink, postgres_sink, supabase_sink],
                ids=["sqlite", "postgres", "supabase"])
def sink(request: pytest.FixtureRequest, make_ctx) -> SinkUnderTest:
    """Each sink in turn; only the one under test starts its service."""
    return request.param(request, make_ctx)


def test_a_replay_after_a_crash_between_insert_and_outcome_stores_one_row(
        sink: SinkUnderTest, monkeypatch) -> None:
    ctx = sink.ctx
    path = drop(ctx.root, "srtg.json", from_example(examples()[0]))
    with monkeypatch.context() as patch:
        patch.setattr(generate, "write_json_atomic", _crash)
        with pytest.raises(OSError):
            generate.handle(path, ctx)  # inserted, then the crash: no outcome, no ledger entry
    assert sink.stored() == 1  # the insert happened, the outcome was never written
    (output,) = generate.handle(path, ctx)
    first = output.read_bytes()
    assert [f["outcome"] for f in json.loads(first)["filings"]] == ["inserted"]
    assert generate.handle(path, ctx)[0].read_bytes() == first
    assert sink.stored() == 1
    sink.check_reads()


def _crash(*_args, **_kwargs):
    raise OSError("power cut")
