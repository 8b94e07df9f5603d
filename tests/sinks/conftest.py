"""What the sink tests share: a throwaway PostgreSQL cluster for the session (skipped locally
when not installed), a fresh table per test, and a PostgREST stand-in playing Supabase."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import skip_or_fail
from tests.sinks.fake_postgrest import FakePostgrest
from tests.support import free_port


def _newest_pgbin() -> str:
    """The newest Debian-installed PostgreSQL, whichever version the release ships."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda path: int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else "/usr/lib/postgresql/15/bin"


PGBIN = _newest_pgbin()


@dataclass
class Cluster:
    data_dir: str
    port: int
    as_user: list[str]

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    def pg_ctl(self, *args: str) -> None:
        subprocess.run([*self.as_user, f"{PGBIN}/pg_ctl", "-D", f"{self.data_dir}/data", *args],
                       check=True, capture_output=True)

    def start(self) -> None:
        options = (f"-k {self.data_dir} -p {self.port} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self.pg_ctl("-l", f"{self.data_dir}/pg.log", "-w", "-t", "30", "-o", options, "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "-w", "stop")  # clean: synchronous_commit is off


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    if not os.path.exists(f"{PGBIN}/initdb"):
        skip_or_fail("PostgreSQL 15 binaries are not installed")
    directory = tempfile.mkdtemp(prefix="idxd-pg.")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        owner = pwd.getpwnam("postgres")
        os.chown(directory, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_user, f"{PGBIN}/initdb", "-D", f"{directory}/data", "-U", "postgres",
                    "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"],
                   check=True, capture_output=True)
    cluster = Cluster(directory, free_port(), as_user)
    cluster.start()
    try:
        yield cluster
    finally:
        subprocess.run([*as_user, f"{PGBIN}/pg_ctl", "-D", f"{directory}/data", "-m",
                        "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def pg_table(pg_cluster: Cluster, request: pytest.FixtureRequest) -> str:
    """A fresh table name per test, so tests never see each other's rows."""
    return "filings_" + request.node.name.split("[")[0].removeprefix("test_")[:40]


def pg_env(cluster: Cluster, table: str) -> dict[str, str]:
    """The environment that points the pipeline's sink at `table` in the cluster."""
    return {"SINK": "postgres", "DATABASE_URL": cluster.dsn, "FILINGS_TABLE": table}


SUPABASE_KEY = "sb_secret_test_key_never_logged"
POSTGREST_PATH = "/rest/v1/idx_filings"
HISTORY_PATH = "/rest/v1/idx_filings_history"


@pytest.fixture
def postgrest(httpserver: Any) -> FakePostgrest:
    fake = FakePostgrest()
    for path in (POSTGREST_PATH, HISTORY_PATH):
        httpserver.expect_request(path).respond_with_handler(fake)
    return fake


def supabase_env(httpserver: Any) -> dict[str, str]:
    """The environment that points the pipeline's sink at the PostgREST stand-in."""
    return {"SINK": "supabase", "SUPABASE_URL": httpserver.url_for("/").rstrip("/"),
            "SUPABASE_KEY": SUPABASE_KEY, "FILINGS_PAGE_SIZE": "2"}


@pytest.fixture(params=["sqlite", "postgres", "supabase"])
def sink(request: pytest.FixtureRequest, make_ctx: Any) -> Any:
    """Each sink in turn (tests/sinks/every_sink.py); only the one under test starts its
    service."""
    from tests.sinks.every_sink import SINKS

    return SINKS[request.param](request, make_ctx)
