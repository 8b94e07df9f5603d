"""The README's "Install on a server", followed as written on a clean container.

The container boots the host's own /usr (Debian's Python, `python3-venv`, systemd, `psql`)
with an empty /etc, /var and /usr/local: no idxd, no account, no unit, no configuration. Each
step is the README's shell block, run as root with `bash -eu`: `make dist` on the build side,
then install, configure, check, create the filings table (on a throwaway PostgreSQL), enable
and start; a KSEI form dropped with the installed `idxd` command becomes a row in the service's
SQLite sink. Then an upgrade to the next release, a roll-back to this one (the service still
processes a form) and the uninstall. Packages come from a wheelhouse (README step 1) since the
container has no PyPI.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from tests.parse.forms import form, row
from tests.pdfform import build_form_pdf
from tests.sinks.conftest import Cluster
from tests.support import wait_for
from tests.systemd.conftest import Container, booted
from tests.systemd.install_guide import REPO, guide_blocks, next_release, wheel_version, wheelhouse

pytestmark = [pytest.mark.systemd, pytest.mark.slow]

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The operator's edits of the environment file: no exchange to poll from the container, JSON
# logs, a short settle time.
ENV_EDITS = "IDXD_INGEST_ENABLED=false\nIDXD_LOG_FORMAT=json\nIDXD_SETTLE_MS=100\n"
STATE = "/var/lib/idxd"
PUBLISHED = "2026-04-24T17:03:00+07:00"


class Server(Container):
    def sh(self, script: str, *, cwd: str = "/root", **env: str) -> str:
        """A README block, run the way an operator's root shell would run it."""
        variables = [f"{key}={value}" for key, value in {
            "PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", **env}.items()]
        result = self.run("env", "-i", *variables, "bash", "-eu", "-c",
                          f"cd {cwd}\n{script}", check=False)
        assert result.returncode == 0, (f"step failed ({result.returncode}):\n{script}\n"
                                        f"{result.stdout}\n{result.stderr}")
        return result.stdout


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    if shutil.which("systemd-nspawn") is None or os.geteuid() != 0:
        skip_or_fail("booting systemd in a container needs systemd-nspawn and root")
    dpkg, local = tmp_path / "dpkg", tmp_path / "usr-local"
    shutil.copytree("/var/lib/dpkg", dpkg, symlinks=True)  # apt-get must know /usr's packages
    local.mkdir()
    command = ["systemd-nspawn", "-D", "/", "--volatile=yes", "-b", "--register=no",
               "--keep-unit", "--console=pipe", "-M", f"idxdinstall{os.getpid()}",
               f"--bind={dpkg}:/var/lib/dpkg", f"--bind={local}:/usr/local"]
    with booted(command, tmp_path / "nspawn.log", lambda process: Server(process, tmp_path)) as box:
        yield box


def build_dist() -> Path:
    """README step 1, on the build side: `make dist` in the checkout."""
    subprocess.run(["bash", "-eu", "-c", guide_blocks()["build"]], cwd=REPO, check=True,
                   capture_output=True, timeout=300)
    return REPO / "dist"


def copy_in(box: Server, source: Path, inside: str) -> None:
    shutil.copytree(source, box.path(inside))


def drop_form(box: Server, name: str, holder: str, amount: int) -> None:
    """A KSEI form and its download sidecar, the form dropped with the installed command."""
    pdf = box.path(f"/var/tmp/{name}")
    build_form_pdf(form((row(amount=amount),), holder=holder, before=5_000_000), pdf)
    pdf.chmod(0o644)
    sidecar = box.path(f"{STATE}/downloads/idx-format/{name}.meta.json")
    sidecar.write_text(f'{{"ticker": "TOWR", "published_at": "{PUBLISHED}", '
                       f'"url": "https://www.idx.co.id/StaticData/{name}", "local_name": '
                       f'"{name}"}}')
    box.sh(f"idxd drop /var/tmp/{name} --stage parse")


