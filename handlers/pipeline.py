"""The IDX pipeline as the engine sees it: the one stage table, the timer jobs, the commands.

This is the only registry. A stage is added here and nowhere else.
"""

from __future__ import annotations

from daemon.stages import App, Command, Stage, TimerJob
from handlers import bucketize, download, generate, parse
from handlers.clean import CLEAN_COMMAND
from handlers.company_cli import COMPANY_MAP_COMMAND
from handlers.company_refresh import COMPANY_MAP_JOB
from handlers.context import open_context
from handlers.demo import DEMO_COMMAND
from handlers.failures import report_failure
from handlers.ingest import INGEST_COMMAND, INGEST_JOB
from handlers.once import ONCE_COMMAND
from handlers.rollover import ROLLOVER_JOB
from handlers.settings import load_pipeline_settings
from handlers.status import status_extras
from handlers.window_cli import WINDOW_COMMAND

STAGES: tuple[Stage, ...] = (
    Stage("download", download.INBOX, ("*.json",), download.handle,
          concurrency=download.CONCURRENCY),
    Stage(name="parse", inbox="downloads/idx-format", patterns=("*.pdf",), handler=parse.handle,
          concurrency=2),
    Stage("generate", "data/parsed", ("*.json",), generate.handle, concurrency=2),
    Stage("bucketize", "alerts", ("*.json",), bucketize.handle, concurrency=1),
)

TIMER_JOBS: tuple[TimerJob, ...] = (INGEST_JOB, COMPANY_MAP_JOB, ROLLOVER_JOB)

COMMANDS: tuple[Command, ...] = (WINDOW_COMMAND, INGEST_COMMAND, COMPANY_MAP_COMMAND,
                                 ONCE_COMMAND, DEMO_COMMAND, CLEAN_COMMAND)

APP = App(
    name="idxd",
    stages=STAGES,
    load_settings=load_pipeline_settings,
    open_context=open_context,
    timer_jobs=TIMER_JOBS,
    report_failure=report_failure,
    commands=COMMANDS,
    status_extras=status_extras,
)
