"""Processing one ready file: identify it, claim it in the ledger, call its stage's handler
under the retry policy, and record what happened.

Outcomes (`daemon.outcomes`): `done` (outputs recorded), `skipped` (this content was already
processed), `gone` (the file left before it could be read), `failed` (transient errors outlived
the retries: the file stays and is tried again later), `quarantined` (bad input or an
unexpected error: moved aside with its reason and reported), `interrupted` (shutdown during a
backoff: stays pending for the next start), `crashed` (even recording the result failed: the
file stays pending). A full disk at any step is no fault of the file: it stays pending (or
failed, when the ledger could record that) in its inbox, and the outcome says so, so that the
loop holds new work back until space returns; it is never quarantined for it.

Every attempt is in the ledger before the handler starts, so a file the process died on shows
at the next start as a crash against it; once it has `crash_limit` of them it is quarantined as
`crashed_process` without being run again, and the other files go on.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from structlog.contextvars import bind_contextvars, reset_contextvars
from tenacity import RetryCallState

from daemon.config import Settings
from daemon.errors import RejectedInput, TransientError
from daemon.files import handling_input, hash_and_keep, printable_name, reporting_hand_offs
from daemon.ledger import Claim, FileState, Ledger
from daemon.logs import get_logger
from daemon.outcomes import Outcome, OutcomeState
from daemon.quarantine import ErrorRecord, quarantine_file, utc_iso
from daemon.retry import Interrupted, build_retrying
from daemon.space import describe, is_disk_full, is_resource_error
from daemon.stages import App, Failure, Stage

log = get_logger()
NOT_REGULAR = "-"  # the sha256 recorded for something that is not a regular file
RETRIES_EXHAUSTED = "retries_exhausted"
CRASHED_PROCESS = "crashed_process"


@dataclass(frozen=True)
class Found:
    """A file as the worker found it: what its claim is made of, and its content if kept."""

    relative_path: str  # as the watcher or the run named it
    shown: str  # as the ledger and the logs can hold it
    path: Path
    info: os.stat_result
    sha256: str
    content: bytes | None

    def signature(self) -> tuple[str, str, int, int]:
        """The ledger's claim arguments after the stage: path, sha256, size, mtime."""
        return self.shown, self.sha256, self.info.st_size, self.info.st_mtime_ns


@dataclass(frozen=True)
class EarlyClaim:
    """The next file of a run, claimed in the transaction that finished the one before."""

    stage: str
    found: Found
    claim: Claim | None  # None: this content was processed already


def look_at(root: Path, relative_path: str) -> Found | None:
    """Stat, hash and (when small) read the file; None when it is gone."""
    path = root / relative_path
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    sha256, content = (hash_and_keep(path, info.st_size) if stat.S_ISREG(info.st_mode)
                       else (NOT_REGULAR, None))
    return Found(relative_path, printable_name(relative_path), path, info, sha256, content)