def stored_rows(box: Server, scratch: Path) -> list[tuple[str, str, int]]:
    """The rows of the service's SQLite sink, read from a copy (never touching its files)."""
    database = box.path(f"{STATE}/state/filings.sqlite3")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    for suffix in ("", "-wal"):
        if Path(f"{database}{suffix}").exists():
            shutil.copyfile(f"{database}{suffix}", scratch / f"filings.sqlite3{suffix}")
    with sqlite3.connect(scratch / "filings.sqlite3") as db:
        try:
            return db.execute("SELECT symbol, holder_name, amount_transaction FROM idx_filings "
                              "ORDER BY id").fetchall()
        except sqlite3.OperationalError:  # no table before the first filing
            return []


def configure(box: Server, steps: dict[str, str], dist: str) -> None:
    box.sh(steps["configure-env"], cwd=dist)
    with box.path("/etc/idxd/idxd.env").open("a") as env_file:
        env_file.write(ENV_EDITS)
    box.sh(steps["configure-toml"], cwd=dist)
    box.sh(steps["check"], cwd=dist)


def test_the_install_guide_works_on_a_clean_server(server: Server, pg_cluster: Cluster,
                                                   tmp_path: Path) -> None:
    steps, dist = guide_blocks(), build_dist()

    def rows() -> list[tuple[str, str, int]]:
        return stored_rows(server, tmp_path / "sink")

    upgrade_wheel = next_release(dist, tmp_path / "next-dist")
    [wheel] = dist.glob("idxd-*.whl")
    copy_in(server, dist, "/root/idxd-dist")
    copy_in(server, tmp_path / "next-dist", "/root/idxd-next")
    copy_in(server, wheelhouse(wheel), "/root/wheelhouse")
    # No PyPI in the container: the wheelhouse (README step 1); no bytecode, to save time.
    offline = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "/root/wheelhouse", "PIP_NO_COMPILE": "1"}
    assert not server.path("/etc/idxd").exists() and not server.path("/opt/idxd").exists()

    server.sh(steps["install"], cwd="/root/idxd-dist", **offline)
    configure(server, steps, "/root/idxd-dist")
    server.sh(steps["table"], cwd="/root/idxd-dist", DATABASE_URL=pg_cluster.dsn)
    tables = subprocess.run(["psql", pg_cluster.dsn, "-Atc", "SELECT to_regclass('idx_filings')"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert tables == "idx_filings"
    assert server.sh(steps["start"], cwd="/root/idxd-dist").strip() == "active"
    assert server.show("User") == "idxd" and server.show("ActiveState") == "active"
    status = server.run("/usr/local/bin/idxd", "status", check=False)
    assert status.returncode in (0, 1) and "parse" in status.stdout  # 1: degraded, said why

    drop_form(server, "LK-TOWR-1.pdf", "PT Dwimuria Investama", 1_000)
    wait_for(rows, 30, "the installed service to store the filing")
    assert rows() == [("TOWR.JK", "PT Dwimuria Investama", 1_000)]
    # The command ran as the service's user, and its exit code and errors come back.
    idxd_uid = server.run("id", "-u", "idxd").stdout.strip()
    dropped = server.path(f"{STATE}/downloads/idx-format/LK-TOWR-1.pdf").stat()
    assert str(dropped.st_uid) == idxd_uid != "0"
    refused = server.run("/usr/local/bin/idxd", "no-such-command", check=False)
    assert refused.returncode == 2 and "no-such-command" in refused.stderr

    upgraded = server.sh(steps["upgrade"], cwd="/root/idxd-next", **offline)
    assert upgraded.strip().endswith(f"Version: {wheel_version(upgrade_wheel)}")
    rolled_back = server.sh(steps["rollback"], cwd="/root/idxd-dist", **offline)
    assert rolled_back.strip().endswith(f"Version: {wheel_version(wheel)}")
    assert server.show("ActiveState") == "active"
    drop_form(server, "LK-TOWR-2.pdf", "Tower Bersama", 2_500)
    wait_for(lambda: len(rows()) == 2, 30, "the rolled-back service to store the next one")
    assert rows()[1] == ("TOWR.JK", "Tower Bersama", 2_500)

    server.sh(steps["uninstall"], cwd="/root")
    assert not server.path("/opt/idxd").exists()
    assert not server.path("/usr/local/bin/idxd").exists()
    assert server.run("systemctl", "cat", "idxd", check=False).returncode != 0
    assert server.path(f"{STATE}/state/filings.sqlite3").exists()  # the data stays
