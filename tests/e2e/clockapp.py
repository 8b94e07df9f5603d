"""The real pipeline with a wall clock a test can move: `<root>/clock-offset-s` holds seconds
added to the true time. Handlers read it through `ctx.now()`, and the timer jobs (ingest,
rollover, company map) are given `ctx.now()` instead of the engine's time, so a jump reaches
every part that reads the wall clock; the engine itself keeps its monotonic timer.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from daemon.stages import TimerJob
from handlers import app as pipeline
from handlers.context import PipelineContext, utc_now

OFFSET_FILE = "clock-offset-s"


def open_context(settings: Any, stopping: Any) -> PipelineContext:
    offset_file = settings.engine.root / OFFSET_FILE

    def now() -> datetime:
        try:
            offset_s = float(offset_file.read_text())
        except (OSError, ValueError):
            offset_s = 0.0
        return utc_now() + timedelta(seconds=offset_s)

    return PipelineContext(settings=settings, stopping=stopping, clock=now)


def on_context_clock(job: TimerJob) -> TimerJob:
    return dataclasses.replace(job, run=lambda ctx, _now: job.run(ctx, ctx.now()))


APP = dataclasses.replace(pipeline.APP, open_context=open_context,
                          timer_jobs=tuple(on_context_clock(j) for j in pipeline.TIMER_JOBS))
