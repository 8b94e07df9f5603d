"""The IDX pipeline as the engine sees it: the one stage table, the timer jobs, the commands.

This is the only registry. A stage is added here and nowhere else.
"""

from __future__ import annotations

from daemon.stages import App, Command, Stage, StandaloneCommand, TimerJob
from handlers import paths
from handlers.commands.backfill import BACKFILL_COMMAND
from handlers.commands.clean import CLEAN_COMMAND
from handlers.commands.company_map import COMPANY_MAP_COMMAND
from handlers.commands.demo import DEMO_COMMAND
from handlers.commands.ingest import INGEST_COMMAND
from handlers.commands.once import ONCE_COMMAND
from handlers.commands.window import WINDOW_COMMAND
from handlers.context import PipelineContext, open_daemon_context
from handlers.hooks import report_failure, status_extras
from handlers.jobs.backfill import BACKFILL_JOB
from handlers.jobs.company_refresh import COMPANY_MAP_JOB
from handlers.jobs.ingest import INGEST_JOB
from handlers.jobs.retention import RETENTION_JOB
from handlers.jobs.rollover import ROLLOVER_JOB
from handlers.recovery import RECOVERY
from handlers.settings import PipelineSettings, load_pipeline_settings
from handlers.stages import bucketize, download, generate, parse

STAGES: tuple[Stage[PipelineContext], ...] = (
    Stage("download", paths.inbox(paths.ANNOUNCEMENTS), ("*.json",), download.handle,
          concurrency=download.CONCURRENCY, retry_attempts=download.retry_attempts),
    # Twice the parse pool's default children: while one thread turns a child's text into a
    # form (in this process), the child already reads the next file.
    Stage("parse", paths.inbox(paths.IDX_FORMS), ("*.pdf",), parse.handle, concurrency=4),
    Stage("generate", paths.inbox(paths.PARSED), ("*.json",), generate.handle, concurrency=2),
    Stage("bucketize", paths.inbox(paths.ALERTS), ("*.json",), bucketize.handle, concurrency=1),
)

TIMER_JOBS: tuple[TimerJob[PipelineSettings, PipelineContext], ...] = (
    INGEST_JOB, COMPANY_MAP_JOB, ROLLOVER_JOB, RETENTION_JOB, BACKFILL_JOB)

COMMANDS: tuple[Command[PipelineSettings] | StandaloneCommand, ...] = (
    WINDOW_COMMAND, INGEST_COMMAND, COMPANY_MAP_COMMAND, ONCE_COMMAND, DEMO_COMMAND, CLEAN_COMMAND,
    BACKFILL_COMMAND)

APP: App[PipelineSettings, PipelineContext] = App(
    name="idxd",
    stages=STAGES,
    load_settings=load_pipeline_settings,
    open_context=open_daemon_context,
    timer_jobs=TIMER_JOBS,
    report_failure=report_failure,
    commands=COMMANDS,
    status_extras=status_extras,
    log_filters={"window": "only lines about this window (stub or part of it)"},
    description="IDX ownership filings daemon.",
    secret_keys=frozenset({"supabase_key"}),
    recovery=RECOVERY,
)
