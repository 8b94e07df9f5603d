"""PDF form reading in a small pool of child processes, each under a memory and a time limit.

A decompression bomb or a PDFium crash must cost one child, never the daemon, and must be
charged to the file that caused it. So each child (`parse_child`) runs one file at a time and
the pool supervises it directly: a child that exceeds its address-space cap dies (PDFium
aborts, or Python raises MemoryError), a file that outlives the time limit gets its child
killed, and in both cases the one file that child was given is refused with `resource_limit`,
saying which limit, how far the parse got and how much memory it reached. A dead child is
replaced by a fresh one at the next file. Children are started with fork+exec of a fresh
interpreter (the daemon has threads, so a plain fork is unsafe) and reaped with `wait4`, whose
resource usage gives the exact peak memory of the dead child.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import handlers
from daemon.errors import RejectedInput, TransientError
from daemon.logs import get_logger
from daemon.retry import Interrupted, StopEvent
from handlers.adapters.ocr import OcrOptions
from handlers.adapters.parse_progress import ProgressBoard
from handlers.domain.ksei.form import FormFields

log = get_logger()
CHILD_MODULE = "handlers.adapters.parse_child"
MIB = 1024 * 1024
START_TIMEOUT_S = 30.0  # a fresh interpreter importing PDFium: well under a second here
STOP_CHECK_S = 0.1  # how soon a stop of the daemon ends a wait for a child
CLOSE_GRACE_S = 2.0  # for an idle child to leave by itself once its stdin ends
# A child killed by a signal after its resident memory reached this share of the cap ran into
# it (PDFium aborts when an allocation fails); below it, the death is a crash.
MEMORY_SHARE = 0.5


@dataclass(frozen=True)
class Limits:
    memory_bytes: int
    time_s: float
    ocr: OcrOptions = field(default_factory=OcrOptions)  # its own bounds within `time_s`


@dataclass(frozen=True)
class Death:
    pid: int
    exit_code: int  # negative: killed by that signal
    peak_rss_bytes: int
    pages_read: int = 0  # of its last file
    pages: int | None = None  # in its last file; None: the document was not open yet

    @property
    def signal_name(self) -> str | None:
        return signal.Signals(-self.exit_code).name if self.exit_code < 0 else None


class Child:
    """One running `parse_child` and the reading end of its answers."""

    def __init__(self, module: str, limits: Limits):
        self.board = ProgressBoard.create()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-P", "-m", module, str(limits.memory_bytes),
                 str(limits.time_s), json.dumps(limits.ocr.to_json()), str(self.board.fd)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_child_env(),
                start_new_session=True, pass_fds=(self.board.fd,))
        except BaseException:
            self.board.close()
            raise
        assert self.process.stdin is not None and self.process.stdout is not None
        self._stdin, self._fd = self.process.stdin, self.process.stdout.fileno()
        self._buffer = bytearray()
        self.death: Death | None = None
        self.inherited_rss_bytes = 0  # the daemon's high-water mark, which wait4 reports too

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        """Still running; asked without reaping it, so `reap` still gets its resource usage."""
        if self.death is not None:
            return False
        exited = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        return exited is None

    def wait_ready(self) -> None:
        ready = self.next_event(time.monotonic() + START_TIMEOUT_S, None)
        if ready is None or ready.get("event") != "ready":
            death = self.kill()
            raise TransientError(f"the parse child could not start (exit {death.exit_code})")
        self.inherited_rss_bytes = int(ready.get("inherited_rss_kib", 0)) * 1024

    def send(self, request: dict[str, Any]) -> None:
        self.board.clear()  # what the board says from now on is this request's
        self._stdin.write(json.dumps(request).encode() + b"\n")
        self._stdin.flush()

    def next_event(self, deadline: float, stopping: StopEvent | None) -> dict[str, Any] | None:
        """The child's next answer; None once it closed its end (it died).
        Raises TimeoutError at `deadline` and `Interrupted` once `stopping` is set."""
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if stopping is not None and stopping.is_set():
                raise Interrupted
            readable, _, _ = select.select([self._fd], [], [], min(remaining, STOP_CHECK_S))
            if readable:
                chunk = os.read(self._fd, 1 << 16)
                if not chunk:
                    return None
                self._buffer += chunk
        line, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer = bytearray(rest)
        event: dict[str, Any] = json.loads(line)
        return event

    def kill(self) -> Death:
        """End the child now (if it still runs) and reap it."""
        if self.death is None:
            with suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        return self.reap()

    def reap(self) -> Death:
        if self.death is None:
            _, status, usage = os.wait4(self.pid, 0)
            self.process.returncode = os.waitstatus_to_exitcode(status)
            pages_read, pages = self.board.read()
            self.board.close()
            # ru_maxrss is in KiB on Linux.
            self.death = Death(self.pid, self.process.returncode, usage.ru_maxrss * 1024,
                               pages_read, pages)
            for stream in (self.process.stdin, self.process.stdout):
                if stream is not None:
                    stream.close()
        return self.death

    def close(self) -> None:
        """Let an idle child leave by itself (end of stdin), else kill it."""
        if self.death is not None:
            return
        with suppress(OSError):
            self._stdin.close()
        # Its stdout reaching end of file means it is leaving: reap it, else kill it.
        readable, _, _ = select.select([self._fd], [], [], CLOSE_GRACE_S)
        if readable and not os.read(self._fd, 1 << 16):
            self.reap()
        self.kill()


class ParsePool:
    """At most `workers` children, each parsing one file at a time; safe for many threads."""

    def __init__(self, workers: int, limits: Limits, stopping: StopEvent,
                 module: str = CHILD_MODULE):
        self.workers, self.limits, self.module = workers, limits, module
        self._stopping = stopping
        self._slots = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()
        self._idle: list[Child] = []
        self._children: set[Child] = set()
        self._closed = False

    @property
    def pids(self) -> list[int]:
        """The children running now, idle or busy."""
        with self._lock:
            return sorted(child.pid for child in self._children if child.death is None)

    def read(self, path: Path) -> FormFields:
        """The form at `path`, read by a child; `RejectedInput` for bad input or a broken limit."""
        with self._slots:
            child = self._sent({"path": os.fspath(path)})
            try:
                return self._answer(child, path, time.monotonic())
            finally:
                self._give_back(child)

    def _sent(self, request: dict[str, Any]) -> Child:
        """A child that has taken `request`."""
        while True:
            child = self._take()
            try:
                child.send(request)
                return child
            except BrokenPipeError:  # it died between `alive` and now: not this file's doing
                log.warning("parse.child_lost", pid=child.pid, exit_code=child.reap().exit_code)
                self._give_back(child)

    def _take(self) -> Child:
        with self._lock:
            if self._closed:
                raise Interrupted
            idle = self._idle.pop() if self._idle else None
        if idle is not None:
            if idle.alive():
                return idle
            # It died while idle (the OOM killer, an operator): no file of ours to blame.
            log.warning("parse.child_lost", pid=idle.pid, exit_code=idle.reap().exit_code)
            self._give_back(idle)
            return self._take()
        child = Child(self.module, self.limits)
        with self._lock:
            self._children.add(child)
        try:
            child.wait_ready()
        except BaseException:
            self._give_back(child)
            raise
        log.info("parse.child_started", pid=child.pid, memory_limit_mb=self.limits.memory_bytes
                 // MIB, time_limit_s=self.limits.time_s)
        return child

    def _give_back(self, child: Child) -> None:
        with self._lock:
            if child.death is None and not self._closed:
                self._idle.append(child)
                return
            self._children.discard(child)
        child.kill()

    def _answer(self, child: Child, path: Path, started: float) -> FormFields:
        try:
            event = child.next_event(started + self.limits.time_s, self._stopping)
        except TimeoutError:
            raise self._refusal(path, "time", started, child.kill()) from None
        except BaseException:
            child.kill()  # stopping: the file stays pending, its child goes
            raise
        if event is None or event.get("event") == "memory":
            raise self._died(child, path, started, reported_memory=event is not None)
        return _outcome(event, path)

    def _died(self, child: Child, path: Path, started: float, *,
              reported_memory: bool) -> Exception:
        # Its end of the pipe closed (or it said it ran out of memory): it is leaving.
        death = child.reap()
        if self._closed or self._stopping.is_set():
            return Interrupted()  # ended by the daemon's own stop, not by the file
        ran_into_cap = ran_out(death, child.inherited_rss_bytes, self.limits.memory_bytes)
        limit = "memory" if reported_memory or ran_into_cap else "crash"
        return self._refusal(path, limit, started, death)

    def _refusal(self, path: Path, limit: str, started: float, death: Death) -> RejectedInput:
        details = {
            "limit": limit, "memory_limit_mb": self.limits.memory_bytes // MIB,
            "time_limit_s": self.limits.time_s, "pages_read": death.pages_read,
            "pages": death.pages, "elapsed_s": round(time.monotonic() - started, 3),
            "peak_rss_mb": round(death.peak_rss_bytes / MIB, 1),
            "signal": death.signal_name, "exit_code": death.exit_code,
        }
        log.warning("parse.child_died", path=str(path), pid=death.pid, **details)
        return RejectedInput("resource_limit", f"{path.name} {_what_happened(details)}, "
                             f"{_how_far(details)}", details)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            children, self._idle = list(self._children), []
            self._children.clear()
        for child in children:
            child.close()


def ran_out(death: Death, inherited_rss_bytes: int, memory_bytes: int) -> bool:
    """The child was killed by a signal after growing to a good share of its cap. The peak
    wait4 reports is the child's own when above the high-water mark it inherited from a large
    parent; when that mark was as high, a SIGABRT (how PDFium answers an allocation the cap
    refuses) still tells, where any other signal is a crash."""
    if death.exit_code >= 0 or death.peak_rss_bytes < MEMORY_SHARE * memory_bytes:
        return False
    return death.peak_rss_bytes > inherited_rss_bytes or death.exit_code == -signal.SIGABRT


def _outcome(event: dict[str, Any], path: Path) -> FormFields:
    if event["event"] == "result":
        return FormFields.from_json(event["form"])
    if event["event"] == "rejected":
        raise RejectedInput(event["code"], event["message"], event["details"])
    raise RuntimeError(f"parsing {path.name} failed in the parse child: "
                       f"{event.get('type')}: {event.get('message')}")


def _what_happened(details: dict[str, Any]) -> str:
    if details["limit"] == "time":
        return f"took longer than the parse time limit ({details['time_limit_s']:g} s)"
    if details["limit"] == "memory":
        return f"needed more than the parse memory limit ({details['memory_limit_mb']} MiB)"
    cause = f"signal {details['signal']}" if details["signal"] else \
        f"exit status {details['exit_code']}"
    return f"crashed the parser ({cause})"


def _how_far(details: dict[str, Any]) -> str:
    pages = "before its pages were counted" if details["pages"] is None else \
        f"after {details['pages_read']} of {details['pages']} page(s)"
    return (f"stopped {pages} and {details['elapsed_s']:.1f} s, at a peak of "
            f"{details['peak_rss_mb']:.0f} MB resident")


def _child_env() -> dict[str, str]:
    """The daemon's environment, with the same `handlers` package first on the path."""
    source = str(Path(handlers.__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": source + (os.pathsep + path if path else "")}
