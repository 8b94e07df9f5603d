"""How the dispatcher hands queued files to workers: alone when workers are free, in runs of
one stage under a backlog, and never past the moment the daemon begins to stop."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from daemon.dispatch import MAX_BATCH, RUN_S, Dispatcher, Ran, batch_size
from daemon.outcomes import Outcome, OutcomeState
from daemon.stages import Stage

STAGE = Stage("a", "in/a", ("*.txt",), lambda path, ctx: [], concurrency=2)


def dispatcher(work: Any, stopping: threading.Event | None = None
               ) -> tuple[Dispatcher, queue.SimpleQueue[Ran]]:
    reports: queue.SimpleQueue[Ran] = queue.SimpleQueue()
    return Dispatcher([STAGE], {"a": 2}, 2, work, reports.put, stopping), reports


def drain(dispatch: Dispatcher, reports: queue.SimpleQueue[Ran]) -> list[Ran]:
    """Run the loop's part until nothing is queued or running; the runs, in report order."""
    runs = []
    dispatch.pump()
    while not dispatch.idle():
        ran = reports.get(timeout=10)
        runs.append(ran)
        dispatch.finished(ran)
        dispatch.pump()
    return runs


def done(stage: Stage[Any], path: str) -> Outcome:
    return Outcome(OutcomeState.DONE)


def test_a_file_goes_alone_while_workers_are_free() -> None:
    dispatch, reports = dispatcher(done)
    for name in ("x", "y", "z"):
        dispatch.submit(STAGE, f"in/a/{name}.txt")
    runs = drain(dispatch, reports)
    assert sorted(len(ran.results) for ran in runs) == [1, 1, 1]


def test_under_a_backlog_a_worker_takes_a_run_of_files_and_each_is_reported() -> None:
    dispatch, reports = dispatcher(done)
    paths = [f"in/a/f-{number:03d}.txt" for number in range(200)]
    for path in paths:
        dispatch.submit(STAGE, path)
    runs = drain(dispatch, reports)
    assert max(len(ran.results) for ran in runs) == MAX_BATCH
    assert sorted(path for ran in runs for path, _ in ran.results) == paths
    assert all(result.state is OutcomeState.DONE for ran in runs for _, result in ran.results)


def test_a_crash_in_one_file_of_a_run_is_that_file_s_alone() -> None:
    def work(stage: Stage[Any], path: str) -> Outcome:
        if path.endswith("f-007.txt"):
            raise RuntimeError("boom")
        return Outcome(OutcomeState.DONE)

    dispatch, reports = dispatcher(work)
    for number in range(100):
        dispatch.submit(STAGE, f"in/a/f-{number:03d}.txt")
    results = dict(item for ran in drain(dispatch, reports) for item in ran.results)
    assert isinstance(results.pop("in/a/f-007.txt"), RuntimeError)
    assert len(results) == 99 and all(isinstance(r, Outcome) for r in results.values())


def test_files_a_run_holds_count_as_queued_until_handled() -> None:
    release = threading.Event()

    def work(stage: Stage[Any], path: str) -> Outcome:
        if "/held-" in path:
            release.wait(10)
        return Outcome(OutcomeState.DONE)

    dispatch, reports = dispatcher(work)
    for number in range(4):  # the stage is seen to be quick: runs of several files
        dispatch.submit(STAGE, f"in/a/warm-{number}.txt")
    drain(dispatch, reports)
    for number in range(100):
        dispatch.submit(STAGE, f"in/a/held-{number:03d}.txt")
    dispatch.pump()
    assert dispatch.running() == {"a": 2} and dispatch.queued() == {"a": 98}
    release.set()
    first_runs = [reports.get(timeout=10) for _ in range(2)]
    assert min(len(ran.results) for ran in first_runs) > 1  # those 98 were partly in runs
    for ran in first_runs:
        dispatch.finished(ran)
    drain(dispatch, reports)
    assert dispatch.queued() == {"a": 0} and dispatch.running() == {"a": 0}


