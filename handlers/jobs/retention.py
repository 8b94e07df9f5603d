"""The retention timer job: files older than their area's `[retention]` days are removed, daily.

Areas: `outbox/`, `artifacts/`, `quarantine/`, the alert buckets, the data (`data/`,
`downloads/` and the `alerts/` inbox) and the ledger's rows of finished files. A file's age is
its mtime. What anything still needs is never removed, whatever its age:
- a file of a window not yet closed: data and bucket files must be older than the start of the
  first window the rollover has still to close (a file's window is at or before its mtime, so
  an older file belongs to a closed window);
- a file an inbox still holds unfinished (pending, running or failed in the ledger), and a
  PDF's `.meta.json` while the PDF is there;
- the `.eml` of a window whose email is still being delivered;
- a ledger row whose file (or quarantined copy) is still on disk: forgotten, the file would be
  processed again; and the newest row, so a ledger never looks lost.
`idxd clean` stays the way to empty everything at once.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon.logs import get_logger
from daemon.quarantine import ERROR_SUFFIX
from daemon.stages import TimerJob
from handlers import paths
from handlers.context import PipelineContext
from handlers.domain.window_members import is_final, window_of_stub
from handlers.jobs.rollover import SENDING, SUMMARY_KEY
from handlers.jobs.rollover import STATE_PREFIX as WINDOW_PREFIX
from handlers.settings import PipelineSettings, RetentionSettings

DATA_DIRS = (Path("data"), paths.DOWNLOADS, paths.ALERTS)
log = get_logger()


def run_timer(ctx: PipelineContext, now: datetime) -> None:
    if ctx.config.retention.enabled:
        prune(ctx, now)


def prune(ctx: PipelineContext, now: datetime) -> dict[str, int]:
    """Remove what has aged out; returns how many files (or rows) per area."""
    settings: RetentionSettings = ctx.config.retention
    cursor = _unclosed_from(ctx)
    removed = {
        "outbox": _prune_outbox(ctx, _cutoff(now, settings.outbox_days)),
        "artifacts": _remove_old(_files(ctx.root / paths.ARTIFACTS),
                                 _cutoff(now, settings.artifacts_days)),
        "quarantine": _prune_quarantine(ctx, _cutoff(now, settings.quarantine_days)),
        "buckets": _prune_buckets(ctx, _cutoff(now, settings.buckets_days, cursor)),
        "data": _prune_data(ctx, _cutoff(now, settings.data_days, cursor)),
        "ledger": _prune_ledger(ctx, _cutoff(now, settings.ledger_days)),
    }
    log.info("retention.pruned", **removed)
    return removed


def _cutoff(now: datetime, days: float, cursor: datetime | None = None) -> float | None:
    """The mtime (epoch seconds) a file must be older than, or None: keep everything."""
    if days <= 0:
        return None
    cutoff = now - timedelta(days=days)
    return min(cutoff, cursor).timestamp() if cursor is not None else cutoff.timestamp()


def _unclosed_from(ctx: PipelineContext) -> datetime | None:
    """The start of the first window still to close; None when the rollover is off."""
    if not ctx.config.rollover.enabled:
        return None
    stored = (ctx.ledger.get_state(SUMMARY_KEY, {}) or {}).get("next_start")
    # No window closed yet: every window may still be closed, so keep all data.
    return datetime.fromisoformat(stored) if stored else datetime.fromtimestamp(0, UTC)


def _files(top: Path) -> Iterator[Path]:
    for directory, _dirs, names in os.walk(top):
        for name in names:
            path = Path(directory, name)
            if not path.is_symlink():
                yield path


def _older(path: Path, cutoff: float) -> bool:
    try:
        return path.lstat().st_mtime < cutoff
    except FileNotFoundError:
        return False


def _remove_old(candidates: Iterator[Path], cutoff: float | None,
                keep: Callable[[Path], bool] = lambda _path: False) -> int:
    if cutoff is None:
        return 0
    removed = 0
    for path in list(candidates):
        if _older(path, cutoff) and not keep(path):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _prune_outbox(ctx: PipelineContext, cutoff: float | None) -> int:
    undelivered = {str(state.get("eml")) for state in
                   ctx.ledger.states_with_prefix(WINDOW_PREFIX).values()
                   if isinstance(state, dict) and state.get("state") == SENDING}
    return _remove_old(_files(ctx.root / paths.OUTBOX), cutoff,
                       keep=lambda path: _relative(ctx, path) in undelivered)


def _prune_quarantine(ctx: PipelineContext, cutoff: float | None) -> int:
    """A quarantined file and its `.error.json` go together, by the file's age."""
    files = (path for path in _files(ctx.root / paths.QUARANTINE)
             if not path.name.endswith(ERROR_SUFFIX))
    removed = 0
    for path in files:
        if cutoff is not None and _older(path, cutoff):
            path.with_name(path.name + ERROR_SUFFIX).unlink(missing_ok=True)
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _prune_buckets(ctx: PipelineContext, cutoff: float | None) -> int:
    if cutoff is None:
        return 0
    removed = 0
    for bucket in paths.BUCKETS.values():
        for directory in sorted((ctx.root / bucket).glob("*/")):
            window = window_of_stub(directory.name)
            if window is None or window.end.timestamp() > cutoff:
                continue  # not a window's bucket, or one not closed long enough
            removed += _remove_old(_files(directory), cutoff)
            _remove_if_empty(directory)
    return removed


def _prune_data(ctx: PipelineContext, cutoff: float | None) -> int:
    def needed(path: Path) -> bool:
        if path.name.endswith(paths.SIDECAR_SUFFIX):  # goes with its PDF, never before
            return path.with_name(path.name.removesuffix(paths.SIDECAR_SUFFIX)).exists()
        return not is_final(ctx.ledger.has_finished, _relative(ctx, path), path)

    def sidecars_last(path: Path) -> bool:
        return path.name.endswith(paths.SIDECAR_SUFFIX)

    return sum(_remove_old(iter(sorted(_files(ctx.root / top), key=sidecars_last)), cutoff,
                           keep=needed) for top in DATA_DIRS)


def _prune_ledger(ctx: PipelineContext, cutoff: float | None) -> int:
    if cutoff is None:
        return 0
    gone = [row["id"] for row in ctx.ledger.finished_before(cutoff)
            if not any((ctx.root / where).exists()
                       for where in (row["path"], row["quarantine_path"]) if where)]
    ctx.ledger.forget(gone)
    return len(gone)


def _remove_if_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):  # it still holds files younger than the cutoff
        directory.rmdir()


def _relative(ctx: PipelineContext, path: Path) -> str:
    return path.relative_to(ctx.root).as_posix()


def period_s(settings: PipelineSettings) -> float:
    return settings.retention.period_s


RETENTION_JOB = TimerJob(name="retention", period_s=period_s, run=run_timer)