class FileProcessor:
    def __init__(self, app: App[Any, Any], ctx: Any, ledger: Ledger,
                 settings: Callable[[], Settings[Any]], stopping: threading.Event):
        self.app, self.ctx, self.ledger = app, ctx, ledger
        self._settings, self._stopping = settings, stopping
        self.on_retry: Callable[[str], None] | None = None  # the stage's name, per retry
        self._early = threading.local()  # per worker thread: `claim`, an EarlyClaim or None

    @property
    def root(self) -> Path:
        return self._settings().engine.root

    def process(self, stage: Stage[Any], relative_path: str, next_path: str | None = None
                ) -> Outcome:
        """Process one file; `next_path`, the file its run takes next, is claimed with this
        one's finish."""
        try:
            return self._process(stage, relative_path, next_path)
        except Exception as error:
            # Even recording the result failed: leave the row pending so the next sweep
            # tries again, rather than stuck as running.
            shown = printable_name(relative_path)
            if not is_disk_full(error):
                log.exception("file.crashed", stage=stage.name, path=shown)
                self.ledger.release_path(stage.name, shown)
                return Outcome(OutcomeState.CRASHED)
            log.warning("file.waiting_for_space", stage=stage.name, path=shown,
                        error=f"{type(error).__name__}: {error}")
            return self._release_when_full(stage, shown, error)

    def _release_when_full(self, stage: Stage[Any], shown: str, error: Exception) -> Outcome:
        try:
            self.ledger.release_path(stage.name, shown)
        except Exception as release_error:
            if not is_disk_full(release_error):
                raise
            # The loop releases it before it tries the file again, once there is room.
        return Outcome(OutcomeState.CRASHED, no_space=describe(error))

    def _process(self, stage: Stage[Any], relative_path: str, next_path: str | None
                 ) -> Outcome:
        early = self._take_early_claim(stage, relative_path)
        found = early.found if early is not None else look_at(self.root, relative_path)
        if found is None:
            return Outcome(OutcomeState.GONE)
        # Bound and reset by token: structlog's `bound_contextvars` copies the whole context
        # to restore it, a few µs in every stage run.
        bound = bind_contextvars(stage=stage.name, path=found.shown, sha256=found.sha256[:16])
        try:
            claim = early.claim if early is not None else self.ledger.claim(
                stage.name, *found.signature())
            if claim is None:
                log.debug("file.skipped", reason="already processed")
                return Outcome(OutcomeState.SKIPPED)
            with handling_input(found.path, found.sha256, found.content):
                return self._run(stage, found, claim, next_path)
        finally:
            reset_contextvars(**bound)

    def _take_early_claim(self, stage: Stage[Any], relative_path: str) -> EarlyClaim | None:
        """The claim made for this file with the last one's finish, if it was made for it."""
        early, self._early.claim = getattr(self._early, "claim", None), None
        if early is None or (early.stage, early.found.relative_path) == (stage.name,
                                                                          relative_path):
            return early
        if early.claim is not None:  # not run after all: back to pending
            self.ledger.release(early.claim.row_id)
        return None

    def _run(self, stage: Stage[Any], found: Found, claim: Claim, next_path: str | None
             ) -> Outcome:
        path, relative_path, sha256 = found.path, found.shown, found.sha256
        started, started_wall = time.monotonic(), time.time()
        log.info("file.received", attempt=claim.attempts + 1)
        try:
            self._check_crashes(claim)
            _check_acceptable(path, relative_path, found.info.st_mode)
            outputs = self._call(stage, path, claim)
        except Interrupted:
            self.ledger.release(claim.row_id)
            log.info("file.interrupted")
            return Outcome(OutcomeState.INTERRUPTED)
        except TransientError as error:
            return self._give_up(stage, relative_path, sha256, claim, error, started)
        except Exception as error:
            if is_disk_full(error):
                raise  # no fault of the input
            return self._quarantine(stage, path, relative_path, sha256, claim, error,
                                    started, started_wall)
        duration_ms = (time.monotonic() - started) * 1000
        relative_outputs = [self._relative(output) for output in outputs]
        self._finish(stage, claim, relative_outputs, duration_ms, next_path)
        log.info("file.processed", duration_ms=round(duration_ms, 2), outputs=relative_outputs)
        return Outcome(OutcomeState.DONE, tuple(relative_outputs))

    def _finish(self, stage: Stage[Any], claim: Claim, outputs: list[str], duration_ms: float,
                next_path: str | None) -> None:
        """Record the file done, and claim the next file of the run in the same transaction:
        a transaction costs a stage run more than its statements. Should the write fail, the
        next file is claimed again when its turn comes."""
        upcoming = None
        if next_path is not None and not self._stopping.is_set():
            upcoming = look_at(self.root, next_path)
        if upcoming is None:
            self.ledger.finish(claim.row_id, outputs, duration_ms)
            return
        claimed = self.ledger.finish_and_claim(claim.row_id, outputs, duration_ms, stage.name,
                                               *upcoming.signature())
        self._early.claim = EarlyClaim(stage.name, upcoming, claimed)

    def _check_crashes(self, claim: Claim) -> None:
        """Refuse to run a file the process has died on too often: it would die again."""
        limit = self._settings().engine.crash_limit
        if claim.crashes:
            log.warning("file.crashed_before", crashes=claim.crashes, crash_limit=limit)
        if claim.crashes >= limit:
            raise RejectedInput(CRASHED_PROCESS, f"The daemon's process died {claim.crashes} "
                                "times while handling this file; it is set aside so that the "
                                "other files go on.",
                                {"crashes": claim.crashes, "crash_limit": limit})

    def _call(self, stage: Stage[Any], path: Path, claim: Claim) -> list[Path]:
        errors: list[str] = []  # what ended each failed attempt, newest last

        def on_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            errors.append(repr(error))
            if self.on_retry is not None:
                self.on_retry(stage.name)
            log.warning("file.retrying", attempt=claim.attempts + state.attempt_number,
                        error=str(error), wait_s=round(state.upcoming_sleep, 2))

        def attempt() -> list[Path]:
            if errors:  # the claim recorded the first attempt; the ledger hears of each retry
                self.ledger.count_attempt(claim.row_id, errors[-1])  # before it starts
            return _resource_errors_are_transient(stage.handler, path, self.ctx)

        with reporting_hand_offs(self._progress_noter(claim)):
            try:  # most files pass at once: the policy is built only for a transient error
                return list(attempt() or [])
            except TransientError as error:
                first = [error]
            retrying = build_retrying(self._settings().engine, self._stopping, on_retry,
                                      attempts=self._attempts(stage))
            # The policy's first attempt is the one that just failed: same waits, same budget.
            return list(retrying(lambda: _raise(first.pop()) if first else attempt()) or [])

    def _progress_noter(self, claim: Claim) -> Callable[[], None]:
        """Tell the ledger, once, that this attempt handed off an output."""
        noted: list[bool] = []

        def note() -> None:
            if not noted:
                noted.append(True)
                self.ledger.note_progress(claim.row_id)

        return note

    def _attempts(self, stage: Stage[Any]) -> int:
        """The stage's retry budget, else the engine's."""
        if stage.retry_attempts is not None:
            return stage.retry_attempts(self.ctx)
        return self._settings().engine.retry_attempts

    def _give_up(self, stage: Stage[Any], relative_path: str, sha256: str, claim: Claim,
                 error: TransientError, started: float) -> Outcome:
        duration_ms = (time.monotonic() - started) * 1000
        engine = self._settings().engine
        self.ledger.fail(claim.row_id, state=FileState.FAILED, code=RETRIES_EXHAUSTED,
                         error=f"{type(error).__name__}: {error}", duration_ms=duration_ms)
        log.error("file.failed", error=str(error), error_type=type(error).__name__,
                  will_retry_in_s=engine.failed_retry_s)
        if is_disk_full(error):  # `disk.full` tells a human, once for every file
            return Outcome(OutcomeState.FAILED, no_space=describe(error))
        if claim.attempts == 0:  # tell a human once, not at every later retry
            self._report(ErrorRecord(
                stage=stage.name, source_path=relative_path, sha256=sha256,
                code=RETRIES_EXHAUSTED, error_type=type(error).__name__, message=str(error),
                attempts=self._attempts(stage), first_attempt_at=utc_iso(time.time()),
                failed_at=utc_iso(time.time()),
                details={"retry_in_s": engine.failed_retry_s}), quarantine_path="")
        return Outcome(OutcomeState.FAILED)

    def _quarantine(self, stage: Stage[Any], path: Path, relative_path: str, sha256: str,
                    claim: Claim, error: Exception, started: float, started_wall: float
                    ) -> Outcome:
        duration_ms = (time.monotonic() - started) * 1000
        rejected = error if isinstance(error, RejectedInput) else None
        record = ErrorRecord(
            stage=stage.name, source_path=relative_path, sha256=sha256,
            code=rejected.code if rejected else "unexpected_error",
            error_type=type(error).__name__, message=str(error),
            # A file set aside for its crashes was not run this time.
            attempts=claim.attempts + (0 if _code(error) == CRASHED_PROCESS else 1),
            first_attempt_at=utc_iso(started_wall),
            failed_at=utc_iso(time.time()), details=rejected.details if rejected else {},
        )
        target = quarantine_file(self.root, path, record)
        quarantine_path = self._relative(target)
        self.ledger.fail(claim.row_id, state=FileState.QUARANTINED, code=record.code,
                         error=f"{record.error_type}: {record.message}",
                         duration_ms=duration_ms, quarantine_path=quarantine_path)
        log_method = log.warning if rejected else log.exception
        log_method("file.quarantined", code=record.code, error=record.message,
                   error_type=record.error_type, quarantine_path=quarantine_path)
        self._report(record, quarantine_path)
        return Outcome(OutcomeState.QUARANTINED, (quarantine_path,))

    def _report(self, record: ErrorRecord, quarantine_path: str) -> None:
        if self.app.report_failure is None:
            return
        failure = Failure(stage=record.stage, source_path=record.source_path,
                          quarantine_path=quarantine_path, code=record.code,
                          error_type=record.error_type, message=record.message,
                          details=record.details, attempts=record.attempts,
                          sha256=record.sha256)
        try:
            self.app.report_failure(self.ctx, failure)
        except Exception:
            log.exception("alert.failed", code=record.code)

    def _relative(self, path: Path) -> str:
        text, root = os.fspath(path), os.fspath(self.root)
        if text.startswith(root + "/"):
            return text[len(root) + 1:]
        try:
            return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return text


def _resource_errors_are_transient(handler: Callable[[Path, Any], list[Path]], path: Path,
                                   ctx: Any) -> list[Path]:
    try:
        return handler(path, ctx)
    except TransientError:
        raise
    except Exception as error:
        if is_resource_error(error):
            raise TransientError(f"{type(error).__name__}: {error}") from error
        raise


def _raise(error: Exception) -> list[Path]:
    raise error


def _code(error: Exception) -> str | None:
    return error.code if isinstance(error, RejectedInput) else None


def _check_acceptable(path: Path, shown: str, mode: int) -> None:
    """Refuse what no handler should be given: odd file types and unprintable names."""
    if not stat.S_ISREG(mode):
        raise RejectedInput("not_a_regular_file",
                            "Only regular files are processed; this is " + _describe_mode(mode))
    if printable_name(path.name) != path.name:
        raise RejectedInput("bad_file_name", "File names must be UTF-8 without control "
                            f"characters; this one is {shown.rsplit('/', 1)[-1]}")


def _describe_mode(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    return "a special file"
