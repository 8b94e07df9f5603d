"""The engine's own commands: drop, replay, trace (`daemon/status.py` is status). They work
whether or not the daemon runs: they read the ledger (SQLite allows readers beside the writer)
and move files atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from daemon.files import copy_atomic
from daemon.ledger import FileState, Ledger
from daemon.quarantine import quarantined_files, read_error, restore
from daemon.stages import App, Stage


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
