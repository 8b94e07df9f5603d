"""The columns added for the holder's position, board membership, controlling-shareholder status
and each filing's ownership and share class: they land in SQLite, PostgreSQL and Supabase; a
table created by the schema idxd shipped before them (`old_schema/`) keeps taking rows.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import psycopg
import pytest
from structlog.testing import capture_logs

from daemon.errors import TransientError
from handlers.adapters.sinks.base import schema_sql
from handlers.stages import generate
from tests.filings.forms import drop, form, row
from tests.sinks.conftest import pg_env, supabase_env

OLD_SCHEMA = Path(__file__).parent / "old_schema"
NEW = ("position", "board_member", "controlling_shareholder", "ownership", "share_class")


def filing(holder="Unitras Pertama"):
    rows = [row("sell", 100, "1770"), {**row("sell", 50, "1770"), "ownership": "Tidak Langsung"}]
    return form(rows, 1000, 850, holder=holder, position="Komisaris Utama",
                board_member="Dewan Komisaris", controlling_shareholder=True)


def store(ctx, name="f.json", holder="Unitras Pertama"):
    record = filing(holder)
    # Each file its own document: two files of one document would be versions of each other.
    record["document"] = {"filename": f"{name}.pdf",
                          "sha256": hashlib.sha256(name.encode()).hexdigest(), "pages": 2}
    record["announcement"]["url"] = f"https://www.idx.co.id/x/{name}.pdf"
    generate.handle(drop(ctx.root, name, record), ctx)


def old_sql(name, table):
    return (OLD_SCHEMA / name).read_text().replace("idx_filings", table)


def test_sqlite_stores_the_new_fields(make_ctx):
    ctx = make_ctx()
    store(ctx)
    with sqlite3.connect(ctx.root / "state" / "filings.sqlite3") as conn:
        found = conn.execute(f"SELECT {', '.join(NEW)} FROM idx_filings").fetchone()
    assert found == ("Komisaris Utama", "Dewan Komisaris", 1, "mixed", "Saham Biasa")


def test_an_sqlite_table_from_the_old_schema_gains_the_columns_and_keeps_its_rows(make_ctx,
                                                                                  tmp_path):
    root = tmp_path / "root"
    database = root / "state" / "filings.sqlite3"
    database.parent.mkdir(parents=True)
    with sqlite3.connect(database) as conn:
        conn.executescript(old_sql("idx_filings.sqlite.sql", "idx_filings"))
        conn.execute("INSERT INTO idx_filings (symbol, holder_name, dedup_key) "
                     "VALUES ('BYAN.JK', 'Stored Before', 'old-key')")
    ctx = make_ctx(root=root)
    store(ctx)
    rows = ctx.sink.rows()
    assert [(r["holder_name"], r["position"], r["controlling_shareholder"]) for r in rows] == \
        [("Stored Before", None, None), ("Unitras Pertama", "Komisaris Utama", True)]


def test_postgres_stores_the_new_fields(make_ctx, pg_cluster, pg_table):
    ctx = make_ctx(env=pg_env(pg_cluster, pg_table))
    store(ctx)
    (stored,) = ctx.sink.rows()
    assert [stored[c] for c in NEW] == ["Komisaris Utama", "Dewan Komisaris", True, "mixed",
                                        "Saham Biasa"]
    assert [p["ownership"] for p in stored["price_transaction"]] == ["direct", "indirect"]


def test_a_postgres_table_from_the_old_schema_gains_the_columns_at_start(make_ctx, pg_cluster,
                                                                         pg_table):
    with psycopg.connect(pg_cluster.dsn, autocommit=True) as conn:
        conn.execute(old_sql("idx_filings.sql", pg_table).encode())
        conn.execute(f"INSERT INTO {pg_table} (symbol, holder_name, dedup_key) "
                     "VALUES ('BYAN.JK', 'Stored Before', 'old-key')")
    ctx = make_ctx(env=pg_env(pg_cluster, pg_table))
    store(ctx)
    rows = ctx.sink.rows()
    assert [(r["holder_name"], r["share_class"]) for r in rows] == \
        [("Stored Before", None), ("Unitras Pertama", "Saham Biasa")]


def writer_of_old_table(pg_cluster, pg_table, with_identity=True):
    """A role that may read and write, not alter, a table made by the old schema; its owner has
    added what telling documents apart needs (`document_key`, the history table) or not."""
    writer = f"writer_{pg_table}"[:60]
    history = f"{pg_table}_history"
    with psycopg.connect(pg_cluster.dsn, autocommit=True) as conn:
        conn.execute(old_sql("idx_filings.sql", pg_table).encode())
        if with_identity:
            conn.execute(f"ALTER TABLE {pg_table} ADD COLUMN document_key text")
            conn.execute(schema_sql("postgres", pg_table, "idx_filings_history").encode())
        conn.execute(f"CREATE ROLE {writer} LOGIN")
        conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {pg_table} TO {writer}")
        conn.execute(f"GRANT USAGE ON SEQUENCE {pg_table}_id_seq TO {writer}")
        if with_identity:
            conn.execute(f"GRANT SELECT, INSERT ON {history} TO {writer}")
            conn.execute(f"GRANT USAGE ON SEQUENCE {history}_id_seq TO {writer}")
    return {**pg_env(pg_cluster, pg_table),
            "DATABASE_URL": pg_cluster.dsn.replace("user=postgres", f"user={writer}")}


def test_a_postgres_table_this_role_may_not_alter_keeps_working_and_says_what_to_run(
        make_ctx, pg_cluster, pg_table):
    env = writer_of_old_table(pg_cluster, pg_table)
    with capture_logs() as logs:
        first = make_ctx(env=env)
        store(first)
    assert [r["holder_name"] for r in first.sink.rows()] == ["Unitras Pertama"]
    (missing,) = [e for e in logs if e["event"] == "sink.columns_missing"]
    assert missing["columns"] == list(NEW)
    first.close()
    # The owner runs the statement the log gave; the next start writes the columns.
    with psycopg.connect(pg_cluster.dsn, autocommit=True) as conn:
        conn.execute(missing["run"].encode())
    again = make_ctx(env=env)
    store(again, "g.json", holder="Second Holder")
    assert [r["position"] for r in again.sink.rows()] == [None, "Komisaris Utama"]


def test_without_document_key_the_files_wait_with_what_the_owner_must_run(make_ctx, pg_cluster,
                                                                         pg_table):
    env = writer_of_old_table(pg_cluster, pg_table, with_identity=False)
    ctx = make_ctx(env=env)
    with pytest.raises(TransientError) as waiting:
        store(ctx)
    assert f"{pg_table} lacks column document_key and table {pg_table}_history" in \
        str(waiting.value)
    assert "idx_filings_history.sql" in str(waiting.value)


@pytest.fixture
def supabase_ctx(make_ctx, httpserver, postgrest):
    return make_ctx(env=supabase_env(httpserver))


def test_supabase_sends_the_new_fields_to_a_table_that_has_them(supabase_ctx, postgrest):
    store(supabase_ctx)
    (post,) = [s for s in postgrest.seen if s.method == "POST"]
    (sent,) = post.body
    assert [sent[c] for c in NEW] == ["Komisaris Utama", "Dewan Komisaris", True, "mixed",
                                      "Saham Biasa"]


def test_supabase_leaves_out_the_columns_an_old_table_lacks(supabase_ctx, postgrest):
    from handlers.adapters.sinks.base import COLUMNS

    postgrest.columns = set(COLUMNS) - set(NEW) | {"id"}
    with capture_logs() as logs:
        store(supabase_ctx)
        store(supabase_ctx, "g.json", holder="Second Holder")
    stored = sorted(postgrest.rows.values(), key=lambda r: r["id"])
    assert [r["holder_name"] for r in stored] == ["Unitras Pertama", "Second Holder"]
    assert not set(NEW) & {key for r in stored for key in r}
    refused = [s for s in postgrest.seen if s.method == "POST" and set(NEW) & set(s.body[0])]
    assert len(refused) == len(NEW)  # each missing column costs one refusal, once
    missing = [e["columns"][0] for e in logs if e["event"] == "sink.columns_missing"]
    assert sorted(missing) == sorted(NEW)
