"""What must hold of a root after any run, however it ended: nothing half-written, nothing
pending, nothing outside.

`torn_files` lists what a crash or a bad write could leave behind in the directories the daemon
writes: temporary names, JSON that does not parse, PDFs without the `%PDF-` signature, zips that
do not open or disagree with their manifest, emails that are not messages. `unfinished_rows`
lists the ledger rows still `pending` or `running`. Inboxes hold what people dropped, so the
checks read the outputs only, unless told otherwise.
"""

from __future__ import annotations

import json
import sqlite3
import zipfile
from email import message_from_bytes, policy
from pathlib import Path

from daemon.files import OWN_TEMP_SUFFIX, iter_files, printable_name
from handlers.app import STAGES

OUTPUT_DIRS = ("data/announcements", "data/parsed", "data/filings", "downloads", "alerts",
               "alerts_inserted", "alerts_not_inserted", "artifacts", "outbox")


def torn_files(root: Path, directories: tuple[str, ...] = OUTPUT_DIRS) -> list[str]:
    problems: list[str] = []
    for directory in directories:
        for path in sorted((root / directory).rglob("*")):
            if path.is_file() and not path.is_symlink():
                problem = _problem(path)
                if problem:
                    problems.append(f"{path.relative_to(root)}: {problem}")
    problems += [f"{path.relative_to(root)}: temporary file left"
                 for path in root.rglob(f"*{OWN_TEMP_SUFFIX}")]
    return problems


def _problem(path: Path) -> str | None:
    name = path.name
    if name.startswith(".") or name.endswith((".tmp", ".part", "~")):
        return "temporary name"
    data = path.read_bytes()
    if name.endswith(".json"):
        try:
            json.loads(data)
        except ValueError as error:
            return f"JSON does not parse: {error}"
    elif name.endswith(".pdf") and not data.startswith(b"%PDF-"):
        return "no %PDF- signature"
    elif name.endswith(".zip"):
        return _zip_problem(path)
    elif name.endswith(".eml"):
        message = message_from_bytes(data, policy=policy.default)
        if not message["Message-ID"] or not message["Subject"]:
            return "email without Message-ID or Subject"
    return None


def _zip_problem(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            if archive.testzip() is not None:
                return "a member is corrupt"
            manifest = json.loads(archive.read("MANIFEST.json"))
            names = set(archive.namelist()) - {"MANIFEST.json"}
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        return f"zip unreadable: {error}"
    listed = {entry["path"] for entry in manifest["files"]}
    return None if listed == names else "the manifest does not list the zip's files"


def unfinished_rows(root: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(root / "state" / "ledger.sqlite3") as db:
        return list(db.execute("SELECT stage, path, state FROM files "
                               "WHERE state IN ('pending', 'running')"))


def drained(root: Path) -> bool:
    """Every file each stage would take has a final ledger row for its current content."""
    ledger = root / "state" / "ledger.sqlite3"
    if not ledger.exists():
        return False
    with sqlite3.connect(ledger) as db:
        rows = {(stage, path): (state, size, mtime_ns) for stage, path, state, size, mtime_ns
                in db.execute("SELECT stage, path, state, size, mtime_ns FROM files ORDER BY id")}
    if any(state in ("pending", "running") for state, _, _ in rows.values()):
        return False
    for stage in STAGES:
        for entry in iter_files(root / stage.inbox):
            if not stage.accepts(entry.name) or printable_name(entry.name) != entry.name:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                return False  # moved away (quarantined) while we looked: still in motion
            row = rows.get((stage.name, f"{stage.inbox}/{entry.name}"))
            if row is None or row[1:] != (info.st_size, info.st_mtime_ns):
                return False
    return True


def sink_rows(root: Path, table: str = "idx_filings") -> list[dict[str, object]]:
    """Every row of the default SQLite sink."""
    path = root / "state" / "filings.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in db.execute(f"SELECT * FROM {table}")]
        except sqlite3.OperationalError:  # the table is made on first insert
            return []
