"""`idxd status`: what a root's ledger and files say, as plain data, and its health.

It works whether or not the daemon runs and writes nothing: it reads the ledger (SQLite allows
readers beside the writer) and the root's directories. Per stage a file counts once: running
while a handler has it, queued while it waits in its inbox. The health is the engine's own
facts (files failed, quarantined, crashed) and the application's (`App.status_extras`): any
fact carrying a `problem` sentence makes the root degraded, and `idxd status` exits 1 with
those sentences on one line. Disk use is measured per top-level directory of the root, the
ledger on its own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemon.ledger import LEDGER_NAME, FileState, Ledger
from daemon.lock import holder_pid
from daemon.quarantine import quarantined_files
from daemon.stages import App, Stage
from daemon.worker import CRASHED_PROCESS


def collect_status(root: Path, app: App[Any, Any], settings: Any = None) -> dict[str, Any]:
    """Everything `idxd status` shows; it reads and never writes the ledger."""
    ledger = Ledger.open_readonly(root)
    try:
        return _collect(root, app, settings, ledger)
    finally:
        if ledger:
            ledger.close()


def _collect(root: Path, app: App[Any, Any], settings: Any,
             ledger: Ledger | None) -> dict[str, Any]:
    counts = ledger.counts() if ledger else {}
    running = {row["path"] for row in ledger.rows_in_state(FileState.RUNNING)} if ledger else set()
    quarantined = ledger.rows_in_state(FileState.QUARANTINED) if ledger else []
    oldest = ledger.oldest_unfinished() if ledger else None
    pid = holder_pid(root)
    stages = {stage.name: _stage_row(root, stage, ledger, counts.get(stage.name, {}),
                                     running if pid is not None else set())
              for stage in app.stages}
    files = {"failed": sum(row["failed"] for row in stages.values()),
             "quarantined": sum(row["quarantined"] for row in stages.values()),
             "crashed": sum(row["error_code"] == CRASHED_PROCESS for row in quarantined)}
    facts = app_facts(app, settings, ledger.get_state if ledger else lambda _key: None)
    return {
        "root": str(root),
        "daemon": {"running": pid is not None, "pid": pid if pid and pid > 0 else None},
        "health": health(files, facts),
        "files": files,
        "stages": stages,
        "quarantine_files": len(quarantined_files(root)),
        "oldest_pending_age_s": round(time.time() - oldest, 1) if oldest else None,
        "disk": disk_use(root),
        "state": ledger.states_with_prefix("app.") if ledger else {},
        "app": facts,
    }


def _stage_row(root: Path, stage: Stage[Any], ledger: Ledger | None, states: dict[str, int],
               running: set[str]) -> dict[str, int]:
    waiting = _waiting_in_inbox(root, stage, ledger)
    return {
        "queued": len(waiting - running),
        "running": len(waiting & running),
        "done": states.get(FileState.DONE, 0),
        "failed": states.get(FileState.FAILED, 0),
        "quarantined": states.get(FileState.QUARANTINED, 0),
    }


def _waiting_in_inbox(root: Path, stage: Stage[Any], ledger: Ledger | None) -> set[str]:
    """Inbox files whose current content the ledger has not finished (queued or running)."""
    inbox = root / stage.inbox
    if not inbox.is_dir():
        return set()
    settled = ledger.settled_signatures(stage.name) if ledger else {}
    waiting = set()
    for entry in os.scandir(inbox):
        if stage.accepts(entry.name) and not entry.name.startswith("."):
            info = entry.stat(follow_symlinks=False)
            relative = f"{stage.inbox}/{entry.name}"
            if settled.get(relative) != (info.st_size, info.st_mtime_ns):
                waiting.add(relative)
    return waiting


def health(files: dict[str, int], facts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Healthy, or degraded with one short sentence per problem."""
    problems = [f"{files[kind]} file(s) {kind}" for kind in ("failed", "quarantined")
                if files[kind]]
    problems += [str(fact["problem"]) for fact in facts.values() if fact.get("problem")]
    return {"ok": not problems, "problems": problems}


def app_facts(app: App[Any, Any], settings: Any, get_state: Callable[[str], Any]) -> dict[str, Any]:
    """The application's own status facts, each with the age of its "at" time."""
    if app.status_extras is None or settings is None:
        return {}
    facts = {name: dict(fact) for name, fact in app.status_extras(settings, get_state).items()}
    for fact in facts.values():
        at = fact.get("at")
        fact["age_s"] = _age_s(at) if isinstance(at, str) else None
    return facts


def _age_s(iso: str) -> float | None:
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return round(time.time() - moment.timestamp(), 1)


def disk_use(root: Path) -> dict[str, int]:
    """Bytes per top-level directory of the root; the ledger (with its -wal) on its own."""
    ledger = root / LEDGER_NAME
    ledger_files = [ledger.with_name(ledger.name + suffix) for suffix in ("", "-wal", "-shm")]
    use = {"ledger": sum(_size(path) for path in ledger_files)}
    if root.is_dir():
        for entry in sorted(os.scandir(root), key=lambda entry: entry.name):
            if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                use[entry.name] = _tree_size(Path(entry.path), exclude=set(ledger_files))
    return use


def _tree_size(top: Path, exclude: set[Path]) -> int:
    total = 0
    for directory, _dirs, names in os.walk(top):
        total += sum(_size(Path(directory, name)) for name in names
                     if Path(directory, name) not in exclude)
    return total


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:  # removed meanwhile by the running daemon
        return 0
