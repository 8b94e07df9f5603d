"""The embedded SQLite sink: its own schema, exact numbers, a locked database waits."""

from __future__ import annotations

import sqlite3

import pytest

from daemon.errors import TransientError
from handlers.adapters.sinks.sqlite import SqliteSink
from handlers.stages import generate
from tests.filings.forms import drop, examples, from_example


def test_default_sink_is_a_file_under_the_root_with_exact_numbers(make_ctx):
    ctx = make_ctx()
    generate.handle(drop(ctx.root, "byan.json", from_example(examples()[1])), ctx)
    database = ctx.root / "state" / "filings.sqlite3"
    with sqlite3.connect(database) as conn:
        price, kind, pct = conn.execute(
            "SELECT price, typeof(price), share_percentage_before FROM idx_filings").fetchone()
    assert (price, kind, pct) == ("12248.217", "text", "0.000")  # never a float


def test_rows_survive_a_new_context(make_ctx, tmp_path):
    root = tmp_path / "shared"
    first = make_ctx(root=root)
    generate.handle(drop(root, "srtg.json", from_example(examples()[0])), first)
    first.close()
    again = make_ctx(root=root)
    generate.handle(drop(root, "srtg.json", from_example(examples()[0])), again)
    assert len(again.sink.rows()) == 1


def test_a_locked_database_is_transient(make_ctx):
    root = make_ctx().root
    path = root / "state" / "filings.sqlite3"
    sink = SqliteSink(path, busy_timeout_s=0.05)
    ctx = make_ctx(root=root, sink=sink)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    parsed = drop(ctx.root, "srtg.json", from_example(examples()[0]))
    try:
        with pytest.raises(TransientError):
            generate.handle(parsed, ctx)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    generate.handle(parsed, ctx)
    assert len(sink.rows()) == 1
    sink.close()
