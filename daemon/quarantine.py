"""Quarantine: where a file that failed for good goes, with the reason beside it, and how
`idxd replay` puts it back.

`quarantine/<stage>/<name>` holds the file as it was; `<name>.error.json` says which stage
failed, the exception, its message, the attempts and the times, and where the file came from.
An inbox on another filesystem gets its file copied instead of renamed, and a read-only inbox
keeps its file (the copy in quarantine is what replay uses; the ledger never takes it again).
"""

from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemon.files import (
    copy_atomic,
    fit_name,
    fsync_directory,
    printable_name,
    unique_path,
    write_json_atomic,
)
from daemon.logs import get_logger
from daemon.scrub import scrub_data

QUARANTINE_DIR = "quarantine"
ERROR_SUFFIX = ".error.json"
NAME_MAX_BYTES = 255
# A rename cannot do it: another filesystem, or an inbox we may read but not change.
COPY_ERRNOS = frozenset({errno.EXDEV, errno.EROFS, errno.EACCES, errno.EPERM})
log = get_logger()


@dataclass(frozen=True)
class ErrorRecord:
    stage: str
    source_path: str  # relative to the root
    sha256: str
    code: str
    error_type: str
    message: str
    attempts: int
    first_attempt_at: str
    failed_at: str
    details: dict[str, Any]


def quarantine_file(root: Path, source: Path, record: ErrorRecord) -> Path:
    """Move `source` into quarantine with its `.error.json`; returns the new path."""
    # Room for the `.error.json` beside it and a `-N` to keep names unique.
    name = fit_name(printable_name(source.name), NAME_MAX_BYTES - len(ERROR_SUFFIX) - 8)
    target = unique_path(root / QUARANTINE_DIR / record.stage / name)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(target.with_name(target.name + ERROR_SUFFIX), scrub_data(asdict(record)))
    _move(source, target)
    fsync_directory(target.parent)
    return target


def _move(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
        return
    except OSError as error:
        # Only a regular file can be copied instead (reading a FIFO would block for ever).
        if error.errno not in COPY_ERRNOS or not stat.S_ISREG(os.lstat(source).st_mode):
            raise
    copy_atomic(source, target)
    try:
        source.unlink()
    except OSError as error:
        log.warning("quarantine.left_in_place", path=printable_name(str(source)),
                    error=f"{type(error).__name__}: {error.strerror}",
                    copy=printable_name(str(target)))


def read_error(quarantined: Path) -> ErrorRecord:
    data = json.loads(quarantined.with_name(quarantined.name + ERROR_SUFFIX).read_text())
    return ErrorRecord(**data)


def quarantined_files(root: Path) -> list[Path]:
    base = root / QUARANTINE_DIR
    if not base.is_dir():
        return []
    return sorted(path for path in base.glob("*/*")
                  if path.is_file() and not path.name.endswith(ERROR_SUFFIX))


def restore(root: Path, quarantined: Path) -> tuple[ErrorRecord, Path]:
    """Move a quarantined file back to where it came from; the error file is removed."""
    record = read_error(quarantined)
    target = root / record.source_path
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target = unique_path(target)
    os.replace(quarantined, target)
    quarantined.with_name(quarantined.name + ERROR_SUFFIX).unlink(missing_ok=True)
    fsync_directory(target.parent)
    return record, target


def utc_iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat()
