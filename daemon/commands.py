"""The engine's own commands: status, drop, replay, trace. They work whether or not the daemon
runs: they read the ledger (SQLite allows readers beside the writer) and move files atomically.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemon.files import copy_atomic
from daemon.ledger import FileState, Ledger
from daemon.lock import holder_pid
from daemon.quarantine import quarantined_files, read_error, restore
from daemon.stages import App, Stage


def collect_status(root: Path, app: App[Any, Any], settings: Any = None) -> dict[str, Any]:
    """Everything `idxd status` shows, as plain data; it reads and never writes the ledger."""
    ledger = Ledger.open_readonly(root)
    counts = ledger.counts() if ledger else {}
    queue_state = ledger.get_state("daemon.queue", {}) if ledger else {}
    oldest = ledger.oldest_unfinished() if ledger else None
    pid = holder_pid(root)
    running_daemon = pid is not None
    stages = {}
    for stage in app.stages:
        states = counts.get(stage.name, {})
        stages[stage.name] = {
            "queued": (queue_state.get("queued", {}).get(stage.name, 0) if running_daemon else 0)
            + _waiting_in_inbox(root, stage, ledger),
            "running": states.get(FileState.RUNNING, 0) if running_daemon else 0,
            "done": states.get(FileState.DONE, 0),
            "failed": states.get(FileState.FAILED, 0),
            "quarantined": states.get(FileState.QUARANTINED, 0),
        }
    status = {
        "root": str(root),
        "daemon": {"running": running_daemon, "pid": pid if pid and pid > 0 else None},
        "stages": stages,
        "quarantine_files": len(quarantined_files(root)),
        "oldest_pending_age_s": round(time.time() - oldest, 1) if oldest else None,
        "state": ledger.states_with_prefix("app.") if ledger else {},
        "app": app_facts(app, settings, ledger.get_state if ledger else lambda _key: None),
    }
    if ledger:
        ledger.close()
    return status


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


def _waiting_in_inbox(root: Path, stage: Stage[Any], ledger: Ledger | None) -> int:
    """Files in the inbox whose current content the ledger has not finished (daemon stopped)."""
    inbox = root / stage.inbox
    if not inbox.is_dir():
        return 0
    settled = ledger.settled_signatures(stage.name) if ledger else {}
    waiting = 0
    for entry in os.scandir(inbox):
        if stage.accepts(entry.name) and not entry.name.startswith("."):
            info = entry.stat(follow_symlinks=False)
            relative = f"{stage.inbox}/{entry.name}"
            waiting += settled.get(relative) != (info.st_size, info.st_mtime_ns)
    return waiting


def format_status(status: dict[str, Any]) -> str:
    daemon = status["daemon"]
    lines = [f"root: {status['root']}",
             "daemon: " + (f"running (pid {daemon['pid']})" if daemon["running"] else "stopped"),
             "", f"{'stage':<12}{'queued':>8}{'running':>9}{'done':>8}{'failed':>8}"
             f"{'quarantined':>13}"]
    for name, row in status["stages"].items():
        lines.append(f"{name:<12}{row['queued']:>8}{row['running']:>9}{row['done']:>8}"
                     f"{row['failed']:>8}{row['quarantined']:>13}")
    age = status["oldest_pending_age_s"]
    lines += ["", f"oldest pending: {'none' if age is None else f'{age:.0f} s'}",
              f"files in quarantine: {status['quarantine_files']}"]
    for name, fact in status.get("app", {}).items():
        lines.append(_format_fact(name, fact))
    for key, value in sorted(status["state"].items()):
        lines.append(f"{key.removeprefix('app.')}: {json.dumps(value, default=str)}")
    return "\n".join(lines)


def _format_fact(name: str, fact: dict[str, Any]) -> str:
    details = " ".join(f"{key}={value}" for key, value in fact.items()
                       if key not in ("at", "age_s") and value is not None)
    when = "never" if fact.get("at") is None else str(fact["at"])
    age = fact.get("age_s")
    ago = f" ({_duration(age)} ago)" if isinstance(age, int | float) else ""
    return f"{name.replace('_', ' ')}: {when}{ago}" + (f"  {details}" if details else "")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h" if seconds < 172800 else f"{seconds / 86400:.1f} d"


def drop_file(root: Path, app: App[Any, Any], source: Path, stage_name: str | None) -> Path:
    """Copy `source` atomically into the inbox of `stage_name` (or the stage that takes it)."""
    stage = app.stage_named(stage_name) if stage_name else _stage_for_name(app, source.name)
    if not stage.accepts(source.name):
        raise ValueError(f"stage {stage.name} takes {', '.join(stage.patterns)}, "
                         f"not {source.name}")
    return copy_atomic(source, root / stage.inbox / source.name)


def _stage_for_name(app: App[Any, Any], name: str) -> Stage[Any]:
    matches = [stage for stage in app.stages if stage.accepts(name)]
    if len(matches) != 1:
        choices = ", ".join(stage.name for stage in matches) or "none"
        raise ValueError(f"cannot tell which stage takes {name} (candidates: {choices}); "
                         "name one with --stage")
    return matches[0]


def replay(root: Path, targets: list[Path]) -> list[tuple[str, Path]]:
    """Put quarantined files back in their inbox and let the ledger process them again."""
    ledger = Ledger.open(root)
    replayed = []
    try:
        for quarantined in targets:
            record, restored = restore(root, quarantined)
            relative = restored.relative_to(root).as_posix()
            ledger.reopen(record.stage, relative)
            replayed.append((record.stage, restored))
    finally:
        ledger.close()
    return replayed


def replay_failed_in_place(root: Path) -> int:
    """Files that outlived their retries are tried again at once, not at the next rescan."""
    ledger = Ledger.open(root)
    try:
        rows = ledger.rows_in_state(FileState.FAILED)
        for row in rows:
            ledger.reopen(row["stage"], row["path"])
            path = root / row["path"]
            if path.exists():
                os.utime(path)  # a fresh mtime makes the next sweep look at it
        return len(rows)
    finally:
        ledger.close()


def quarantine_targets(root: Path, path: Path | None) -> list[Path]:
    if path is None:
        return quarantined_files(root)
    read_error(path)  # fails clearly when PATH is not a quarantined file
    return [path]


def trace(root: Path, target: str) -> list[dict[str, Any]]:
    """The lineage of `target`: its ancestors back to the first input, then its descendants."""
    ledger = Ledger.open_readonly(root)
    if ledger is None:
        return []
    try:
        relative = _relative_to(root, target)
        chain = _ancestors(ledger, relative) + _descendants(ledger, relative, set())
        return chain
    finally:
        ledger.close()


def _ancestors(ledger: Ledger, relative: str) -> list[dict[str, Any]]:
    chain: list[dict[str, Any]] = []
    seen = set()
    parents = ledger.parents_of(relative)
    while parents and parents[0]["id"] not in seen:
        parent = parents[0]
        seen.add(parent["id"])
        chain.insert(0, parent)
        parents = ledger.parents_of(parent["path"])
    return chain


def _descendants(ledger: Ledger, relative: str, seen: set[str]) -> list[dict[str, Any]]:
    if relative in seen:
        return []
    seen.add(relative)
    rows = ledger.rows_for(relative)
    chain = list(rows)
    for row in rows:
        for output in row["outputs"]:
            chain += _descendants(ledger, output, seen)
    return chain


def _relative_to(root: Path, target: str) -> str:
    path = Path(target)
    if path.is_absolute() or path.exists():
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return target
    return target
