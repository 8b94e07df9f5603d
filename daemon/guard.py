"""The ledger's guard: the root's identity outside the ledger, and the checks made at start.

A root carries `state/root.json`: an id created at first start and a marker of past work (set
once any file was recorded, and by the application through `note_work`, e.g. the last email
sent). The ledger keeps the same id. At start, a ledger that is missing, empty, or holds no file
and not this root's id, in a root that shows past work (the marker, or, for roots from before
it, a file matching one of the application's `Recovery.work_files` patterns) is refused with
`LedgerUnusable`: started silently from scratch it would process every file again and mail
windows a second time. A file that is not an SQLite database is refused by every command.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.files import write_json_atomic
from daemon.ledger import LEDGER_NAME, SQLITE_HEADER, Ledger, LedgerUnusable, unreadable_sentence

ROOT_FILE = "state/root.json"
ROOT_ID_KEY = "daemon.root_id"  # the same id, inside the ledger
REBUILD_HINT = "run `idxd ledger rebuild` to reconstruct it from the files on disk"


@dataclass(frozen=True)
class Restored:
    """The application's durable state recovered from disk, and one phrase saying what it is."""

    state: Mapping[str, Any]
    summary: str


@dataclass(frozen=True)
class Recovery:
    """What the application tells the engine so a lost ledger is noticed and rebuilt.

    `work_files`: root-relative glob patterns of files that only work writes (an outbox `.eml`,
    a window's zip): one of them on disk shows that work was done. `outputs_of`:
    (stage name, root, input file) -> the outputs that stage wrote for that file when all of them
    are on disk (the file is done), else None (it is processed again). `restore_state`: the
    application's key-value state recovered from its files (e.g. the windows already emailed).
    """

    work_files: Sequence[str] = ()
    outputs_of: Callable[[str, Path, Path], Sequence[Path] | None] | None = None
    restore_state: Callable[[Path], Restored] | None = None


# --- the root's identity --------------------------------------------------------------------

def read_root(root: Path) -> dict[str, Any]:
    """`state/root.json`, or {} when it is missing or unreadable (it is only a marker)."""
    try:
        data = json.loads((root / ROOT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def note_work(root: Path, **facts: Any) -> None:
    """Record that this root has done work, with any facts worth keeping (a last email)."""
    current = read_root(root)
    updated = {**current, "id": current.get("id") or new_root_id(), "work_done": True,
               **facts, "updated_at": time.time()}
    write_json_atomic(root / ROOT_FILE, updated)


def new_root_id() -> str:
    return uuid.uuid4().hex


def ensure_root_id(root: Path, ledger: Ledger) -> str:
    """The root's id, the same in `root.json` and in the ledger; refuses another root's ledger."""
    marker, stored = read_root(root), ledger.get_state(ROOT_ID_KEY)
    root_id = marker.get("id") or stored or new_root_id()
    if stored and stored != root_id:
        raise LedgerUnusable(f"the ledger {ledger.path} belongs to another root (id {stored}, "
                             f"this root is {root_id}); put back this root's ledger or "
                             f"{REBUILD_HINT}")
    if stored != root_id:
        ledger.set_state(ROOT_ID_KEY, root_id)
    if marker.get("id") != root_id:
        write_json_atomic(root / ROOT_FILE, {**marker, "id": root_id, "created_at": time.time()})
    return str(root_id)


# --- the checks -----------------------------------------------------------------------------

def ledger_file_state(root: Path) -> str:
    """"missing", "empty", "foreign" (not SQLite) or "present"."""
    path = root / LEDGER_NAME
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "foreign"
    if not head:
        return "empty"
    return "present" if head == SQLITE_HEADER else "foreign"


def refuse_foreign(root: Path) -> None:
    """Every command that reads or feeds the root: a ledger that is not SQLite is one sentence."""
    if ledger_file_state(root) == "foreign":
        raise LedgerUnusable(unreadable_sentence(root / LEDGER_NAME, "file is not a database"))


def past_work(root: Path, work_files: Sequence[str]) -> str | None:
    """Why this root shows that work was done (a phrase), or None."""
    if read_root(root).get("work_done"):
        return f"{ROOT_FILE} records past work"
    for pattern in work_files:
        found = next((path for path in root.glob(pattern) if not path.name.startswith(".")
                      and path.is_file()), None)
        if found is not None:
            return f"{found.relative_to(root)} is on disk"
    return None


def refuse_lost(root: Path, recovery: Recovery | None) -> None:
    """What starts work: a ledger missing or empty in a root with past work is refused."""
    refuse_foreign(root)
    state = ledger_file_state(root)
    if state in ("missing", "empty") and (why := past_work(root, _work_files(recovery))):
        raise LedgerUnusable(lost_sentence(root, f"is {state}", why))


def _work_files(recovery: Recovery | None) -> Sequence[str]:
    return recovery.work_files if recovery is not None else ()


def open_checked(root: Path, recovery: Recovery | None) -> Ledger:
    """The ledger for a starting daemon, refused when it was lost in a root with past work."""
    refuse_lost(root, recovery)
    work_files = _work_files(recovery)
    ledger = Ledger.open(root)
    try:
        # A ledger that already carries this root's id is the one the root has worked with,
        # even if no file ever landed (a run that only closed an empty window).
        if not ledger.has_files() and not _known(root, ledger) and \
                (why := past_work(root, work_files)):
            raise LedgerUnusable(lost_sentence(root, "holds no file", why))
        ensure_root_id(root, ledger)
        if ledger.has_files() and not read_root(root).get("work_done"):
            note_work(root)
    except BaseException:
        ledger.close()
        raise
    return ledger


def _known(root: Path, ledger: Ledger) -> bool:
    stored = ledger.get_state(ROOT_ID_KEY)
    return stored is not None and stored == read_root(root).get("id")


def lost_sentence(root: Path, what: str, why: str) -> str:
    return (f"the ledger {root / LEDGER_NAME} {what} but this root has done work before "
            f"({why}); {REBUILD_HINT} before starting, so nothing is processed or mailed again")


def watch_ledger(root: Path, ledger: Ledger, marked: bool) -> bool:
    """One heartbeat's look at the ledger: `LedgerUnusable` once it was deleted or replaced
    under the running daemon. Returns whether the root's marker records past work yet."""
    what = ledger.replaced()
    if what is not None:
        note_work(root, ledger_lost_at=time.time())  # so the next start refuses too
        raise LedgerUnusable(replaced_sentence(ledger, what))
    if not marked and ledger.has_files():
        note_work(root)
        return True
    return marked


def replaced_sentence(ledger: Ledger, what: str) -> str:
    return (f"the ledger {ledger.path} {what} while the daemon was running; stopping so "
            f"nothing is processed or mailed again — {REBUILD_HINT}, then start again")
