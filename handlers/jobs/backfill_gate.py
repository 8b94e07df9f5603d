"""When the backfill may hand the pipeline more work: live work first, little of its own.

A batch file the backfill handed over is in flight until every file descending from it (the
PDFs the download stage fetched, their parsed records, filings and alerts) is done or
quarantined in the ledger; `failed` is not the end here, such a file waits for a source to come
back. The backfill keeps at most `[backfill] concurrency` batches in flight, and each is small
(`batch_size` announcements), so a live batch that lands meanwhile waits behind at most those:
every stage takes its files in the order they landed. It hands over nothing while a live batch
(any other file of the download inbox) is waiting or running.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from daemon.ledger import FileState, Ledger
from handlers import paths

BATCH_PREFIX = "backfill-"
# The inboxes whose files a stage takes, by the suffix it takes (sidecars are not taken).
TAKEN = {paths.inbox(paths.ANNOUNCEMENTS): ".json", paths.inbox(paths.IDX_FORMS): ".pdf",
         paths.inbox(paths.PARSED): ".json", paths.inbox(paths.ALERTS): ".json"}
ENDED = frozenset({FileState.DONE, FileState.QUARANTINED})
BATCHES = paths.inbox(paths.ANNOUNCEMENTS) + "/"


@dataclass(frozen=True)
class Lineage:
    complete: bool  # every file descending from the batch has ended
    paths: frozenset[str]  # the files seen on the way (root-relative)


def is_backfill_batch(relative: str) -> bool:
    return relative.startswith(BATCHES + BATCH_PREFIX)


def lineage(ledger: Ledger, root: Path, batch: str) -> Lineage:
    """Walk from a batch file down through each stage's recorded outputs."""
    seen: set[str] = set()
    stack, complete = [batch], True
    while stack:
        path = stack.pop()
        if path in seen:
            continue
        seen.add(path)
        if not _taken(path):
            continue
        outputs = _ended_outputs(ledger, root, path)
        if outputs is None:
            complete = False
        else:
            stack += outputs
    return Lineage(complete, frozenset(seen))


def _taken(relative: str) -> bool:
    parent, _, name = relative.rpartition("/")
    suffix = TAKEN.get(parent)
    return suffix is not None and name.endswith(suffix) and not name.endswith(
        paths.SIDECAR_SUFFIX)


def _ended_outputs(ledger: Ledger, root: Path, relative: str) -> list[str] | None:
    """The outputs of the file's current content once it ended; None while it has not."""
    try:
        info = (root / relative).stat()
    except FileNotFoundError:
        return []  # moved to quarantine: nothing more comes of it
    rows = [row for row in ledger.rows_for(relative) if row["path"] == relative
            and (row["size"], row["mtime_ns"]) == (info.st_size, info.st_mtime_ns)]
    if not rows or rows[-1]["state"] not in ENDED:
        return None
    return [str(output) for output in rows[-1]["outputs"] or []]


def unfinished(ledger: Ledger, root: Path, batches: Iterable[str]) -> list[str]:
    """The batches whose lineage has not ended yet, in order."""
    return [batch for batch in batches if not lineage(ledger, root, batch).complete]


def live_work(ledger: Ledger) -> list[str]:
    """Batches not the backfill's that are waiting or running in the download stage."""
    rows = [*ledger.rows_in_state(FileState.RUNNING), *ledger.rows_in_state(FileState.PENDING)]
    return [row["path"] for row in rows if str(row["path"]).startswith(BATCHES)
            and not is_backfill_batch(str(row["path"]))]
