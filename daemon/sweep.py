"""Catch-up: list every inbox and queue what the ledger has not seen finished.

Used at start, after an inotify queue overflow, and every `rescan_s`, so no file depends on an
event to be seen. Files whose size and mtime match a finished ledger row are skipped without
being read, which keeps a rescan of tens of thousands of files cheap. Files modified within the
settle period go to the settler instead, in case a writer is still at work, and so do files the
settler is already waiting on (a writer that paused with the file open is not done).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from daemon.files import is_temporary_name
from daemon.ledger import Ledger
from daemon.settle import Settler
from daemon.stages import Stage


def sweep_inboxes(root: Path, stages: Iterable[Stage[Any]], ledger: Ledger, settler: Settler,
                  settle_ms: int, failed_retry_s: float) -> list[tuple[Stage[Any], str]]:
    found: list[tuple[Stage[Any], str]] = []
    for stage in stages:
        found += _sweep_stage(root, stage, ledger, settler, settle_ms, failed_retry_s)
    return found


def _sweep_stage(root: Path, stage: Stage[Any], ledger: Ledger, settler: Settler, settle_ms: int,
                 failed_retry_s: float) -> list[tuple[Stage[Any], str]]:
    settled = ledger.settled_signatures(stage.name)
    recently_failed = ledger.recently_failed(stage.name, time.time() - failed_retry_s)
    young_after_ns = time.time_ns() - settle_ms * 1_000_000
    found = []
    for entry in _entries(root / stage.inbox):
        if is_temporary_name(entry.name) or not stage.accepts(entry.name):
            continue
        relative = f"{stage.inbox}/{entry.name}"
        info = entry.stat(follow_symlinks=False)
        if settled.get(relative) == (info.st_size, info.st_mtime_ns):
            continue
        if relative in recently_failed:
            continue
        if info.st_mtime_ns > young_after_ns or settler.waiting(entry.path):
            settler.observe(entry.path)
        else:
            found.append((stage, relative))
    return found


def _entries(directory: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            return list(entries)
    except FileNotFoundError:
        return []
