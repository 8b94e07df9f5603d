"""Watching the stage inboxes with watchdog, and turning its events into hints: "ready now"
(closed after writing, or renamed into the inbox), "settle" (created or modified: ready once
stable), and under inotify "opened" and "closed unwritten", which tell the settler whether a
writer still holds a file. Events are only hints; the sweep and the ledger are the truth.

A kernel queue overflow (events lost) becomes an "overflow" hint, and the loop rescans.
Network filesystems deliver no inotify events for changes made on other hosts, so on nfs, cifs
and smb mounts (or by setting) the polling observer is used instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import (
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver
from watchdog.observers.inotify_c import InotifyConstants
from watchdog.observers.polling import PollingObserver

from daemon.emitter import HintObserver
from daemon.files import is_temporary_name

NETWORK_FILESYSTEMS = frozenset({"nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs",
                                 "fuse.sshfs", "9p", "afs", "ceph", "glusterfs"})
READY, SETTLE, OVERFLOW = "ready", "settle", "overflow"
OPENED, CLOSED_UNWRITTEN = "opened", "closed_unwritten"
# Under inotify a writer's close is the signal, so per-write IN_MODIFY events are not asked
# for (they cost the most). A created file is settled by polling its size and mtime, unless an
# open was seen: then it waits for its writer's close (one IN_OPEN per open, not per write).
# A rename from a watched inbox is ready; one from elsewhere arrives as a creation.
INOTIFY_HINTS: dict[int, str] = {
    InotifyConstants.IN_CLOSE_WRITE: READY, InotifyConstants.IN_MOVED_TO: READY,
    InotifyConstants.IN_CREATE: SETTLE, InotifyConstants.IN_OPEN: OPENED,
    InotifyConstants.IN_CLOSE_NOWRITE: CLOSED_UNWRITTEN}
POLLING_EVENTS: list[type[FileSystemEvent]] = [FileMovedEvent, FileCreatedEvent,
                                               FileModifiedEvent]

Sink = Callable[[str, str], None]  # (kind, absolute path)


class InboxEvents(FileSystemEventHandler):
    """Translates watchdog events for one observer into (kind, path) hints."""

    def __init__(self, sink: Sink, inboxes: Iterable[Path]):
        self._sink = sink
        self._inboxes = {str(path) for path in inboxes}

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        if isinstance(event, FileMovedEvent):
            self._hint(READY, _text(event.dest_path))
        elif isinstance(event, FileClosedEvent):
            self._hint(READY, _text(event.src_path))
        elif isinstance(event, FileOpenedEvent):
            self._hint(OPENED, _text(event.src_path))
        elif isinstance(event, FileClosedNoWriteEvent):
            self._hint(CLOSED_UNWRITTEN, _text(event.src_path))
        elif isinstance(event, FileCreatedEvent | FileModifiedEvent):
            self._hint(SETTLE, _text(event.src_path))

    def _hint(self, kind: str, path: str) -> None:
        directory, _, name = path.rpartition("/")
        if directory in self._inboxes and not is_temporary_name(name):
            self._sink(kind, path)


def observer_kind(setting: str, root: Path) -> str:
    """`inotify` or `polling`, resolving `auto` from the filesystem type of the root."""
    if setting != "auto":
        return setting
    return "polling" if filesystem_type(root) in NETWORK_FILESYSTEMS else "inotify"


def filesystem_type(path: Path, mounts_file: str = "/proc/mounts") -> str:
    """The type of the filesystem holding `path` (longest matching mount point)."""
    target = os.path.realpath(path)
    best, best_type = "", ""
    try:
        with open(mounts_file, encoding="utf-8") as mounts:
            for line in mounts:
                parts = line.split()
                if len(parts) < 3:
                    continue
                mount_point = parts[1].replace("\\040", " ")
                inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
                if inside and len(mount_point) >= len(best):
                    best, best_type = mount_point, parts[2]
    except OSError:
        return ""
    return best_type


def start_observer(kind: str, inboxes: list[Path], sink: Sink, poll_interval_s: float,
                   tracked: Callable[[str], bool], backlog: Callable[[], bool] = lambda: False
                   ) -> BaseObserver:
    """Under inotify the hint observer (`daemon.emitter`): events become hints in watchdog's
    reader thread, and opens only for files being settled (`tracked`: the settler watches it).
    The polling observer goes through watchdog's events and dispatcher."""
    observer: BaseObserver
    if kind == "polling":
        observer = PollingObserver(timeout=poll_interval_s)
        handler = InboxEvents(sink, inboxes)
        for inbox in inboxes:
            observer.schedule(handler, str(inbox), recursive=False, event_filter=POLLING_EVENTS)
    else:
        observer = HintObserver(sink, INOTIFY_HINTS, OVERFLOW, tracked, backlog)
        for inbox in inboxes:
            observer.schedule(FileSystemEventHandler(), str(inbox), recursive=False)
    observer.daemon = True
    observer.start()
    return observer


class OverflowDetector(logging.Handler):
    """watchdog also reports a kernel queue overflow as a log line (the only report under its
    own inotify observer); turn that into a hint as well. A second hint costs one rescan."""

    LOGGER = "watchdog.observers.inotify_c"

    def __init__(self, sink: Sink):
        super().__init__(logging.WARNING)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self._sink(OVERFLOW, "")

    def install(self) -> None:
        logging.getLogger(self.LOGGER).addHandler(self)

    def remove(self) -> None:
        logging.getLogger(self.LOGGER).removeHandler(self)


def _text(path: str | bytes) -> str:
    return os.fsdecode(path)
