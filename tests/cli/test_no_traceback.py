"""No command ever answers with a traceback. Every command and subcommand is run, as a real
process, with a bad argument, on a bad root (missing, a file, read-only), on a corrupt ledger,
and with its stdout closed by the reader (`| head`): each time stderr is one sentence (or
nothing) and the exit code is the one its help documents."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.cli_help import build_parser
from daemon.ledger import Ledger
from daemon.stages import load_app
from tests.conftest import skip_or_fail

REPO = Path(__file__).resolve().parents[2]
APP = load_app("handlers.app:APP")
# Arguments that make each command do its ordinary work without the network.
WORK = {"run": [], "once": ["--no-ingest"], "status": [], "drop": ["FILE"],
        "replay": ["--failed"], "trace": ["x.pdf"], "check-config": [], "config": ["example"],
        "ledger": ["check"], "tail": ["-"], "window": [], "ingest": ["--hours", "1"],
        "company-map": ["status"], "clean": ["--dry-run"], "demo": ["--dir", "DEMO"],
        "backfill": ["--from", "2025-01-01", "--to", "2025-01-02", "--detach"]}
SUBCOMMANDS = {"ledger": [["check"], ["rebuild"]], "config": [["example"]],
               "company-map": [[action] for action in ("get", "refresh", "reset", "status",
                                                       "print")]}
# Commands that never look at the root: a bad one changes nothing for them.
ROOTLESS = {"tail", "config", "demo"}


def command_names() -> list[str]:
    parser = build_parser(APP)
    actions = next(a for a in parser._actions if a.dest == "command")
    return sorted(actions.choices)  # type: ignore[attr-defined]


def idxd(root: Path, *args: str, stdout: int | None = subprocess.PIPE,
         before: str | None = None) -> subprocess.CompletedProcess[str]:
    """`idxd --root ROOT ARGS…`; `before`: shell commands to run first, in a mount namespace
    of the command's own."""
    argv = [sys.executable, "-m", "daemon", "--root", str(root), *args]
    if before:
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                f"{before} && exec {shlex.join(argv)}"]
    return subprocess.run(argv, cwd=REPO, stdout=stdout, stderr=subprocess.PIPE, text=True,
                          stdin=subprocess.DEVNULL, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO), "IDXD_CONFIG": "",
                               "IDXD_INGEST_ENABLED": "0", "IDXD_ROLLOVER_ENABLED": "0"})


def work_args(name: str, tmp_path: Path) -> list[str]:
    dropped = tmp_path / "form.pdf"
    dropped.write_bytes(b"%PDF-1.4")
    replace = {"FILE": str(dropped), "DEMO": str(tmp_path / f"demo-{len(os.listdir(tmp_path))}")}
    return [replace.get(arg, arg) for arg in WORK[name]]


def assert_one_sentence(result: subprocess.CompletedProcess[str], codes: set[int]) -> None:
    where = f"{result.args}: {result.returncode} {result.stderr!r}"
    assert "Traceback" not in result.stderr, where
    assert result.returncode in codes, where
    lines = result.stderr.splitlines()
    assert len(lines) <= 1 and all(line.startswith("idxd") for line in lines), where


def test_every_command_is_covered() -> None:
    assert set(command_names()) == set(WORK)


@pytest.mark.parametrize("name", sorted(WORK))
def test_a_bad_argument_is_one_sentence_and_exit_code_2(tmp_path: Path, name: str) -> None:
    for args in ([name, "--no-such-option"], [name, *WORK[name][:1], "extra", "words", "-x"]):
        result = idxd(tmp_path / "root", *args)
        assert_one_sentence(result, {2})
        assert result.stderr.rstrip().endswith(f"(see `idxd {name} --help`)")
    if name in SUBCOMMANDS:
        assert_one_sentence(idxd(tmp_path / "root", name, "nosuch"), {2})
    if name == "drop":
        result = idxd(tmp_path / "root", "drop", "x.json", "--stage", "nosuch")
        assert_one_sentence(result, {2})
        assert "'download', 'parse', 'generate', 'bucketize'" in result.stderr


@pytest.mark.parametrize("name", sorted(WORK))
def test_a_root_that_is_a_file_is_one_sentence(tmp_path: Path, name: str) -> None:
    root = tmp_path / "a-file"
    root.write_text("not a directory")
    result = idxd(root, name, *work_args(name, tmp_path))
    assert_one_sentence(result, {0} if name in ROOTLESS else {2})
    if name not in ROOTLESS:
        assert "is a file, not a directory" in result.stderr or "ledger" in result.stderr


@pytest.mark.parametrize("name", ["status", "trace", "replay", "drop", "clean"])
def test_reading_commands_refuse_a_missing_root(tmp_path: Path, name: str) -> None:
    result = idxd(tmp_path / "nosuch", name, *work_args(name, tmp_path))
    assert_one_sentence(result, {2})
    assert "does not exist" in result.stderr and result.stdout == ""


def read_only(root: Path) -> str:
    """Shell commands that make `root` read-only for the command alone, as a volume the
    service user cannot write to is."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        skip_or_fail("a read-only mount needs root and unshare")
    return f"mount --bind {root} {root} && mount -o remount,ro,bind {root}"


@pytest.mark.parametrize("name", ["run", "once", "check-config", "window", "company-map",
                                  "ingest"])
def test_a_read_only_root_is_one_sentence_and_exit_code_2(tmp_path: Path, name: str) -> None:
    root = tmp_path / "root"
    Ledger.open(root).close()
    result = idxd(root, name, *work_args(name, tmp_path), before=read_only(root))
    assert_one_sentence(result, {2})
    assert "is not writable by this user" in result.stderr and "Read-only" in result.stderr


@pytest.mark.parametrize("damage", [b"garbage, not SQLite", b"SQLite format 3\x00" + b"\xff" * 200])
@pytest.mark.parametrize("name", sorted(set(WORK) - {"ledger"}))
def test_a_corrupt_ledger_is_one_sentence(tmp_path: Path, name: str, damage: bytes) -> None:
    root = tmp_path / "root"
    (root / "state").mkdir(parents=True)
    (root / "state" / "ledger.sqlite3").write_bytes(damage)
    result = idxd(root, name, *work_args(name, tmp_path))
    assert_one_sentence(result, {0} if name in ROOTLESS | {"check-config"} else {2})
    if name not in ROOTLESS | {"check-config"}:
        assert "ledger" in result.stderr


def test_ledger_check_names_the_damage(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "state").mkdir(parents=True)
    (root / "state" / "ledger.sqlite3").write_bytes(b"garbage")
    for action in ("check", "rebuild"):
        result = idxd(root, "ledger", action)
        assert_one_sentence(result, {0, 2})


@pytest.mark.parametrize("args", [["status"], ["status", "--json"], ["company-map", "print"],
                                  ["config", "example"], ["window"], ["check-config"],
                                  ["trace", "data/announcements/a.json"], ["--help"],
                                  ["clean", "--dry-run"], ["replay", "--failed"]])
def test_a_reader_that_goes_away_ends_the_output_quietly(tmp_path: Path, args: list[str]) -> None:
    root = tmp_path / "root"
    ledger = Ledger.open(root)
    claim = ledger.claim("download", "data/announcements/a.json", "a" * 64, 1, 1)
    assert claim is not None
    ledger.finish(claim.row_id, ["downloads/idx-format/a.pdf"], 1.0)
    ledger.close()
    read, write = os.pipe()
    os.close(read)  # `| head` that has already exited
    try:
        result = idxd(root, *args, stdout=write)
    finally:
        os.close(write)
    assert_one_sentence(result, {0})
