"""A small three-stage application for testing the engine: in/a → in/b → in/c → out/.

Each handler copies its input to the next inbox. What a file says decides what the first
stage does with it: `transient:N` fails N times with TransientError, `reject` is bad input,
`crash` raises an unexpected error, `batch` must end with a line `end` or it is rejected as
incomplete (as a half-written announcement batch is), `die` kills the whole process (SIGKILL,
as the kernel's OOM killer or a native crash would), `slow:S` takes S seconds, `log:N` logs N
lines at once (as a catch-up of thousands of files does).
Every run is also appended to `runs.log` (stage, name, sha256) so tests can count how often a
handler ran.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import structlog

from daemon.declare import read_declared, setting
from daemon.errors import RejectedInput, TransientError
from daemon.files import write_atomic
from daemon.stages import App, Failure, Stage, TimerJob


@dataclass(frozen=True)
class TestSettings:
    TABLE: ClassVar[str] = "testapp"

    tick_s: float = setting(3600.0)
    label: str = setting("default")
    a_retry_attempts: int | None = setting(None)  # stage a's own retry budget


@dataclass
class TestContext:
    root: Path
    settings: Any

    def close(self) -> None:
        pass

    def reload(self, settings: Any) -> None:
        self.settings = settings
        (self.root / "reloaded.txt").write_text(settings.app.label)


def load_settings(document: Mapping[str, Any], env: Mapping[str, str]) -> TestSettings:
    return read_declared(TestSettings, document, env)


# How many stage-a handlers run at once, and the most seen (for the concurrency-limit test).
ACTIVITY = {"active": 0, "peak": 0}
log = structlog.get_logger()
_activity_lock = threading.Lock()


def _enter() -> None:
    with _activity_lock:
        ACTIVITY["active"] += 1
        ACTIVITY["peak"] = max(ACTIVITY["peak"], ACTIVITY["active"])


def _leave() -> None:
    with _activity_lock:
        ACTIVITY["active"] -= 1


def _record_run(root: Path, stage: str, path: Path) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    line = f"{stage} {path.name} {digest}\n".encode()
    fd = os.open(root / "runs.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _forward(path: Path, ctx: TestContext, stage: str, target: str) -> list[Path]:
    _record_run(ctx.root, stage, path)
    return [write_atomic(ctx.root / target / path.name, path.read_bytes(), durable=False)]


def _attempts_so_far(ctx: TestContext, path: Path) -> int:
    counter = ctx.root / "attempts" / path.name
    counter.parent.mkdir(exist_ok=True)
    count = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(count + 1))
    return count


def handle_a(path: Path, ctx: TestContext) -> list[Path]:
    text = path.read_text(errors="replace").strip()
    if text.startswith("transient:") and _attempts_so_far(ctx, path) < int(text.split(":")[1]):
        raise TransientError("service briefly unavailable")
    if text == "reject":
        raise RejectedInput("bad_content", "the file says reject", {"line": 1})
    if text == "crash":
        raise RuntimeError("unexpected failure")
    if text.startswith("batch") and not text.endswith("\nend"):
        raise RejectedInput("incomplete_batch", "the batch has no end line")
    if text == "die":
        _record_run(ctx.root, "a", path)
        os.kill(os.getpid(), signal.SIGKILL)
    if text.startswith("log:"):
        for number in range(int(text.split(":")[1])):
            log.info("test.line", number=number)
    if text.startswith("progress:") and not _attempts_so_far(ctx, path):
        # Hands off an output, then works on for a while (a long batch) the first time.
        write_atomic(ctx.root / "in" / "b" / f"part-{path.name}", b"part", durable=False)
        time.sleep(float(text.split(":")[1]))
    if text.startswith("slow:"):
        _enter()
        try:
            time.sleep(float(text.split(":")[1]))
        finally:
            _leave()
    return _forward(path, ctx, "a", "in/b")


def handle_b(path: Path, ctx: TestContext) -> list[Path]:
    return _forward(path, ctx, "b", "in/c")


def handle_c(path: Path, ctx: TestContext) -> list[Path]:
    return _forward(path, ctx, "c", "out")


def report_failure(ctx: TestContext, failure: Failure) -> None:
    name = f"{failure.stage}-{Path(failure.source_path).name}-{failure.code}.alert"
    write_atomic(ctx.root / "alerts" / name, failure.message.encode(), durable=False)


def tick(ctx: TestContext, now: datetime) -> None:
    with (ctx.root / "ticks.log").open("a") as handle:
        handle.write(now.isoformat() + "\n")


APP = App(
    name="testapp",
    stages=(
        Stage("a", "in/a", ("*.txt",), handle_a, concurrency=2,
              retry_attempts=lambda ctx: ctx.settings.app.a_retry_attempts
              or ctx.settings.engine.retry_attempts),
        Stage("b", "in/b", ("*.txt",), handle_b, concurrency=2),
        Stage("c", "in/c", ("*.txt",), handle_c, concurrency=2),
    ),
    load_settings=load_settings,
    open_context=lambda settings, _stopping: TestContext(settings.engine.root, settings),
    timer_jobs=(TimerJob("tick", lambda settings: settings.tick_s, tick),),
    report_failure=report_failure,
)
