"""An inotify observer for watchdog that hands hints straight to the loop.

watchdog's own inotify path passes each kernel event through four threads (its reader, a
move-pairing queue per watch, that watch's emitter, the observer's dispatcher) before an
event handler sees it, builds event objects for every temporary file a hand-off creates, and
pairs each rename by scanning its queue of held-back moves: under a backlog that scan and the
hops cost more than the rest of a file's run. The inbox watch needs none of it: a hint is a
kind and a path. So this observer keeps watchdog's reader (`InotifyFD`, one per observer) and
its observer/emitter API (schedule, start, stop, join), and registers one callback per inbox
that turns each raw event into a hint in the reader's own thread: directories and temporary
names are dropped before anything is built, and a rename is paired by its cookie in a dict.

A rename is "ready" when its source was seen leaving one of the watched inboxes (a hand-off's
temporary name, a file moved between inboxes); moved in from elsewhere it is only "settle",
as watchdog reports such a move as a creation. A hand-off whose temporary name says the
dispatcher of this very process routes it (`daemon.files.ROUTED_SUFFIX`) is no hint at all:
its next stage has it already.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from watchdog.observers.api import BaseObserver, EventEmitter, EventQueue, ObservedWatch
from watchdog.observers.inotify_c import (
    DEFAULT_EVENT_BUFFER_SIZE,
    CallbackId,
    InotifyConstants,
    InotifyEvent,
    InotifyFD,
    Mask,
    WatchDescriptor,
)

from daemon.files import ROUTED_SUFFIX, TEMP_SUFFIXES

Sink = Callable[[str, str], None]  # (kind, absolute path)
C = InotifyConstants
MASK = Mask(C.IN_CLOSE_WRITE | C.IN_CLOSE_NOWRITE | C.IN_OPEN | C.IN_MOVED_FROM | C.IN_MOVED_TO
            | C.IN_CREATE | C.IN_DONT_FOLLOW | C.IN_ONLYDIR)
MOVES_REMEMBERED = 4096  # renames whose destination has not been read yet (kernel: adjacent)
SETTLING_REMEMBERED = 65536  # arrivals not yet closed by their writer, per inbox
OPEN_BITS = C.IN_OPEN | C.IN_CLOSE_NOWRITE  # what only a file being settled needs
IN_ISDIR, IN_CREATE, IN_CLOSE_WRITE = C.IN_ISDIR, C.IN_CREATE, C.IN_CLOSE_WRITE
IN_MOVED_FROM, IN_MOVED_TO = C.IN_MOVED_FROM, C.IN_MOVED_TO
FS_ENCODING = sys.getfilesystemencoding()  # as `os.fsdecode` decodes, without its checks
GATHER_S = 0.003  # how long the reader lets events gather while the workers have a backlog
# Events watchdog's reader must see itself: its bookkeeping of watches and overflows.
WATCHDOGS_OWN = C.IN_IGNORED | C.IN_Q_OVERFLOW | C.IN_UNMOUNT


TEMP_SUFFIXES_BYTES = tuple(suffix.encode() for suffix in TEMP_SUFFIXES)
ROUTED_SUFFIX_BYTES = ROUTED_SUFFIX.encode()
FOREIGN, WATCHED, ROUTED = 0, 1, 2  # where a rename came from


def is_temporary_name_bytes(name: bytes) -> bool:
    """`daemon.files.is_temporary_name` on a name as the kernel gives it."""
    return name.startswith(b".") or name.endswith(TEMP_SUFFIXES_BYTES)


def is_routed_name(name: bytes, pid: int) -> bool:
    """The temporary name of a hand-off that process `pid` routes itself: it ends in
    `.<pid>-<thread>-<counter>` and `ROUTED_SUFFIX` (`daemon.files`)."""
    if not name.endswith(ROUTED_SUFFIX_BYTES):
        return False
    unique = name[:-len(ROUTED_SUFFIX_BYTES)].rpartition(b".")[2]
    return unique.partition(b"-")[0] == str(pid).encode()


class MovePairs:
    """Cookies of renames out of a watched inbox, to tell their arrival from a foreign one.
    Touched only by the one reader thread of the observer, so it needs no lock."""

    def __init__(self) -> None:
        self._cookies: OrderedDict[int, int] = OrderedDict()

    def left(self, cookie: int, routed: bool) -> None:
        self._cookies[cookie] = ROUTED if routed else WATCHED
        if len(self._cookies) > MOVES_REMEMBERED:
            self._cookies.popitem(last=False)

    def arrived(self, cookie: int) -> int:
        """Where the rename's source was: `WATCHED` (a watched inbox), `ROUTED` (a hand-off
        routed by this process) or `FOREIGN`."""
        return self._cookies.pop(cookie, FOREIGN)


class InboxCallback:
    """watchdog's `WatchCallback` for one inbox: raw events in, hints out.

    Opens and unwritten closes matter only for a file being settled (its writer may still hold
    it): one that arrived without its close yet (a creation, a move from elsewhere), or one the
    settler watches (`tracked`, found by a sweep). Every read of a file already complete (each
    stage reads its input) would otherwise be two hints for the loop to drop."""

    def __init__(self, directory: str, sink: Sink, moves: MovePairs, kinds: dict[int, str],
                 overflow: str, tracked: Callable[[str], bool]):
        self._prefix = directory.rstrip("/") + "/"
        self._sink, self._moves, self._kinds, self._overflow = sink, moves, kinds, overflow
        self._tracked = tracked
        self._pid = os.getpid()
        self._settling: OrderedDict[str, None] = OrderedDict()  # arrived, no close seen

    def on_event(self, event: InotifyEvent) -> None:
        # Called for every event of the inbox, dozens per file: constants are module-level.
        mask, name = event.mask, event.name
        if mask & IN_ISDIR or not name:
            return
        if mask & IN_MOVED_FROM:
            self._moves.left(event.cookie, is_routed_name(name, self._pid))
            return
        if is_temporary_name_bytes(name):  # a third of all events: before decoding
            return
        path, bit = self._prefix + name.decode(FS_ENCODING, "surrogateescape"), mask & MASK
        if bit & IN_MOVED_TO:
            source = self._moves.arrived(event.cookie)
            if source == ROUTED:  # its next stage has it already
                self._settling.pop(path, None)
                return
            bit = IN_MOVED_TO if source == WATCHED else IN_CREATE
        if bit & OPEN_BITS and path not in self._settling and not self._tracked(path):
            return
        if bit == IN_CREATE:
            self._settle(path)
        elif bit & (IN_CLOSE_WRITE | IN_MOVED_TO):
            self._settling.pop(path, None)
        kind = self._kinds.get(bit)
        if kind is not None:
            self._sink(kind, path)

    def _settle(self, path: str) -> None:
        self._settling[path] = None
        if len(self._settling) > SETTLING_REMEMBERED:
            self._settling.popitem(last=False)

    def on_watch_deleted(self, wd: WatchDescriptor) -> None:
        """The inbox itself went away: the sweeps notice files when it comes back."""

    def on_queue_overflow(self) -> None:
        self._sink(self._overflow, "")


class InboxEmitter(EventEmitter):
    """Registers its inbox's callback with the observer's reader; its own thread only waits."""

    def __init__(self, event_queue: EventQueue, watch: ObservedWatch, *, timeout: float,
                 event_filter: Any = None, inotify_fd: InboxReader,
                 callback: Callable[[str], InboxCallback]):
        super().__init__(event_queue, watch, timeout=timeout, event_filter=event_filter)
        self._fd, self._callback = inotify_fd, callback(os.fsdecode(watch.path))
        self._id = CallbackId(id(self))
        self._wd: WatchDescriptor | None = None

    def on_thread_start(self) -> None:  # in the caller's thread: a missing inbox raises there
        self._wd = self._fd.add_inbox(os.fsencode(self.watch.path), self._callback, self._id)

    def queue_events(self, timeout: float) -> None:
        self.stopped_event.wait(timeout)

    def on_thread_stop(self) -> None:
        if self._wd is not None:
            self._fd.remove_inbox(self._wd, self._id)
            self._wd = None


class InboxReader(InotifyFD):
    """watchdog's reader (`InotifyFD`), which delivers the inboxes' events more cheaply:

    - While `backlog()` says the workers have files queued, events gather for `GATHER_S`
      before each read: an event read sooner would only wait in that queue. Read as they come,
      a backlog's events wake the reader nearly one by one, and each wake takes the
      interpreter from a worker; gathered, one read takes dozens. With nothing queued, each
      event is read at once.
    - An event on an inbox's own watch goes straight to that inbox's callback. watchdog's
      `handle_event` takes its lock, looks the watch up and copies its callbacks for every
      event, a fifth of the reader's time under a backlog. What needs its bookkeeping still
      goes through it: a queue overflow, a removed watch, a watch shared by two callbacks.
    """

    def __init__(self, backlog: Callable[[], bool]) -> None:
        super().__init__()
        self._backlog = backlog
        # wd -> the one callback on it; replaced whole, so the reader reads it without a lock.
        self._direct: dict[int, InboxCallback] = {}
        self._shared: set[int] = set()  # watches with more than one callback
        self._routes_lock = threading.Lock()

    def add_inbox(self, path: bytes, callback: InboxCallback, id_: CallbackId
                  ) -> WatchDescriptor:
        wd = self.add_callback(path, MASK, callback, id_)
        with self._routes_lock:
            direct = dict(self._direct)
            if wd in direct:  # a second callback on one watch: watchdog tells them apart
                del direct[wd]
                self._shared.add(wd)
            elif wd not in self._shared:
                direct[wd] = callback
            self._direct = direct
        return wd

    def remove_inbox(self, wd: WatchDescriptor, id_: CallbackId) -> None:
        self._forget(wd)
        self.remove_callbacks([(wd, id_)])

    def run(self) -> None:
        """watchdog's loop (read, then handle each event), with the direct path."""
        while self.should_keep_running():
            events = self.read_events()
            direct = self._direct
            for event in events:
                callback = direct.get(event.wd)
                if callback is not None and not event.mask & WATCHDOGS_OWN:
                    callback.on_event(event)
                    continue
                if event.mask & C.IN_IGNORED:  # the watch is gone: its number may come back
                    self._forget(event.wd)
                    direct = self._direct
                self.handle_event(event)

    def read_events(self, *, event_buffer_size: int = DEFAULT_EVENT_BUFFER_SIZE
                    ) -> list[InotifyEvent]:
        if self._backlog():
            time.sleep(GATHER_S)
        return super().read_events(event_buffer_size=event_buffer_size)

    def _forget(self, wd: int) -> None:
        with self._routes_lock:
            direct = dict(self._direct)
            direct.pop(wd, None)
            self._direct = direct
            self._shared.discard(wd)


class HintObserver(BaseObserver):
    """watchdog's observer over inbox emitters; `kinds` maps an inotify bit to a hint kind
    (IN_MOVED_TO for a rename from a watched inbox, IN_CREATE for any other arrival), and
    `tracked` says whether the settler watches a path and `backlog` whether the workers have
    files queued."""

    def __init__(self, sink: Sink, kinds: dict[int, str], overflow: str,
                 tracked: Callable[[str], bool], backlog: Callable[[], bool] = lambda: False):
        self._inotify_fd = InboxReader(backlog)
        self._inotify_fd.start()
        moves = MovePairs()
        super().__init__(InboxEmitter, inotify_fd=self._inotify_fd, callback=lambda path:
                         InboxCallback(path, sink, moves, kinds, overflow, tracked))

    def on_thread_stop(self) -> None:
        super().on_thread_stop()
        self._inotify_fd.stop()
        self._inotify_fd.join()
