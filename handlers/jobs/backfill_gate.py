"""When the backfill may hand the pipeline more work: live work first, little of its own.

A batch file the backfill handed over is in flight until every file descending from it (the
forms the download stage fetched, their parsed records and their filings' alerts) has ended in
the ledger (done or quarantined); `failed` is not the end here, such a file waits for a source
to come back, and holds the summary of its days back. The backfill keeps at most
`[backfill] concurrency` batches busy in the pipeline (a failed one waiting for its next try
is not busy), each of `batch_size` announcements, so a live batch that lands meanwhile waits
behind at most those: every stage takes its files in the order they landed. It hands over
nothing while a live batch (any other file of the download inbox) is waiting or running.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from daemon.ledger import FileState, Ledger
from handlers import paths
from handlers.domain import attachments as names
from handlers.domain.announcements import read_batch
from handlers.recovery import generated
from handlers.stages.parse import parsed_name

BATCH_PREFIX = "backfill-"
BATCHES = paths.inbox(paths.ANNOUNCEMENTS) + "/"


def is_backfill_batch(relative: str) -> bool:
    return relative.startswith(BATCHES + BATCH_PREFIX)


def failed_paths(ledger: Ledger) -> set[str]:
    """Files that outlived their retries and wait to be tried again (a source resting, a
    form not on the file host yet)."""
    return {str(row["path"]) for row in ledger.rows_in_state(FileState.FAILED)}


def unfinished(ledger: Ledger, root: Path, batches: Iterable[str], failed: set[str]) -> list[str]:
    """The batches whose lineage has not ended yet, in order."""
    walk = Walk(ledger, root, failed)
    return [batch for batch in batches if not lineage_ended(walk, batch)]


def busy(in_flight: Iterable[str], failed: set[str]) -> list[str]:
    """The batches in flight that hold the pipeline: one waiting to be tried again (for a
    form the file host may never serve, up to `[download] missing_horizon_s`) does not, or
    one such form would stall the backfill; it still holds its summary back."""
    return [batch for batch in in_flight if batch not in failed]


@dataclass(frozen=True)
class Walk:
    ledger: Ledger
    root: Path
    failed: set[str]  # waiting to be tried again: not ended

    def ended(self, path: Path) -> bool:
        """The engine is done with this file's current content, or it moved to quarantine."""
        try:
            info = path.stat()
        except FileNotFoundError:
            return True
        relative = path.relative_to(self.root).as_posix()
        return relative not in self.failed and self.ledger.has_finished(
            relative, info.st_size, info.st_mtime_ns)


def lineage_ended(walk: Walk, batch: str) -> bool:
    """The batch, the alerts its download raised, each form it brought, its parsed record and
    its filing's alerts have ended. Each stage names its outputs from its input, so they are
    found on disk; the download's alerts are the batch's recorded outputs (indexed ledger
    look-ups only, however long the ledger)."""
    path = walk.root / batch
    if not walk.ended(path):
        return False
    if not all(walk.ended(walk.root / alert) for alert in _alerts_recorded(walk.ledger, batch)):
        return False
    for pdf in forms_of(walk.root, path):
        parsed = walk.root / paths.PARSED / parsed_name(pdf)
        if not (walk.ended(pdf) and walk.ended(parsed)):
            return False
        outputs = generated(walk.root, parsed) if parsed.is_file() else None
        alerts = [out for out in outputs or [] if out.parent == walk.root / paths.ALERTS]
        if not all(walk.ended(alert) for alert in alerts):
            return False
    return True


def _alerts_recorded(ledger: Ledger, batch: str) -> list[str]:
    """The alerts among the outputs of the batch's finished download (a gone form, a refused
    or a non-IDX document): bucketized like any alert, after the batch itself is done."""
    alerts = f"{paths.ALERTS.as_posix()}/"
    return [output for output in ledger.finished_outputs(batch) if output.startswith(alerts)]


def forms_of(root: Path, batch: Path) -> list[Path]:
    """The IDX-format PDFs the download stage wrote for the batch (a refused one has none)."""
    try:
        _, records = read_batch(batch)
    except (OSError, ValueError, KeyError, TypeError):
        return []  # the download stage quarantines it
    forms = [root / paths.IDX_FORMS / names.local_name(record, attachment)
             for record in records for attachment in record.get("attachments") or []
             if names.kind_of(attachment) == names.IDX_FORMAT]
    return [pdf for pdf in forms if pdf.is_file()]


def live_work(ledger: Ledger, root: Path) -> list[str]:
    """Batches not the backfill's that are waiting or running in the download stage (a row
    left pending for a file since removed waits for nothing)."""
    rows = [*ledger.rows_in_state(FileState.RUNNING), *ledger.rows_in_state(FileState.PENDING)]
    return [path for row in rows if (path := str(row["path"])).startswith(BATCHES)
            and not is_backfill_batch(path) and (root / path).exists()]
