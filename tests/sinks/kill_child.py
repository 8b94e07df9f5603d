"""The generate stage in a process of its own that SIGKILLs itself at the moment a test names:
`python -m tests.sinks.kill_child ROOT PARSED_FILE` with the sink's environment. The sink's
step after its history write (`_put`, the replacement) is where it dies, so the history row
has been sent and the replacement has not."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from daemon.config import EngineSettings, Settings
from handlers.context import PipelineContext
from handlers.settings import load_pipeline_settings
from handlers.stages import generate


def die(*_args: Any, **_kwargs: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(root: Path, parsed: Path) -> int:
    settings = Settings(engine=EngineSettings(root=root, durable_writes=False),
                        app=load_pipeline_settings({}, json.loads(os.environ["SINK_ENV"])))
    ctx = PipelineContext(settings=settings, stopping=threading.Event())
    type(ctx.sink)._put = die  # type: ignore[method-assign]
    generate.handle(parsed, ctx)
    return 0  # not reached when the replacement is tried


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]), Path(sys.argv[2])))
