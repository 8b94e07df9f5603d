"""A run of files: each file after the first is claimed in the transaction that finishes the one
before it, and a claim made that way is never left running."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from daemon.config import EngineSettings, Settings
from daemon.files import input_content, write_atomic
from daemon.ledger import Ledger
from daemon.outcomes import OutcomeState
from daemon.stages import App, Stage
from daemon.worker import FileProcessor


def hand_on(path: Path, root: Any) -> list[Path]:
    return [write_atomic(root / "out" / path.name, input_content(path), durable=False)]


APP: App[None, Path] = App(name="runs", stages=(Stage("a", "in/a", ("*",), hand_on),),
                           load_settings=lambda document, env: None,
                           open_context=lambda settings, stopping: settings.engine.root)
STAGE = APP.stages[0]


@pytest.fixture
def made(tmp_path: Path) -> tuple[FileProcessor, Ledger, threading.Event]:
    (tmp_path / "in" / "a").mkdir(parents=True)
    for name in ("x", "y", "z"):
        (tmp_path / "in" / "a" / name).write_text(name)
    settings = Settings(engine=EngineSettings(root=tmp_path, durable_writes=False), app=None)
    ledger, stopping = Ledger.open(tmp_path), threading.Event()
    return FileProcessor(APP, tmp_path, ledger, lambda: settings, stopping), ledger, stopping


def states(ledger: Ledger, name: str) -> list[str]:
    return [row["state"] for row in ledger.rows_for(f"in/a/{name}")]


def test_the_next_file_of_a_run_is_running_once_the_one_before_is_done(made) -> None:
    processor, ledger, _stopping = made
    assert processor.process(STAGE, "in/a/x", "in/a/y").state == OutcomeState.DONE
    assert (states(ledger, "x"), states(ledger, "y")) == (["done"], ["running"])
    assert processor.process(STAGE, "in/a/y", None).state == OutcomeState.DONE
    assert states(ledger, "y") == ["done"]
    [row] = ledger.rows_for("in/a/y")
    assert row["attempts"] == 1


def test_a_next_file_already_processed_is_skipped_without_running_again(made) -> None:
    processor = made[0]
    processor.process(STAGE, "in/a/y")
    (processor.root / "out" / "y").unlink()
    processor.process(STAGE, "in/a/x", "in/a/y")
    assert processor.process(STAGE, "in/a/y").state == OutcomeState.SKIPPED
    assert not (processor.root / "out" / "y").exists()


def test_a_claim_for_a_file_that_does_not_come_next_goes_back_to_pending(made) -> None:
    processor, ledger, _stopping = made
    processor.process(STAGE, "in/a/x", "in/a/y")
    processor.process(STAGE, "in/a/z")  # the run went another way
    assert (states(ledger, "y"), states(ledger, "z")) == (["pending"], ["done"])
    assert processor.process(STAGE, "in/a/y").state == OutcomeState.DONE


def test_once_the_daemon_stops_no_next_file_is_claimed(made) -> None:
    processor, ledger, stopping = made
    stopping.set()
    processor.process(STAGE, "in/a/x", "in/a/y")
    assert (states(ledger, "x"), states(ledger, "y")) == (["done"], [])


def test_a_failed_finish_claims_nothing_and_the_next_file_is_claimed_in_its_turn(
        made, monkeypatch: pytest.MonkeyPatch) -> None:
    processor, ledger, _stopping = made

    def failing(*args: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(ledger, "finish_and_claim", failing)
    assert processor.process(STAGE, "in/a/x", "in/a/y").state == OutcomeState.CRASHED
    assert (states(ledger, "x"), states(ledger, "y")) == (["pending"], [])
    monkeypatch.undo()
    assert processor.process(STAGE, "in/a/y").state == OutcomeState.DONE
    assert states(ledger, "y") == ["done"]
