"""Every runtime directory and file suffix of the pipeline, declared once.

All paths are relative to the daemon's root (`--root`, `ctx.root`): code joins them to the root
where it needs a real place. The engine's own places (the ledger, the lock, `quarantine/`)
belong to `daemon/`; they are named here only by reference, for `idxd clean`.
"""

from __future__ import annotations

from pathlib import Path

from daemon.ledger import LEDGER_NAME
from daemon.quarantine import QUARANTINE_DIR

ANNOUNCEMENTS = Path("data/announcements")  # the download stage's inbox
IDX_FORMS = Path("downloads/idx-format")  # the parse stage's inbox
OTHER_DOCUMENTS = Path("downloads/non-idx-format")  # kept for manual review
PARSED = Path("data/parsed")  # the generate stage's inbox
FILINGS = Path("data/filings")  # each PDF's filing rows and their sink outcome
ALERTS = Path("alerts")  # the bucketize stage's inbox
ALERTS_INSERTED = Path("alerts_inserted")
ALERTS_NOT_INSERTED = Path("alerts_not_inserted")
ARTIFACTS = Path("artifacts")
OUTBOX = Path("outbox")
STATE = Path("state")
QUARANTINE = Path(QUARANTINE_DIR)
LEDGER = Path(LEDGER_NAME)

# The alert buckets of the window email, by alert category.
BUCKETS = {"inserted": ALERTS_INSERTED, "not_inserted": ALERTS_NOT_INSERTED}

COMPANY_CACHE = STATE / "company"
LAST_RUN = STATE / "last_run.json"  # the original's last ingested end, for operators
FILINGS_DB = STATE / "filings.sqlite3"  # the default sink

DOWNLOADS = IDX_FORMS.parent
DOWNLOAD_KINDS = {"idx-format": IDX_FORMS, "non-idx-format": OTHER_DOCUMENTS}
SIDECAR_SUFFIX = ".meta.json"  # beside each downloaded PDF: its announcement and attachment

# What `idxd clean` may empty (generated again from the exchange) and what it must keep.
GENERATED = (DOWNLOADS, Path("data"), ALERTS, ALERTS_INSERTED, ALERTS_NOT_INSERTED, ARTIFACTS)
KEPT = (STATE, QUARANTINE, OUTBOX)

# Data shipped inside the package (not under the root).
BUNDLED = Path(__file__).resolve().parent / "data"


def inbox(directory: Path) -> str:
    """A directory as the engine's stage table spells an inbox."""
    return directory.as_posix()


def sidecar_of(pdf: Path) -> Path:
    return pdf.with_name(pdf.name + SIDECAR_SUFFIX)
