"""A three-stage no-op chain for engine benchmarks: each stage hands its input on unchanged.

Stage `a` notes when its handler started and stage `c` when the file left the chain, in this
process's memory, so a benchmark running the daemon in a thread can compute latencies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.files import input_content, write_atomic
from daemon.stages import App, Stage

STARTED: dict[str, float] = {}
FINISHED: dict[str, float] = {}
_lock = threading.Lock()


@dataclass
class BenchContext:
    root: Path
    durable: bool

    def close(self) -> None:
        pass


def _hand_on(path: Path, ctx: BenchContext, target: str) -> list[Path]:
    return [write_atomic(ctx.root / target / path.name, input_content(path),
                         durable=ctx.durable)]


def handle_a(path: Path, ctx: BenchContext) -> list[Path]:
    now = time.perf_counter()
    with _lock:
        STARTED.setdefault(path.name, now)
    return _hand_on(path, ctx, "in/b")


def handle_b(path: Path, ctx: BenchContext) -> list[Path]:
    return _hand_on(path, ctx, "in/c")


def handle_c(path: Path, ctx: BenchContext) -> list[Path]:
    with _lock:
        FINISHED.setdefault(path.name, time.perf_counter())
    return []


def _load(document: Mapping[str, Any], env: Mapping[str, str]) -> None:
    return None


APP = App(
    name="bench",
    stages=(Stage("a", "in/a", ("*.txt",), handle_a, concurrency=4),
            Stage("b", "in/b", ("*.txt",), handle_b, concurrency=4),
            Stage("c", "in/c", ("*.txt",), handle_c, concurrency=4)),
    load_settings=_load,
    open_context=lambda settings, _stopping: BenchContext(settings.engine.root,
                                               settings.engine.durable_writes),
)
