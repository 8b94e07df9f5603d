"""When a backfill batch's days may go into their summary: only once everything the batch
brought has ended in the ledger, the alerts its download raised included (a gone form's
`download_failed`), not only the forms it fetched."""

from __future__ import annotations

import json
from pathlib import Path

from daemon.ledger import Ledger
from handlers.jobs.backfill_gate import Walk, lineage_ended

BATCH = "data/announcements/backfill-20250801-01.json"
ALERT = "alerts/downloader-SRTG_LK-01082025-0001-00_0a1b2c3d4e-download_failed-0123456789ab.json"


def landed(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def finish(ledger: Ledger, root: Path, stage: str, relative: str, outputs: list[str]) -> None:
    info = (root / relative).stat()
    claim = ledger.claim(stage, relative, relative.rjust(64, "0")[-64:], info.st_size,
                         info.st_mtime_ns)
    assert claim is not None
    ledger.finish(claim.row_id, outputs, 1.0)


def test_a_batch_has_not_ended_while_the_alert_its_download_raised_waits(tmp_path: Path) -> None:
    root = tmp_path
    ledger = Ledger.open(root)
    landed(root, BATCH, json.dumps({"window": None, "announcements": []}))
    landed(root, ALERT, json.dumps({"code": "download_failed"}))
    finish(ledger, root, "download", BATCH, [ALERT])
    walk = Walk(ledger, root, failed=set())
    assert not lineage_ended(walk, BATCH)  # the alert is not bucketized yet
    finish(ledger, root, "bucketize", ALERT, ["alerts_inserted/20250801_0800_20250801_1000/x"])
    assert lineage_ended(walk, BATCH)
    ledger.close()