def test_a_run_stops_between_files_once_the_daemon_is_stopping() -> None:
    stopping = threading.Event()

    def work(stage: Stage[Any], path: str) -> Outcome:
        if "/stop-" in path:
            stopping.set()  # the stop arrives while the first file of each run is handled
        return Outcome(OutcomeState.DONE)

    dispatch, reports = dispatcher(work, stopping)
    for number in range(4):  # the stage is seen to be quick
        dispatch.submit(STAGE, f"in/a/warm-{number}.txt")
    drain(dispatch, reports)
    for number in range(100):
        dispatch.submit(STAGE, f"in/a/stop-{number:03d}.txt")
    dispatch.pump()
    runs = [reports.get(timeout=10) for _ in range(dispatch.running_total())]
    taken = sum(len(ran.results) + len(ran.unrun) for ran in runs)
    assert all(len(ran.results) == 1 for ran in runs)
    assert sum(len(ran.unrun) for ran in runs) == taken - len(runs) > 0
    for ran in runs:
        dispatch.finished(ran)
    assert dispatch.running_total() == 0


def test_a_file_changed_during_its_run_is_looked_at_again() -> None:
    release = threading.Event()

    def work(stage: Stage[Any], path: str) -> Outcome:
        release.wait(10)
        return Outcome(OutcomeState.DONE)

    dispatch, reports = dispatcher(work)
    dispatch.submit(STAGE, "in/a/x.txt")
    dispatch.pump()
    dispatch.submit(STAGE, "in/a/x.txt")  # a new event while it runs
    release.set()
    assert dispatch.finished(reports.get(timeout=10)) == ["in/a/x.txt"]


def test_a_stage_whose_files_take_a_while_never_holds_one_behind_another() -> None:
    def slow(stage: Stage[Any], path: str) -> Outcome:
        time.sleep(0.02)  # a download, a parse: far longer than a run may last
        return Outcome(OutcomeState.DONE)

    dispatch, reports = dispatcher(slow)
    for number in range(20):
        dispatch.submit(STAGE, f"in/a/f-{number:03d}.txt")
    assert {len(ran.results) for ran in drain(dispatch, reports)} == {1}


def test_batch_size_grows_with_the_backlog_per_free_worker_for_quick_stages() -> None:
    quick = 0.0001  # seconds per file
    assert batch_size(3, 2, quick) == 1
    assert batch_size(8, 2, quick) == 2
    assert batch_size(1000, 4, quick) == MAX_BATCH
    assert batch_size(5, 0, quick) == 2
    assert batch_size(1000, 1, None) == 1  # the stage's time is not known yet
    assert batch_size(1000, 1, RUN_S / 4) == 4  # about RUN_S of work
    assert batch_size(1000, 1, 0.5) == 1


def test_a_stage_allowed_every_worker_does_not_keep_them_from_the_next_stage() -> None:
    later = Stage("b", "in/b", ("*.txt",), lambda path, ctx: [], concurrency=1)
    release = {path: threading.Event() for path in ("in/a/1.txt", "in/a/2.txt")}
    started: list[str] = []

    def work(stage: Stage[Any], path: str) -> Outcome:
        started.append(path)
        if path in release:
            release[path].wait(10)
        return Outcome(OutcomeState.DONE)

    reports: queue.SimpleQueue[Ran] = queue.SimpleQueue()
    dispatch = Dispatcher([STAGE, later], {"a": 2, "b": 1}, 2, work, reports.put)
    for number in range(1, 5):
        dispatch.submit(STAGE, f"in/a/{number}.txt")
    dispatch.pump()  # both workers on the first stage
    dispatch.submit(later, "in/b/1.txt")
    release["in/a/1.txt"].set()
    dispatch.finished(reports.get(timeout=10))
    dispatch.pump()  # the freed worker: the waiting stage's turn, not a third file of "a"
    assert reports.get(timeout=10).stage is later
    assert started[:3] == ["in/a/1.txt", "in/a/2.txt", "in/b/1.txt"]
    release["in/a/2.txt"].set()
