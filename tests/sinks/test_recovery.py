"""Sinks recover: a connection that failed is discarded and the next attempt opens a new one.

Each test goes through the generate stage with one context, as the daemon does between two
retries: the sink fails transiently while the database cannot be used, then the same context
stores the filing once it can, with no restart (a lock held by another writer:
test_sqlite.py). SQLite is made read-only with chmod, which only
binds an unprivileged user, so as root the scenario runs in a child process that has dropped to
`nobody`; PostgreSQL is the real throwaway cluster, restarted under an open connection.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import tempfile
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import psycopg
import pytest

from daemon.errors import TransientError
from handlers.context import PipelineContext
from handlers.stages import generate
from tests.filings.forms import drop, examples, from_example
from tests.sinks.conftest import pg_env

NOBODY = 65534


@pytest.fixture
def shared_root() -> Iterator[Path]:
    """A root an unprivileged user can reach (pytest's own temp tree is root's alone)."""
    directory = Path(tempfile.mkdtemp(prefix="idxd-sink-"))
    try:
        yield directory / "root"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run_unprivileged(scenario: Callable[[], None], top: Path) -> None:
    """Run `scenario` where chmod binds: in a child as `nobody` when we are root."""
    if os.geteuid() != 0:
        scenario()
        return
    for path in [top, *top.rglob("*")]:
        os.chown(path, NOBODY, NOBODY)
    receive, send = multiprocessing.get_context("fork").Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(target=_as_nobody,
                                                        args=(scenario, send))
    child.start()
    send.close()
    report = receive.recv() if receive.poll(120) else "no answer from the child in 120 s"
    child.join(10)
    assert report == "ok", report


def _as_nobody(scenario: Callable[[], None], send: Connection) -> None:
    try:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        scenario()
        send.send("ok")
    except BaseException:  # the parent reports it: a child's traceback would be lost
        send.send(traceback.format_exc())


@pytest.mark.parametrize("read_only", ["file", "file and directory"])
def test_a_read_only_sqlite_sink_recovers_once_writable(make_ctx, shared_root, read_only):
    first = make_ctx(root=shared_root)
    generate.handle(drop(shared_root, "srtg.json", from_example(examples()[0])), first)
    first.close()
    database = shared_root / "state" / "filings.sqlite3"
    targets = [database] if read_only == "file" else [database, database.parent]
    modes = [target.stat().st_mode & 0o777 for target in targets]
    parsed = drop(shared_root, "byan.json", from_example(examples()[1]))
    ctx = make_ctx(root=shared_root)  # a daemon started while the sink could not be written

    def scenario() -> None:
        for target, mode in zip(targets, modes, strict=True):
            target.chmod(mode & ~0o222)
        for _ in range(2):  # each retry fails while it stays read-only
            with pytest.raises(TransientError, match=r"readonly|unable to open"):
                generate.handle(parsed, ctx)
        assert not (shared_root / "data" / "filings" / "byan.json").exists()
        for target, mode in zip(targets, modes, strict=True):
            target.chmod(mode)
        generate.handle(parsed, ctx)
        assert [row["symbol"] for row in ctx.sink.rows()] == ["SRTG.JK", "BYAN.JK"]

    run_unprivileged(scenario, shared_root.parent)
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM idx_filings").fetchone() == (2,)


def test_postgres_restarted_under_an_open_connection_is_reconnected(make_ctx, pg_cluster,
                                                                    pg_table):
    ctx: PipelineContext = make_ctx(env=pg_env(pg_cluster, pg_table))
    generate.handle(drop(ctx.root, "srtg.json", from_example(examples()[0])), ctx)
    parsed = drop(ctx.root, "byan.json", from_example(examples()[1]))
    pg_cluster.stop()
    pg_cluster.start()  # back before the next attempt: only the old connection is dead
    with pytest.raises(TransientError, match="postgres sink unavailable"):
        generate.handle(parsed, ctx)
    generate.handle(parsed, ctx)  # same context, a new connection
    with psycopg.connect(pg_cluster.dsn) as conn:
        assert conn.execute(f"SELECT count(*) FROM {pg_table}").fetchone() == (2,)
