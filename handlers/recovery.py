"""What a lost ledger needs from the pipeline: where past work shows, and what each stage made.

Every stage names its outputs deterministically from its input, so `outputs_of` answers "did
this stage finish this file?" from the disk alone: a file is done when every output its stage
writes for it exists. `download`: each attachment's PDF (and sidecar) in `downloads/`; a batch
with an attachment not on disk, or an announcement with none, is processed again, which is
harmless (PDFs on disk are skipped, alerts are named by their content). `parse`: the parsed
record in `data/parsed/`. `generate`: the outcome in `data/filings/` (with the alerts it names).
`bucketize`: the alert's copy under any window of `alerts_inserted/` or `alerts_not_inserted/`.

The rollover's state comes back from `outbox/` and `artifacts/`: a window with an `.eml` was
emailed (its `Message-ID` and the alerts its zip holds are recorded, so neither it nor its
alerts are mailed again), a window with only a zip was closed without an email, and the
rollover's cursor resumes after the latest of them. An `.eml` whose delivery was still being
retried when the ledger was lost counts as sent: it stays in `outbox/` for a manual resend.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from daemon.files import iter_files
from daemon.guard import Recovery, Restored
from handlers import paths
from handlers.adapters.artifacts import read_manifest
from handlers.domain import attachments as names
from handlers.domain.announcements import read_batch
from handlers.domain.window_members import window_of_stub
from handlers.jobs.rollover import CLOSED, SENT, STATE_PREFIX, SUMMARY_KEY
from handlers.stages.parse import parsed_name

# Files only stages and the rollover write (never in an inbox): one on disk means past work.
WORK_FILES = (paths.OUTBOX / "*.eml", paths.ARTIFACTS / "*.zip", paths.FILINGS / "*.json",
              paths.ALERTS_INSERTED / "*" / "*.json", paths.ALERTS_NOT_INSERTED / "*" / "*.json")


def downloaded(root: Path, batch: Path) -> list[Path] | None:
    try:
        _, records = read_batch(batch)
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None  # the stage will quarantine it
    outputs: list[Path] = []
    for record in records:
        attachments = record.get("attachments") or []
        if not attachments:
            return None
        for attachment in attachments:
            pdf = root / paths.DOWNLOAD_KINDS[names.kind_of(attachment)] / names.local_name(
                record, attachment)
            if not pdf.is_file():
                return None
            outputs += [paths.sidecar_of(pdf), pdf]
    return outputs


def parsed(root: Path, pdf: Path) -> list[Path] | None:
    target = root / paths.PARSED / parsed_name(pdf)
    return [target] if target.is_file() else None


def generated(root: Path, parsed_file: Path) -> list[Path] | None:
    target = root / paths.FILINGS / parsed_file.name
    try:
        record = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    alerts = [root / paths.ALERTS / str(name) for name in record.get("alerts") or []]
    return [target, *(alert for alert in alerts if alert.is_file())]


def bucketized(root: Path, alert: Path) -> list[Path] | None:
    for bucket in paths.BUCKETS.values():
        copies = sorted((root / bucket).glob(f"*/{alert.name}"))
        if copies:
            return [copies[0]]
    return None


STAGE_OUTPUTS: dict[str, Callable[[Path, Path], list[Path] | None]] = {
    "download": downloaded, "parse": parsed, "generate": generated, "bucketize": bucketized}


def outputs_of(stage: str, root: Path, source: Path) -> list[Path] | None:
    found = STAGE_OUTPUTS.get(stage)
    return found(root, source) if found is not None else None


def restore_windows(root: Path) -> Restored:
    """The rollover's window states and cursor, from the `.eml` files and the zips."""
    windows = {name: _closed_window(root, name) for name in _zip_names(root)}
    windows.update({name: state for name, state in _emailed_windows(root)})
    state: dict[str, Any] = {STATE_PREFIX + name: value for name, value in windows.items()}
    if windows:
        state[SUMMARY_KEY] = _summary(windows)
    emailed = sum(value["state"] == SENT for value in windows.values())
    return Restored(state, f"{emailed} window(s) already emailed and "
                           f"{len(windows) - emailed} closed without an email")


def _emailed_windows(root: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for entry in iter_files(root / paths.OUTBOX):
        if not entry.name.endswith(".eml"):
            continue
        with open(entry.path, "rb") as handle:
            headers = BytesHeaderParser(policy=policy.default).parse(handle)
        name = entry.name.removesuffix(".eml")
        sent_at = datetime.fromtimestamp(entry.stat().st_mtime, UTC).isoformat()
        yield name, {**_closed_window(root, name), "state": SENT, "sent_at": sent_at,
                     "message_id": _header(headers, "Message-ID"), "transport": "recovered",
                     "window": _header(headers, "X-IDXD-Window") or name.removeprefix("once-"),
                     "eml": f"{paths.inbox(paths.OUTBOX)}/{entry.name}", "attempts": 0}


def _header(headers: Message, name: str) -> str | None:
    value = headers.get(name)
    return str(value).strip() if value is not None else None


def _zip_names(root: Path) -> list[str]:
    return [entry.name.removesuffix(".zip") for entry in iter_files(root / paths.ARTIFACTS)
            if entry.name.endswith(".zip")]


def _closed_window(root: Path, name: str) -> dict[str, Any]:
    zip_path = root / paths.ARTIFACTS / f"{name}.zip"
    return {"window": name.removeprefix("once-"), "state": CLOSED, "email": None,
            "artifact": zip_path.relative_to(root).as_posix() if zip_path.is_file() else None,
            "alerts": _zipped_alerts(zip_path), "late": [], "pending": 0, "recovered": True}


def _zipped_alerts(zip_path: Path) -> list[str]:
    """The bucketed alerts a window's zip holds: the ones its email carried."""
    try:
        files = read_manifest(zip_path).get("files") or []
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return []
    buckets = tuple(paths.inbox(bucket) + "/" for bucket in paths.BUCKETS.values())
    return [str(f["path"]) for f in files if str(f.get("path", "")).startswith(buckets)]


def _summary(windows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    aligned = [window for name in windows if (window := window_of_stub(name)) is not None]
    summary: dict[str, Any] = {}
    if aligned:
        summary["next_start"] = max(window.end for window in aligned).isoformat()
    sent = sorted((value for value in windows.values() if value["state"] == SENT),
                  key=lambda value: str(value["sent_at"]))
    if sent:
        summary["last_email"] = {key: sent[-1].get(key) for key in (
            "window", "message_id", "sent_at", "transport", "eml")}
    return summary


RECOVERY = Recovery(work_files=tuple(p.as_posix() for p in WORK_FILES), outputs_of=outputs_of,
                    restore_state=restore_windows)
