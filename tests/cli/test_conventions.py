"""The command line's conventions: `--version`; each command's help says what it does, shows an
example and lists its exit codes; `--stage` lists the stages; `-v`/`-q` set the log level;
`clean --dry-run` works while the daemon runs; `demo` refuses a non-empty directory and never
reads the operator's configuration."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest

from daemon.lock import holder_pid
from tests.cli.test_no_traceback import SUBCOMMANDS, WORK

REPO = Path(__file__).resolve().parents[2]


def idxd(*args: str, env: dict[str, str] | None = None,
         root: Path | None = None) -> subprocess.CompletedProcess[str]:
    rooted = ["--root", str(root)] if root else []
    return subprocess.run([sys.executable, "-m", "daemon", *rooted, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONPATH": str(REPO), "IDXD_CONFIG": "",
                               **(env or {})})


def test_version() -> None:
    result = idxd("--version")
    assert (result.returncode, result.stdout) == (0, f"idxd {metadata.version('idxd')}\n")


@pytest.mark.parametrize("name", sorted(WORK))
def test_each_command_has_a_description_an_example_and_its_exit_codes(name: str) -> None:
    page = idxd(name, "--help").stdout
    usage, _, rest = page.partition("\n\n")
    description = rest.split("\n\n", 1)[0]
    assert usage.startswith(f"usage: idxd {name}") and len(description.split()) >= 8, page
    examples = page.split("examples:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert examples and all(re.search(r"\bidxd " + re.escape(name), line) for line in examples)
    codes = page.split("exit codes:\n", 1)[1].splitlines()
    assert re.match(r"  0 +\S", codes[0]) and any(line.startswith("  2 ") for line in codes)


def test_drop_lists_the_stages() -> None:
    page = " ".join(idxd("drop", "--help").stdout.split())
    assert "--stage STAGE the stage whose inbox takes the file: download, parse, generate, " \
        "bucketize" in page


def test_subcommand_actions_are_listed(tmp_path: Path) -> None:
    for name, actions in SUBCOMMANDS.items():
        page = idxd(name, "--help").stdout
        assert all(action[0] in page for action in actions)


def test_verbose_and_quiet_set_the_log_level(tmp_path: Path) -> None:
    base = ["once", "--no-ingest", "--json"]
    quiet = idxd("-q", *base, root=tmp_path / "quiet")
    normal = idxd(*base, root=tmp_path / "normal")
    verbose = idxd(*base, "-v", root=tmp_path / "verbose")
    assert quiet.returncode == normal.returncode == verbose.returncode == 0, quiet.stderr
    assert '"level": "info"' not in quiet.stderr and '"level": "info"' in normal.stderr
    assert '"level": "debug"' not in normal.stderr
    assert len(verbose.stderr) >= len(normal.stderr) > len(quiet.stderr)


def test_clean_dry_run_lists_while_the_daemon_runs_and_clean_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    env = {**os.environ, "PYTHONPATH": str(REPO), "IDXD_CONFIG": "", "IDXD_INGEST_ENABLED": "0",
           "IDXD_ROLLOVER_ENABLED": "0"}
    daemon = subprocess.Popen([sys.executable, "-m", "daemon", "--root", str(root), "run"],
                              cwd=REPO, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        # The lock is taken first, then the ledger is opened and the root's id written.
        while not (holder_pid(root) and (root / "state" / "root.json").exists()) \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        (root / "artifacts").mkdir(exist_ok=True)
        (root / "artifacts" / "old.zip").write_bytes(b"zip")
        listed = idxd("clean", "--dry-run", root=root)
        assert listed.returncode == 0, listed.stderr
        assert "would remove artifacts/old.zip" in listed.stdout
        refused = idxd("clean", root=root)
        assert refused.returncode == 3 and "is running" in refused.stderr, daemon.poll()
        assert (root / "artifacts" / "old.zip").exists()
    finally:
        daemon.terminate()
        output, _ = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, output


def test_demo_refuses_a_non_empty_directory_and_ignores_the_configuration(
        tmp_path: Path) -> None:
    live = tmp_path / "live"
    live.mkdir()
    (live / "outbox").mkdir()
    refused = idxd("demo", "--dir", str(live))
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "is not empty" in refused.stderr and list(live.iterdir()) == [live / "outbox"]
    broken = tmp_path / "operator.toml"
    broken.write_text("[sink]\nkind = 'postgres'\n")  # would fail to load: no DATABASE_URL
    fresh = tmp_path / "fresh"
    ran = idxd("--config", str(broken), "demo", "--dir", str(fresh), env={
        "IDXD_ROOT": str(live), "SINK": "supabase", "SMTP_HOST": "127.0.0.1",
        "IDXD_CONFIG": str(broken)})
    assert ran.returncode == 0, ran.stderr
    assert (fresh / "state" / "filings.sqlite3").is_file() and list(fresh.glob("outbox/*.eml"))
    assert list(live.iterdir()) == [live / "outbox"]  # the operator's root untouched
