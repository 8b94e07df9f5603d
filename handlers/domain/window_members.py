"""Which files belong to an email window, and which of them are not final yet.

A file belongs to a window by its announcement's publish time: announcement batches by the
ingest window in their name (or their records), PDFs by their `.meta.json` sidecar, parsed
records and filings by the announcement they carry, alerts by the bucket they were filed under
(and, still in `alerts/`, by the instant bucketize would give them). A file in a stage's inbox
is final once the engine has finished its current content (done, failed or quarantined), which
the caller answers (`Finished`: the ledger's `has_finished`); a file the ledger has no row for
has not been processed yet. Files written before the window started cannot
hold its announcements, so they are skipped without being read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from daemon.files import read_json_object
from handlers import paths
from handlers.domain.alerts import alert_instant
from handlers.domain.announcements import read_batch
from handlers.domain.filings.rows import publish_time
from handlers.domain.windows import WIB, Window

STUB = re.compile(r"^(\d{8}_\d{4})_(\d{8}_\d{4})$")
INBOXES = tuple(paths.inbox(d) for d in (paths.ANNOUNCEMENTS, paths.IDX_FORMS, paths.PARSED,
                                        paths.ALERTS))
# (root-relative path, size, mtime_ns) -> whether the engine has finished that content.
Finished = Callable[[str, int, int], bool]


@dataclass(frozen=True)
class MailWindow:
    """An email window: aligned windows are `[start, end)`; an `idxd once` window is inclusive."""

    window: Window
    inclusive: bool = False

    @property
    def stub(self) -> str:
        return self.window.stub

    def contains(self, instant: datetime) -> bool:
        if self.inclusive:
            return self.window.contains(instant)
        return self.window.start <= instant < self.window.end

    def overlaps(self, other: Window) -> bool:
        return other.start <= self.window.end and self.window.start <= other.end


@dataclass
class Members:
    announcements: list[Path]
    pdfs: list[Path]
    parsed: list[Path]
    filings: list[Path]
    alerts: list[Path]  # bucketed alerts, both categories
    pending: list[str]  # root-relative paths not final yet
    own_alerts: int = 0  # how many of `alerts` are this window's (the rest came late)

    def artifacts(self, with_pdfs: bool) -> list[Path]:
        files = [*self.announcements, *self.parsed, *self.filings, *self.alerts]
        if with_pdfs:
            files += [p for pdf in self.pdfs for p in (pdf, paths.sidecar_of(pdf)) if p.is_file()]
        return files


def window_of_stub(stub: str) -> Window | None:
    match = STUB.match(stub)
    if match is None:
        return None
    start, end = (datetime.strptime(part, "%Y%m%d_%H%M").replace(tzinfo=WIB)
                  for part in match.groups())
    return Window(start, end) if end >= start else None


def collect(root: Path, mail_window: MailWindow, finished: Finished) -> Members:
    members = Members(announcements=list(_announcements(root, mail_window)),
                      pdfs=list(_pdfs(root, mail_window)),
                      parsed=list(_by_announcement(root / paths.PARSED, mail_window)),
                      filings=list(_by_announcement(root / paths.FILINGS, mail_window)),
                      alerts=list(bucketed_alerts(root, mail_window)), pending=[])
    candidates = [*members.announcements, *members.pdfs, *members.parsed,
                  *_unbucketed_alerts(root, mail_window)]
    members.pending = [relative for path in candidates
                       if not is_final(finished, relative := path.relative_to(root).as_posix(),
                                       path)]
    return members


def is_final(finished: Finished, relative: str, path: Path) -> bool:
    """No stage will change anything for this file: outside every inbox, or its current
    content finished."""
    if relative.rsplit("/", 1)[0] not in INBOXES:
        return True
    try:
        info = path.stat()
    except FileNotFoundError:
        return True  # moved away (quarantined) meanwhile
    return finished(relative, info.st_size, info.st_mtime_ns)


def bucketed_alerts(root: Path, mail_window: MailWindow) -> Iterator[Path]:
    """Alerts filed under a bucket whose window overlaps, and whose instant lies inside."""
    for bucket in paths.BUCKETS.values():
        for directory in sorted(_subdirs(root / bucket)):
            bucket_window = window_of_stub(directory.name)
            if bucket_window is None or not mail_window.overlaps(bucket_window):
                continue
            exact = directory.name == mail_window.stub and not mail_window.inclusive
            for path in _files(directory, "*.json", None):
                if exact or _instant_inside(path, mail_window):
                    yield path


def _announcements(root: Path, mail_window: MailWindow) -> Iterator[Path]:
    for path in _files(root / paths.ANNOUNCEMENTS, "*.json", mail_window.window.start):
        named = window_of_stub(path.stem)
        if named is not None:
            if mail_window.overlaps(named):
                yield path
            continue
        try:
            _, records = read_batch(path)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if any(_inside(publish_time(record), mail_window) for record in records):
            yield path


def _pdfs(root: Path, mail_window: MailWindow) -> Iterator[Path]:
    for directory in paths.DOWNLOAD_KINDS.values():
        for path in _files(root / directory, "*.pdf", mail_window.window.start):
            if _inside(publish_time(read_json_object(paths.sidecar_of(path))), mail_window):
                yield path


def _by_announcement(directory: Path, mail_window: MailWindow) -> Iterator[Path]:
    for path in _files(directory, "*.json", mail_window.window.start):
        record = read_json_object(path)
        if _inside(publish_time(record.get("announcement")), mail_window):
            yield path


def _unbucketed_alerts(root: Path, mail_window: MailWindow) -> Iterator[Path]:
    for path in _files(root / paths.ALERTS, "*.json", mail_window.window.start):
        if _instant_inside(path, mail_window):
            yield path


def _instant_inside(path: Path, mail_window: MailWindow) -> bool:
    try:
        return mail_window.contains(alert_instant(read_json_object(path), path))
    except Exception:  # an unreadable alert has no window; bucketize reports it
        return False


def _inside(instant: datetime | None, mail_window: MailWindow) -> bool:
    return instant is not None and mail_window.contains(instant)




def _files(directory: Path, pattern: str, since: datetime | None) -> Iterator[Path]:
    """Regular files (no symlinks, no temporary names) matching `pattern`, sorted by name."""
    # A day of slack: mtimes and publish times come from different clocks.
    floor_s = (since - timedelta(days=1)).timestamp() if since is not None else None
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except FileNotFoundError:
        return
    for entry in entries:
        if (entry.name.startswith(".") or not entry.is_file(follow_symlinks=False)
                or not Path(entry.name).match(pattern)):
            continue
        if floor_s is None or entry.stat(follow_symlinks=False).st_mtime >= floor_s:
            yield Path(entry.path)


def _subdirs(directory: Path) -> Iterator[Path]:
    try:
        for entry in os.scandir(directory):
            if entry.is_dir(follow_symlinks=False):
                yield Path(entry.path)
    except FileNotFoundError:
        return
