"""A handler is given its input as the engine claimed it: read once, for the hash and for it."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import pytest

from daemon import files
from daemon.config import EngineSettings, Settings
from daemon.files import hash_and_keep, input_content, input_sha256
from daemon.ledger import Ledger
from daemon.stages import App, Stage
from daemon.worker import FileProcessor

SEEN: dict[str, tuple[bytes, str | None]] = {}


def rewrite_then_read(path: Path, ctx: Any) -> list[Path]:
    """A handler whose input changes under it (a writer that did not hand off atomically)."""
    path.write_bytes(b"rewritten meanwhile")
    SEEN[path.name] = (input_content(path), input_sha256(path))
    return []


APP: App[None, None] = App(name="input", stages=(Stage("a", "in/a", ("*",), rewrite_then_read),),
                           load_settings=lambda document, env: None,
                           open_context=lambda settings, stopping: None)


def run_one(root: Path, name: str, content: bytes) -> str:
    inbox = root / "in" / "a"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / name).write_bytes(content)
    settings = Settings(engine=EngineSettings(root=root, durable_writes=False), app=None)
    ledger = Ledger.open(root)
    processor = FileProcessor(APP, None, ledger, lambda: settings, threading.Event())
    processor.process(APP.stages[0], f"in/a/{name}")
    [row] = ledger.rows_for(f"in/a/{name}")
    ledger.close()
    return str(row["sha256"])


def test_the_handler_reads_the_content_the_ledger_claimed_even_if_the_file_changed(
        tmp_path: Path) -> None:
    claimed = run_one(tmp_path, "x.txt", b"as it landed")
    assert SEEN["x.txt"] == (b"as it landed", claimed)
    assert claimed == hashlib.sha256(b"as it landed").hexdigest()


def test_an_input_too_large_to_keep_is_read_from_disk_by_the_handler(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "KEPT_INPUT_BYTES", 8)
    claimed = run_one(tmp_path, "big.txt", b"more than eight bytes")
    assert SEEN["big.txt"] == (b"rewritten meanwhile", claimed)  # what is on disk now


def test_outside_a_stage_run_or_for_another_file_the_content_is_read_from_disk(
        tmp_path: Path) -> None:
    path = tmp_path / "y.txt"
    path.write_bytes(b"on disk")
    with files.handling_input(tmp_path / "other.txt", "0" * 64, b"the other file's"):
        assert input_content(path) == b"on disk"
    assert input_content(path) == b"on disk"


def test_a_file_that_grew_since_it_was_looked_at_is_hashed_and_kept_whole(
        tmp_path: Path) -> None:
    path = tmp_path / "grown.txt"
    path.write_bytes(b"x" * 70_000)
    sha256, kept = hash_and_keep(path, 10)  # it was 10 bytes when it was looked at
    assert kept == b"x" * 70_000
    assert sha256 == hashlib.sha256(b"x" * 70_000).hexdigest()
    assert hash_and_keep(path, 70_000) == (sha256, kept)
    assert hash_and_keep(path, 100_000) == (sha256, kept)  # it shrank since
