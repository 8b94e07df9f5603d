"""`idxd ledger check|rebuild`: SQLite's integrity check, and a ledger rebuilt from the disk.

A rebuild records `done`, with its outputs as lineage, every inbox file whose outputs the
application finds on disk (`Recovery.outputs_of`); a file without them gets no row, so the
daemon processes it at its next start. The application's own state comes back from its files
(`Recovery.restore_state`: the windows already emailed, from the outbox). The new ledger is
written under a temporary name and renamed into place; an old one is set aside beside it, never
deleted. It refuses while a daemon runs, and replaces a healthy ledger only with `--force`.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.errors import ExitCode
from daemon.files import fsync_directory, iter_files, printable_name, sha256_file, unique_path
from daemon.guard import ROOT_ID_KEY, Recovery, ledger_file_state, new_root_id, note_work, read_root
from daemon.ledger import LEDGER_NAME, Ledger
from daemon.lock import RootLock
from daemon.stages import App, Stage

SIDE_FILES = ("", "-wal", "-shm")  # a WAL database is up to three files


@dataclass(frozen=True)
class Rebuilt:
    done: int  # inbox files recorded done
    left: int  # inbox files left for the daemon to process
    restored: str  # what the application recovered, in words
    set_aside: Path | None  # where the old ledger went


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="ledger_action", metavar="ACTION", required=True)
    actions.add_parser("check", help="run SQLite's integrity check on the ledger")
    build = actions.add_parser("rebuild", help="rebuild the ledger from the files on disk")
    build.add_argument("--force", action="store_true",
                       help="replace the ledger even when it is healthy")


def run(args: argparse.Namespace, root: Path, app: App[Any, Any]) -> int:
    if args.ledger_action == "check":
        ok, sentence = check(root)
        print(f"idxd: {sentence}.", file=sys.stdout if ok else sys.stderr)
        return ExitCode.OK if ok else ExitCode.BAD_CONFIG
    report = rebuild(root, app, force=args.force)
    aside = f"; the old ledger is kept at {report.set_aside}" if report.set_aside else ""
    print(f"idxd: ledger rebuilt from the files on disk: {report.done} file(s) recorded done, "
          f"{report.left} left to process, {report.restored}{aside}.")
    return ExitCode.OK


# --- check ----------------------------------------------------------------------------------

def check(root: Path) -> tuple[bool, str]:
    """(healthy, one sentence) from `PRAGMA integrity_check`; nothing is written."""
    path = root / LEDGER_NAME
    state = ledger_file_state(root)
    if state in ("missing", "empty"):
        return False, f"the ledger {path} is {state}"
    problems = integrity_problems(path)
    if not problems:
        return True, f"the ledger {path} passed SQLite's integrity check"
    return False, (f"the ledger {path} failed SQLite's integrity check ({problems[0]}"
                   f"{f' and {len(problems) - 1} more' if len(problems) > 1 else ''}); run "
                   "`idxd ledger rebuild` to set it aside and rebuild it from the files on disk")


def integrity_problems(path: Path) -> list[str]:
    """What `PRAGMA integrity_check` reports, or [] when it says ok."""
    flags = "mode=ro" if path.with_name(path.name + "-wal").exists() else "mode=ro&immutable=1"
    try:
        db = sqlite3.connect(f"{path.absolute().as_uri()}?{flags}", uri=True)
        try:
            rows = [str(row[0]) for row in db.execute("PRAGMA integrity_check")]
        finally:
            db.close()
    except sqlite3.DatabaseError as error:
        return [str(error)]
    return [] if rows == ["ok"] else rows


# --- rebuild --------------------------------------------------------------------------------

def rebuild(root: Path, app: App[Any, Any], *, force: bool = False) -> Rebuilt:
    with RootLock(root):
        path = root / LEDGER_NAME
        if not force and _holds_files(path):
            raise ValueError(f"the ledger {path} is healthy and records files; rebuilding "
                             "would replace it (use --force to do so anyway)")
        temp = path.with_name(f".{path.name}.rebuild")
        _remove(temp)
        root_id = read_root(root).get("id") or new_root_id()
        done, left, restored = _write(temp, root, app.stages, app.recovery, root_id)
        aside = _set_aside(path)
        os.replace(temp, path)
        fsync_directory(path.parent)
        note_work(root, id=root_id, ledger_rebuilt_at=time.time())
    return Rebuilt(done, left, restored, aside)


def _holds_files(path: Path) -> bool:
    if ledger_file_state(path.parents[1]) != "present" or integrity_problems(path):  # root/state/
        return False
    ledger = Ledger(path, readonly=True)
    try:
        return ledger.has_files()
    finally:
        ledger.close()


def _write(temp: Path, root: Path, stages: Sequence[Stage[Any]], recovery: Recovery | None,
           root_id: str) -> tuple[int, int, str]:
    ledger = Ledger(temp)
    try:
        done = left = 0
        for stage in stages:
            stage_done, stage_left = _record_inbox(ledger, root, stage, recovery)
            done, left = done + stage_done, left + stage_left
        restored = "no application state"
        if recovery is not None and recovery.restore_state is not None:
            found = recovery.restore_state(root)
            for key, value in found.state.items():
                ledger.set_state(key, value)
            restored = found.summary
        ledger.set_state(ROOT_ID_KEY, root_id)
    finally:
        ledger.close()  # the last connection checkpoints the WAL: one file is left to rename
    return done, left, restored


def _record_inbox(ledger: Ledger, root: Path, stage: Stage[Any],
                  recovery: Recovery | None) -> tuple[int, int]:
    """Record each file of the stage's inbox whose outputs exist; (done, left)."""
    done = left = 0
    outputs_of = recovery.outputs_of if recovery is not None else None
    for entry in sorted(iter_files(root / stage.inbox), key=lambda entry: entry.name):
        if not stage.accepts(entry.name):
            continue
        outputs = outputs_of(stage.name, root, Path(entry.path)) if outputs_of else None
        if outputs is None:
            left += 1
            continue
        info = entry.stat(follow_symlinks=False)
        relative = printable_name(f"{stage.inbox}/{entry.name}")
        claim = ledger.claim(stage.name, relative, sha256_file(Path(entry.path)),
                             info.st_size, info.st_mtime_ns)
        if claim is not None:
            ledger.finish(claim.row_id, [_relative(root, output) for output in outputs], 0.0)
            done += 1
    return done, left


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_absolute() else path.as_posix()


def _set_aside(path: Path) -> Path | None:
    """Rename the old ledger's files to `<name>.broken-<UTC time>`; an empty file is removed."""
    if path.exists() and path.stat().st_size == 0:
        path.unlink()
    if not path.exists():
        for suffix in SIDE_FILES[1:]:
            _remove(path.with_name(path.name + suffix))
        return None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = unique_path(path.with_name(f"{path.name}.broken-{stamp}"))
    for suffix in SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, aside.with_name(aside.name + suffix))
    return aside


def _remove(path: Path) -> None:
    for suffix in SIDE_FILES:
        path.with_name(path.name + suffix).unlink(missing_ok=True)
