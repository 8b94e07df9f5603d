"""`idxd clean`: generated outputs go, state/quarantine/outbox stay, nothing outside the root is
ever touched (links are removed as links), and it refuses while the daemon holds the lock."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

import pytest

from daemon.errors import ExitCode
from daemon.lock import RootLock
from handlers.commands.clean import clean, run_command

GENERATED = ["downloads/idx-format/A.pdf", "downloads/idx-format/A.pdf.meta.json",
             "data/announcements/w.json", "data/parsed/A.json", "data/filings/A.json",
             "alerts/a.json", "alerts_inserted/w/a.json", "alerts_not_inserted/w/b.json",
             "artifacts/w.zip"]
KEPT = ["state/ledger.sqlite3", "quarantine/parse/B.pdf", "outbox/w.eml"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for name in GENERATED + KEPT:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "precious.txt").write_text("keep me")
    (outside / "deep" / "also.txt").write_text("keep me too")
    return outside


def everything(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}


def test_removes_generated_outputs_and_keeps_the_rest(root):
    clean(root, dry_run=False)
    assert everything(root) == set(KEPT)


def test_dry_run_lists_and_removes_nothing(root):
    listed = clean(root, dry_run=True)
    assert {p.relative_to(root).as_posix() for p in listed} >= set(GENERATED)
    assert everything(root) == set(GENERATED + KEPT)


def test_links_out_of_the_root_are_removed_not_followed(root, outside):
    (root / "data" / "escape").symlink_to(outside, target_is_directory=True)
    (root / "alerts" / "file-link.json").symlink_to(outside / "precious.txt")
    (root / "artifacts" / "dotdot").symlink_to(Path("..") / ".." / "outside")
    clean(root, dry_run=False)
    assert everything(outside) == {"precious.txt", "deep/also.txt"}
    assert not (root / "data" / "escape").is_symlink()
    assert not (root / "artifacts" / "dotdot").is_symlink()


def test_a_generated_directory_that_is_a_link_loses_only_the_link(root, outside):
    (root / "downloads" / "idx-format" / "A.pdf").unlink()
    for child in sorted((root / "downloads").rglob("*"), reverse=True):
        child.unlink() if child.is_file() else child.rmdir()
    (root / "downloads").rmdir()
    (root / "downloads").symlink_to(outside, target_is_directory=True)
    clean(Path(str(root) + "/../root"), dry_run=False)
    assert everything(outside) == {"precious.txt", "deep/also.txt"}
    assert not (root / "downloads").exists()
    assert everything(root) == set(KEPT)


def test_refuses_while_the_daemon_holds_the_lock(root, capsys):
    settings = SimpleNamespace(engine=SimpleNamespace(root=root))
    with RootLock(root):
        code = run_command(argparse.Namespace(dry_run=False), settings)
    assert code == ExitCode.ALREADY_RUNNING
    assert "stop it first" in capsys.readouterr().err
    assert everything(root) == set(GENERATED + KEPT + ["state/idxd.lock"])
