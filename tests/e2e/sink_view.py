"""What the end-to-end identity tests share: the daemon's sink seen from outside (SQLite file or
PostgreSQL tables, the filings and their history), a daemon started on it, a PDF dropped into
`downloads/idx-format/` as a person copies it in, and the outcomes `data/filings/` records."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.e2e.daemon import DaemonProcess, pipeline_config
from tests.e2e.exchange import Exchange
from tests.sinks.conftest import Cluster


@dataclasses.dataclass
class Tables:
    active: Callable[[], list[dict[str, Any]]]
    history: Callable[[], list[dict[str, Any]]]
    sink: dict[str, Any]  # the [sink] table of the daemon's configuration


@pytest.fixture(params=["sqlite", "postgres"])
def tables(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tables]:
    if request.param == "sqlite":
        database = tmp_path / "root" / "state" / "filings.sqlite3"
        yield Tables(lambda: _sqlite(database, "idx_filings"),
                     lambda: _sqlite(database, "idx_filings_history"), {"kind": "sqlite"})
        return
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    table = f"identity_{request.node.name.split('[')[0][-20:]}"
    yield Tables(lambda: _postgres(cluster, table), lambda: _postgres(cluster, f"{table}_history"),
                 {"kind": "postgres", "table": table, "database_url": cluster.dsn})


def start(tmp_path: Path, root: Path, exchange: Exchange, tables: Tables) -> DaemonProcess:
    config = pipeline_config(tmp_path / "idxd.toml", root, exchange.api_url, sink=tables.sink)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    daemon.wait_started()
    return daemon


def drop_pdf(root: Path, name: str, body: bytes) -> None:
    """As a person copies a file in: written under a temporary name, then renamed."""
    inbox = root / "downloads" / "idx-format"
    inbox.mkdir(parents=True, exist_ok=True)
    temporary = inbox / f".{name}.part"
    temporary.write_bytes(body)
    os.replace(temporary, inbox / name)


def outcomes(root: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in (root / "data" / "filings").glob("*.json"):
        for filing in json.loads(path.read_text()).get("filings") or []:
            counts[filing["outcome"]] = counts.get(filing["outcome"], 0) + 1
    return counts


def _sqlite(database: Path, table: str) -> list[dict[str, Any]]:
    if not database.exists():
        return []
    with sqlite3.connect(database) as db:
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute(f"SELECT * FROM {table} ORDER BY id")]
        except sqlite3.OperationalError:  # made when the sink first opens
            return []


def _postgres(cluster: Cluster, table: str) -> list[dict[str, Any]]:
    try:
        with psycopg.connect(cluster.dsn, connect_timeout=2, row_factory=dict_row) as db:
            return list(db.execute(f"SELECT * FROM {table} ORDER BY id").fetchall())
    except psycopg.Error:  # not made yet
        return []


