"""The artifacts zip of a closed window: `artifacts/<stub>.zip` with a `MANIFEST.json`.

The zip holds the window's announcements, parsed records, filings and alerts (PDFs and their
sidecars when configured), each under its path relative to the root, and a `MANIFEST.json`
written last that lists every file with its size and sha256, so an operator can check the zip
against what the daemon saw. It is written to a temporary name and renamed into place, so an
interrupted rollover never leaves half a zip behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from daemon.files import OWN_TEMP_SUFFIX, fsync_directory
from daemon.scrub import scrub, scrub_data
from handlers import paths

MANIFEST = "MANIFEST.json"
SCHEMA = "idxd.artifacts/1"
TEXT_SUFFIXES = frozenset({".json", ".txt", ".eml", ".log"})


def build_zip(root: Path, stub: str, files: Iterable[Path], *, created_at: datetime,
              window: dict[str, Any], durable: bool = True) -> Path:
    """Write `artifacts/<stub>.zip` holding `files` and their manifest; returns its path."""
    target = root / paths.ARTIFACTS / f"{stub}.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    unique = sorted({path.resolve(): path for path in files}.values())
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                    suffix=OWN_TEMP_SUFFIX)
    os.close(fd)
    try:
        _write_zip(Path(tmp_name), root, unique, created_at, window)
        if durable:
            with open(tmp_name, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    if durable:
        fsync_directory(target.parent)
    return target


def _write_zip(path: Path, root: Path, files: list[Path], created_at: datetime,
               window: dict[str, Any]) -> None:
    entries: list[dict[str, Any]] = []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            relative = file.relative_to(root).as_posix()
            data = stored_bytes(file)  # hashed from the very bytes stored, not re-read later
            archive.writestr(relative, data)
            entries.append({"path": relative, "size": len(data),
                            "sha256": hashlib.sha256(data).hexdigest()})
        manifest = {"schema": SCHEMA, "created_at": created_at.isoformat(), "window": window,
                    "total_files": len(entries),
                    "total_size": sum(entry["size"] for entry in entries), "files": entries}
        archive.writestr(MANIFEST, json.dumps(scrub_data(manifest), ensure_ascii=False,
                                              indent=2) + "\n")


def stored_bytes(file: Path) -> bytes:
    """What the zip keeps of a file: text scrubbed of secrets, anything else as it is (a PDF
    is the exchange's, and rewriting it would break it)."""
    data = file.read_bytes()
    if file.suffix not in TEXT_SUFFIXES:
        return data
    try:
        return scrub(data.decode("utf-8")).encode("utf-8")
    except UnicodeDecodeError:
        return data


def read_manifest(zip_path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(zip_path) as archive:
        manifest: dict[str, Any] = json.loads(archive.read(MANIFEST))
    return manifest
