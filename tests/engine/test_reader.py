"""The inbox reader: each inbox's events reach its callback, however the watches are shared."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from watchdog.observers.inotify_c import CallbackId, InotifyEvent, WatchDescriptor

from daemon.emitter import InboxReader
from tests.engine.conftest import wait_for


class Recorder:
    """A callback that notes the names of the files its events were about."""

    def __init__(self) -> None:
        self.names: list[bytes] = []
        self.deleted: list[WatchDescriptor] = []
        self.lock = threading.Lock()

    def on_event(self, event: InotifyEvent) -> None:
        with self.lock:
            self.names.append(event.name)

    def on_watch_deleted(self, wd: WatchDescriptor) -> None:
        self.deleted.append(wd)

    def on_queue_overflow(self) -> None:
        pass

    def saw(self, name: str) -> bool:
        with self.lock:
            return name.encode() in self.names


@pytest.fixture
def reader() -> Iterator[InboxReader]:
    started = InboxReader(lambda: False)
    started.start()
    yield started
    started.stop()
    started.join(5)


def test_an_inbox_s_events_reach_its_callback(reader: InboxReader, tmp_path: Path) -> None:
    inbox, recorder = tmp_path / "a", Recorder()
    inbox.mkdir()
    reader.add_inbox(os.fsencode(inbox), recorder, CallbackId(1))
    (inbox / "x.txt").write_text("x")
    wait_for(lambda: recorder.saw("x.txt"), 5, "the event")


def test_two_callbacks_on_one_directory_each_see_every_event(reader: InboxReader,
                                                               tmp_path: Path) -> None:
    inbox, first, second = tmp_path / "a", Recorder(), Recorder()
    inbox.mkdir()
    wd = reader.add_inbox(os.fsencode(inbox), first, CallbackId(1))
    assert reader.add_inbox(os.fsencode(inbox), second, CallbackId(2)) == wd
    (inbox / "x.txt").write_text("x")
    wait_for(lambda: first.saw("x.txt") and second.saw("x.txt"), 5, "both callbacks")
    reader.remove_inbox(wd, CallbackId(1))
    (inbox / "y.txt").write_text("y")
    wait_for(lambda: second.saw("y.txt"), 5, "the remaining callback")
    assert not first.saw("y.txt")


def test_a_deleted_inbox_s_watch_is_forgotten_and_a_new_one_works(reader: InboxReader,
                                                                   tmp_path: Path) -> None:
    gone, recorder = tmp_path / "gone", Recorder()
    gone.mkdir()
    wd = reader.add_inbox(os.fsencode(gone), recorder, CallbackId(1))
    gone.rmdir()
    wait_for(lambda: recorder.deleted == [wd], 5, "the watch's removal")
    again, later = tmp_path / "again", Recorder()
    again.mkdir()
    reader.add_inbox(os.fsencode(again), later, CallbackId(2))
    (again / "z.txt").write_text("z")
    wait_for(lambda: later.saw("z.txt"), 5, "the new inbox's event")
    assert not recorder.saw("z.txt")
