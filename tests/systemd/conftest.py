"""A real systemd for the unit tests: the host's own root booted in `systemd-nspawn`.

The container is volatile (a fresh tmpfs over the host's read-only /usr), with the checkout, the
Python installation behind the virtual environment, the unit under test, our sysusers snippet
and a test `/etc/idxd` bound in. The unit file is the shipped one, unchanged; a drop-in only
points `ExecStart` at this checkout's venv, runs the engine's test application (fast, offline,
with a reload hook that shows a setting took effect) and shortens the watchdog and restart
delays so a test sees them in seconds. journald keeps a small rate limit (500 lines in 30 s,
scaled up by its free space as on any server) that the unit must lift for itself. Files are
read and written through `/proc/PID/root`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import skip_or_fail
from tests.sinks.conftest import pg_cluster  # noqa: F401  (the install test's PostgreSQL)
from tests.support import wait_for

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "idxd.service"
SYSUSERS = REPO / "systemd" / "idxd.sysusers"
VENV = REPO / ".venv"
STATE = "/var/lib/idxd"
WATCHDOG_S = 3

DROP_IN = """[Service]
ExecStart=
ExecStart={venv}/bin/idxd --root %S/idxd run
Environment=PYTHONPATH={repo}
ProtectHome=tmpfs
BindReadOnlyPaths={python_home} {repo}
WatchdogSec={watchdog}s
RestartSec=1s
TimeoutStopSec=20s
"""

JOURNALD = """[Journal]
RateLimitIntervalSec=30s
RateLimitBurst=500
"""

CONFIG = """[daemon]
app = "tests.engine.testapp:APP"
settle_ms = 100
durable_writes = false
log_format = "json"
[testapp]
label = "{label}"
"""


class Container:
    """A booted container: run commands inside, reach its files, read the unit's state."""

    def __init__(self, process: subprocess.Popen[bytes], etc_idxd: Path):
        self.process, self.etc_idxd = process, etc_idxd
        self.leader = 0

    def find_leader(self) -> int:
        """The container's PID 1 (systemd), once nspawn has started it."""
        listing = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(self.process.pid)],
                                 capture_output=True, text=True).stdout.split()
        pairs = dict(zip(listing[1::2], listing[::2], strict=False))
        self.leader = int(pairs.get("systemd", 0))
        return self.leader

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(["nsenter", "-t", str(self.leader), "-a", *command],
                                capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed: {result.stderr.strip()}")
        return result

    def systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("systemctl", *args)

    def show(self, prop: str) -> str:
        return self.systemctl("show", "--value", "-p", prop, "idxd").stdout.strip()

    def path(self, inside: str) -> Path:
        """A path inside the container, as the host reaches it."""
        return Path(f"/proc/{self.leader}/root") / inside.lstrip("/")

    def drop(self, inbox: str, name: str, text: str) -> None:
        """Write the way a careful producer does: a temporary name, then a rename."""
        target = self.path(f"{STATE}/{inbox}/{name}")
        temp = target.with_name(f".{name}.tmp")
        temp.write_text(text)
        os.replace(temp, target)

    def log_events(self) -> list[dict[str, Any]]:
        """The daemon's JSON lines, as `journalctl -u idxd -o cat` gives them back."""
        output = self.run("journalctl", "-u", "idxd", "-o", "cat", "--no-pager").stdout
        return [json.loads(line) for line in output.splitlines() if line.startswith("{")]

    def set_label(self, label: str) -> None:
        (self.etc_idxd / "idxd.toml").write_text(CONFIG.format(label=label))


def _write_tree(base: Path) -> tuple[Path, Path, Path]:
    etc_idxd, drop_in, preset = base / "etc-idxd", base / "idxd.service.d", base / "preset"
    for directory in (etc_idxd, drop_in, preset, base / "journald.conf.d"):
        directory.mkdir(mode=0o755)
    (base / "journald.conf.d" / "test.conf").write_text(JOURNALD)
    (etc_idxd / "idxd.env").write_text("IDXD_CONFIG=/etc/idxd/idxd.toml\n")
    (etc_idxd / "idxd.toml").write_text(CONFIG.format(label="first"))
    (drop_in / "test.conf").write_text(DROP_IN.format(
        venv=VENV, repo=REPO, python_home=sys.base_prefix, watchdog=WATCHDOG_S))
    # A fresh /etc means first boot, which would enable (and start) every unit by preset:
    # the tests start idxd themselves.
    (preset / "00-idxd.preset").write_text("disable idxd.service\n")
    for path in (etc_idxd / "idxd.env", etc_idxd / "idxd.toml"):
        path.chmod(0o644)
    return etc_idxd, drop_in, preset


def _nspawn_command(machine: str, etc_idxd: Path, drop_in: Path, preset: Path) -> list[str]:
    binds = {str(REPO): str(REPO), sys.base_prefix: sys.base_prefix,
             str(UNIT): "/etc/systemd/system/idxd.service",
             str(drop_in): "/etc/systemd/system/idxd.service.d",
             str(SYSUSERS): "/etc/sysusers.d/idxd.conf",
             str(preset): "/etc/systemd/system-preset", str(etc_idxd): "/etc/idxd",
             str(drop_in.parent / "journald.conf.d"): "/etc/systemd/journald.conf.d"}
    return ["systemd-nspawn", "-D", "/", "--volatile=yes", "-b", "--register=no",
            "--keep-unit", "--console=pipe", "-M", machine,
            *(f"--bind-ro={source}:{target}" for source, target in binds.items())]


def _booted(container: Container) -> bool:
    if container.process.poll() is not None:
        return True  # gave up: the caller reports it
    if not container.find_leader():
        return False
    state = container.run("systemctl", "is-system-running", check=False).stdout.strip()
    return state in ("running", "degraded")


@pytest.fixture(scope="module")
def container(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    if shutil.which("systemd-nspawn") is None or shutil.which("nsenter") is None:
        skip_or_fail("systemd-nspawn is not installed (tests/install-services.sh installs it)")
    if os.geteuid() != 0:
        skip_or_fail("booting systemd in a container needs root")
    base = tmp_path_factory.mktemp("nspawn")
    etc_idxd, drop_in, preset = _write_tree(base)
    command = _nspawn_command(f"idxdtest{os.getpid()}", etc_idxd, drop_in, preset)
    with booted(command, base / "nspawn.log", lambda process: Container(process, etc_idxd)) as box:
        yield box


B = TypeVar("B", bound="Container")


@contextmanager
def booted(command: list[str], log_path: Path,
           make_box: Callable[[subprocess.Popen[bytes]], B]) -> Iterator[B]:
    """A container started with `command` (its console in `log_path`), once systemd inside is
    up; powered off afterwards."""
    log = log_path.open("wb")
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    box = make_box(process)
    try:
        # Each look runs a process in the container: a few a second are plenty.
        wait_for(lambda: _booted(box), 30, "the container to boot", every_s=0.2)
        if process.poll() is not None:
            skip_or_fail(f"systemd-nspawn could not boot: {log_path.read_text()}")
        yield box
    finally:
        _power_off(box)
        log.close()


def _power_off(box: Container) -> None:
    """Shut the container down cleanly; kill only our own nspawn if it will not go."""
    if box.process.poll() is None and box.leader:
        box.run("systemctl", "poweroff", check=False)
    try:
        box.process.wait(20)
    except subprocess.TimeoutExpired:
        box.process.send_signal(signal.SIGTERM)
        try:
            box.process.wait(10)
        except subprocess.TimeoutExpired:
            box.process.kill()
            box.process.wait(10)
    if box.leader:  # the container's init goes with nspawn; make sure nothing lingers
        wait_for(lambda: not Path(f"/proc/{box.leader}").exists(), 10, "the container to end")
