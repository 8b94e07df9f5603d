"""Each sink under test in the same shape: a pipeline context that writes to it, and its active
and history rows read from outside the sink's own code where that can be (SQL, the stand-in's
tables). `sink` in conftest.py gives every test that asks for it SQLite, PostgreSQL and
Supabase in turn; only the one under test starts its service."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from handlers.context import PipelineContext
from tests.sinks.conftest import pg_env, supabase_env

Rows = Callable[[], list[dict[str, Any]]]


@dataclass
class SinkUnderTest:
    name: str
    ctx: PipelineContext
    env: Mapping[str, str]  # what points a pipeline (or a child process) at this sink
    active: Rows  # the filings table, oldest first
    history: Rows  # the history table, oldest first
    check_reads: Callable[[], None] = lambda: None  # what only this sink's replay must show

    def stored(self) -> int:
        return len(self.active())


def sqlite_sink(request: pytest.FixtureRequest, make_ctx: Any) -> SinkUnderTest:
    ctx = make_ctx()
    database = ctx.root / "state" / "filings.sqlite3"

    def select(table: str) -> list[dict[str, Any]]:
        ctx.sink  # opened (and its schema made) before it is read from outside  # noqa: B018
        with sqlite3.connect(database) as conn:
            conn.row_factory = sqlite3.Row
            return [_decoded(dict(r)) for r in conn.execute(f"SELECT * FROM {table} ORDER BY id")]

    return SinkUnderTest("sqlite", ctx, {}, lambda: select("idx_filings"),
                         lambda: select("idx_filings_history"))


def postgres_sink(request: pytest.FixtureRequest, make_ctx: Any) -> SinkUnderTest:
    cluster, table = request.getfixturevalue("pg_cluster"), request.getfixturevalue("pg_table")
    env = pg_env(cluster, table)
    ctx = make_ctx(env=env)

    def select(name: str) -> list[dict[str, Any]]:
        ctx.sink.rows()  # connected, so the schema exists
        with psycopg.connect(cluster.dsn, row_factory=dict_row) as conn:
            return list(conn.execute(f"SELECT * FROM {name} ORDER BY id").fetchall())

    return SinkUnderTest("postgres", ctx, env, lambda: select(table),
                         lambda: select(f"{table}_history"))


def supabase_sink(request: pytest.FixtureRequest, make_ctx: Any) -> SinkUnderTest:
    httpserver, postgrest = (request.getfixturevalue("httpserver"),
                             request.getfixturevalue("postgrest"))
    env = supabase_env(httpserver)

    def reads_are_narrowed() -> None:
        """Never the whole table: the holder's rows in the issuer or the document's, the
        history of keys."""
        reads = [s for s in postgrest.seen if s.method == "GET"]
        assert reads and all(
            s.args.get("or", "").startswith('(and(symbol.eq."') if s.table == "idx_filings"
            else s.args["superseded_by"].startswith("in.(") for s in reads)

    def ordered(rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(rows.values(), key=lambda row: row["id"])

    return SinkUnderTest("supabase", make_ctx(env=env), env, lambda: ordered(postgrest.rows),
                         lambda: ordered(postgrest.history), reads_are_narrowed)


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    for column in ("tags", "price_transaction", "changes", "previous"):
        if isinstance(row.get(column), str):
            row[column] = json.loads(row[column])
    return row


SINKS = {"sqlite": sqlite_sink, "postgres": postgres_sink, "supabase": supabase_sink}
