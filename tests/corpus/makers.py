"""The corpus cases that cannot be committed as plain files, made at test time.

Symbolic links (to files outside the root, or to nothing), FIFOs, directories where a file is
expected, names that are not UTF-8, carry control characters or reach the filesystem's limit,
files a writer has not finished (temporary names), and files too large to keep in git. Each
maker writes its case into the inbox it is given and returns the path it made; `outside` is a
directory beside the root, for the targets of the links.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from tests.corpus.build_static import FILES

Maker = Callable[[Path, str, Path], Path]
HUGE_BYTES = 40 * 1024 * 1024


def _good_pdf() -> bytes:
    return (FILES / "pdf" / "good-srtg.pdf").read_bytes()


def symlink_outside(inbox: Path, name: str, outside: Path) -> Path:
    target = outside / f"target-of-{name}"
    target.write_bytes(_good_pdf() if name.endswith(".pdf") else b'{"announcements": []}')
    (inbox / name).symlink_to(target)
    return inbox / name


def symlink_dangling(inbox: Path, name: str, outside: Path) -> Path:
    (inbox / name).symlink_to(outside / "nothing-here")
    return inbox / name


def symlink_to_root_file(inbox: Path, name: str, outside: Path) -> Path:
    """A link to the daemon's own ledger: following it would feed the database to a parser."""
    (inbox / name).symlink_to(inbox.parents[1] / "state" / "ledger.sqlite3")
    return inbox / name


def fifo(inbox: Path, name: str, outside: Path) -> Path:
    os.mkfifo(inbox / name)  # opening it for reading would block the worker forever
    return inbox / name


def directory(inbox: Path, name: str, outside: Path) -> Path:
    (inbox / name).mkdir()
    (inbox / name / "inside.json").write_text("{}")
    return inbox / name


def raw_name(inbox: Path, name: str, outside: Path) -> Path:
    """`name` is written with `\\xNN` escapes for bytes that are not UTF-8."""
    raw = name.encode("ascii").decode("unicode_escape").encode("latin-1")
    path = os.path.join(os.fsencode(inbox), raw)
    with open(path, "wb") as handle:
        handle.write(_good_pdf() if raw.endswith(b".pdf") else b'{"announcements": []}')
    return Path(os.fsdecode(path))


def control_name(inbox: Path, name: str, outside: Path) -> Path:
    path = inbox / name.encode("ascii").decode("unicode_escape")
    path.write_bytes(_good_pdf() if path.suffix == ".pdf" else b'{"announcements": []}')
    return path


def longest(name: str) -> str:
    """`name`'s stem repeated up to a 255-byte name: the usual filesystem limit."""
    stem, suffix = name.rsplit(".", 1)
    return (stem * 255)[: 254 - len(suffix)] + "." + suffix


def longest_name(inbox: Path, name: str, outside: Path) -> Path:
    """A good form under a 255-byte name, so `<stem>.json` is over the limit."""
    path = inbox / longest(name)
    path.write_bytes(_good_pdf())
    return path


def huge_pdf(inbox: Path, name: str, outside: Path) -> Path:
    path = inbox / name
    with path.open("wb") as handle:
        handle.write(b"%PDF-1.4\n%")
        handle.truncate(HUGE_BYTES)
        handle.seek(HUGE_BYTES)
        handle.write(b"\n%%EOF\n")
    return path


def huge_batch(inbox: Path, name: str, outside: Path) -> Path:
    path = inbox / name
    payload = {"announcements": [], "note": "x" * HUGE_BYTES}
    path.write_text(json.dumps(payload))
    return path


def good_pdf_broken_sidecar(inbox: Path, name: str, outside: Path) -> Path:
    path = inbox / name
    path.write_bytes(_good_pdf())
    (inbox / (name + ".meta.json")).write_text('{"ticker": "SRTG", ')
    return path


def unfinished(inbox: Path, name: str, outside: Path) -> Path:
    path = inbox / name
    path.write_bytes(_good_pdf() if ".pdf" in name else b"[")
    return path


def zero_byte(inbox: Path, name: str, outside: Path) -> Path:
    (inbox / name).write_bytes(b"")
    return inbox / name


def big_pdf_body() -> bytes:
    """What the exchange serves for the `too-large` case: over the test's 1 MB cap."""
    return b"%PDF-1.4\n%" + b"0" * (2 * 1024 * 1024) + b"\n%%EOF\n"


MAKERS: dict[str, Maker] = {
    "symlink_outside": symlink_outside, "symlink_dangling": symlink_dangling,
    "symlink_to_root_file": symlink_to_root_file, "fifo": fifo, "directory": directory,
    "raw_name": raw_name, "control_name": control_name, "longest_name": longest_name,
    "huge_pdf": huge_pdf, "huge_batch": huge_batch,
    "good_pdf_broken_sidecar": good_pdf_broken_sidecar, "unfinished": unfinished,
    "zero_byte": zero_byte,
}
