"""How the dispatcher's workers take queued files: alone when workers are free, in runs of one
stage under a backlog, quick stages one run at a time, never past the moment the daemon begins
to stop, and what a run hands off straight to the stage that takes it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon.dispatch import MAX_BATCH, QUICK_HOLD_S, QUICK_S, RUN_S, Dispatcher, Ran, batch_size
from daemon.files import write_atomic
from daemon.outcomes import Outcome, OutcomeState
from daemon.stages import Stage

STAGE = Stage("a", "in/a", ("*.txt",), lambda path, ctx: [], concurrency=2)
LATER = Stage("b", "in/b", ("*.txt",), lambda path, ctx: [], concurrency=2)


class Reports:
    """What `on_done` heard, in order, and a way to wait for the dispatcher to go idle."""

    def __init__(self) -> None:
        self.runs: list[Ran] = []
        self._changed = threading.Condition()
        self._idle = False

    def __call__(self, ran: Ran, idle: bool) -> None:
        with self._changed:
            self.runs.append(ran)
            self._idle = idle
            self._changed.notify_all()

    def wait_idle(self) -> list[Ran]:
        with self._changed:
            assert self._changed.wait_for(lambda: self._idle, timeout=10), "never went idle"
            self._idle = False
            runs, self.runs = self.runs, []
        return runs


@pytest.fixture
def made() -> Iterator[list[Dispatcher]]:
    """The dispatchers a test makes, shut down after it."""
    dispatchers: list[Dispatcher] = []
    yield dispatchers
    for dispatch in dispatchers:
        dispatch.shutdown(wait=False)


def dispatcher(made: list[Dispatcher], work: Any, stopping: threading.Event | None = None,
               *, stages: tuple[Stage[Any], ...] = (STAGE,), workers: int = 2,
               **options: Any) -> tuple[Dispatcher, Reports]:
    reports = Reports()
    dispatch = Dispatcher(list(stages), {stage.name: stage.concurrency for stage in stages},
                          workers, work, reports, stopping, **options)
    made.append(dispatch)
    return dispatch, reports


def drain(dispatch: Dispatcher, reports: Reports) -> list[Ran]:
    dispatch.pump()
    return reports.wait_idle()


def done(stage: Stage[Any], path: str, upcoming: str | None = None) -> Outcome:
    return Outcome(OutcomeState.DONE)


def warm_up(dispatch: Dispatcher, reports: Reports, stage: Stage[Any] = STAGE) -> None:
    """A few quick files, so that the stage is known to be quick."""
    for number in range(10):
        dispatch.submit(stage, f"{stage.inbox}/warm-{number}.txt")
        drain(dispatch, reports)


def wait_for(predicate: Any) -> None:
    deadline = time.monotonic() + 10
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_a_file_goes_alone_while_workers_are_free(made: list[Dispatcher]) -> None:
    dispatch, reports = dispatcher(made, done)
    for name in ("x", "y", "z"):
        dispatch.submit(STAGE, f"in/a/{name}.txt")
    assert sorted(len(ran.results) for ran in drain(dispatch, reports)) == [1, 1, 1]


def test_under_a_backlog_a_worker_takes_a_run_of_files_and_each_is_reported(
        made: list[Dispatcher]) -> None:
    dispatch, reports = dispatcher(made, done)
    paths = [f"in/a/f-{number:03d}.txt" for number in range(200)]
    for path in paths:
        dispatch.submit(STAGE, path)
    runs = drain(dispatch, reports)
    assert max(len(ran.results) for ran in runs) == MAX_BATCH
    assert sorted(path for ran in runs for path, _ in ran.results) == paths
    assert all(result.state is OutcomeState.DONE for ran in runs for _, result in ran.results)


def test_a_crash_in_one_file_of_a_run_is_that_file_s_alone(made: list[Dispatcher]) -> None:
    def work(stage: Stage[Any], path: str, upcoming: str | None = None) -> Outcome:
        if path.endswith("f-007.txt"):
            raise RuntimeError("boom")
        return Outcome(OutcomeState.DONE)

    dispatch, reports = dispatcher(made, work)
    for number in range(100):
        dispatch.submit(STAGE, f"in/a/f-{number:03d}.txt")
    results = dict(item for ran in drain(dispatch, reports) for item in ran.results)
    assert isinstance(results.pop("in/a/f-007.txt"), RuntimeError)
    assert len(results) == 99 and all(isinstance(r, Outcome) for r in results.values())


def test_files_a_run_holds_count_as_queued_until_handled(made: list[Dispatcher]) -> None:
    release = threading.Event()

    def work(stage: Stage[Any], path: str, upcoming: str | None = None) -> Outcome:
        if "/held-" in path:
            release.wait(10)
        return Outcome(OutcomeState.DONE)

    dispatch, reports = dispatcher(made, work)
    warm_up(dispatch, reports)
    for number in range(100):
        dispatch.submit(STAGE, f"in/a/held-{number:03d}.txt")
    dispatch.pump()
    wait_for(lambda: dispatch.running() == {"a": 2})  # the second once the first stalled
    assert dispatch.queued() == {"a": 98}  # both runs' files behind their first still count
    release.set()
    sizes = {ran.results[0][0]: len(ran.results) for ran in reports.wait_idle()}
    assert sizes["in/a/held-000.txt"] > 1 and sizes["in/a/held-016.txt"] > 1  # runs, both
    assert dispatch.queued() == {"a": 0} and dispatch.running() == {"a": 0}


def test_a_run_stops_between_files_once_the_daemon_is_stopping(made: list[Dispatcher]) -> None:
    stopping = threading.Event()

    def work(stage: Stage[Any], path: str, upcoming: str | None = None) -> Outcome:
        if "/stop-" in path:
            stopping.set()  # the stop arrives while the first file of the run is handled
        return Outcome(OutcomeState.DONE)

    dispatch, reports = dispatcher(made, work, stopping)
    warm_up(dispatch, reports)
    for number in range(100):
        dispatch.submit(STAGE, f"in/a/stop-{number:03d}.txt")
    dispatch.pump()
    wait_for(lambda: dispatch.running_total() == 0 and reports.runs)
    time.sleep(QUICK_HOLD_S * 2)  # long enough for another run to start, were it allowed
    runs = reports.runs
    assert len(runs) == 1 and len(runs[0].results) == 1  # nothing after the stop
    assert len(runs[0].unrun) == MAX_BATCH - 1
    assert dispatch.queued() == {"a": 100 - MAX_BATCH}  # left for the next start's sweep


def test_a_file_changed_during_its_run_is_looked_at_again(made: list[Dispatcher]) -> None:
    release = threading.Event()
    runs: list[str] = []

    def work(stage: Stage[Any], path: str, upcoming: str | None = None) -> Outcome:
        runs.append(path)
        release.wait(10)
        return Outcome(OutcomeState.DONE)

    dispatch, reports = dispatcher(made, work)
    dispatch.submit(STAGE, "in/a/x.txt")
    dispatch.pump()
    wait_for(lambda: runs)
    dispatch.submit(STAGE, "in/a/x.txt")  # a new event while it runs
    release.set()
    reports.wait_idle()
    assert runs == ["in/a/x.txt", "in/a/x.txt"]


def test_a_stage_whose_files_take_a_while_never_holds_one_behind_another(
        made: list[Dispatcher]) -> None:
    def slow(stage: Stage[Any], path: str, upcoming: str | None = None) -> Outcome:
        time.sleep(0.02)  # a download, a parse: far longer than a run may last
        return Outcome(OutcomeState.DONE)

    dispatch, reports = dispatcher(made, slow)
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


def concurrency_meter() -> tuple[Any, list[int]]:
    """A work function that notes how many files run at once, and the highest count."""
    lock, now, highest = threading.Lock(), [0], [0]

    def measured(pause_s: float, working: bool = False) -> Any:
        def work(stage: Stage[Any], path: str, upcoming: str | None = None) -> Outcome:
            with lock:
                now[0] += 1
                highest[0] = max(highest[0], now[0])
            if working:  # on the CPU throughout, as quick work in the interpreter is
                until = time.thread_time() + pause_s
                while time.thread_time() < until:
                    pass
            else:
                time.sleep(pause_s)
            with lock:
                now[0] -= 1
            return Outcome(OutcomeState.DONE)
        return work

    return measured, highest


def test_quick_stages_run_one_run_at_a_time_and_slow_ones_on_every_worker(
        made: list[Dispatcher], monkeypatch: pytest.MonkeyPatch) -> None:
    # A loaded test machine may stall a run past the hold, which then lets a second one start,
    # or stall it long enough that its stage measures slow and stops holding the others.
    monkeypatch.setattr("daemon.dispatch.QUICK_HOLD_S", 10.0)
    monkeypatch.setattr("daemon.dispatch.QUICK_S", 1.0)
    measured, highest = concurrency_meter()
    dispatch, reports = dispatcher(made, measured(0.0002), stages=(STAGE, LATER), workers=4)
    for number in range(300):
        dispatch.submit(STAGE if number % 2 else LATER, f"in/{'ab'[number % 2]}/{number}.txt")
    runs = drain(dispatch, reports)
    assert sum(len(ran.results) for ran in runs) == 300
    assert highest[0] == 1  # two quick stages, four workers: never two runs at once

    monkeypatch.setattr("daemon.dispatch.QUICK_S", QUICK_S)
    slow_measured, slow_highest = concurrency_meter()
    dispatch, reports = dispatcher(made, slow_measured(0.03), stages=(STAGE, LATER), workers=4)
    for number in range(12):
        dispatch.submit(STAGE if number % 2 else LATER, f"in/{'ab'[number % 2]}/{number}.txt")
    drain(dispatch, reports)
    assert slow_highest[0] == 4  # each stage at its limit of two


def test_a_long_run_of_quick_files_keeps_holding_the_others_back(
        made: list[Dispatcher], monkeypatch: pytest.MonkeyPatch) -> None:
    # As on a slow host: each file well within the hold, a run of them far beyond it.
    monkeypatch.setattr("daemon.dispatch.RUN_S", 1.0)
    monkeypatch.setattr("daemon.dispatch.MAX_BATCH", 64)  # runs of 64 ms and more
    measured, highest = concurrency_meter()
    dispatch, reports = dispatcher(made, measured(0.001), stages=(STAGE, LATER), workers=4)
    for number in range(400):
        dispatch.submit(STAGE if number % 2 else LATER, f"in/{'ab'[number % 2]}/{number}.txt")
    runs = drain(dispatch, reports)
    assert max(ran.seconds for ran in runs) > 2 * QUICK_HOLD_S
    assert highest[0] == 1


def test_a_quick_run_that_stalls_stops_holding_the_others_back(made: list[Dispatcher]) -> None:
    release = threading.Event()
    started: dict[str, float] = {}

    def work(stage: Stage[Any], path: str, upcoming: str | None = None) -> Outcome:
        started[path] = time.monotonic()
        if path.endswith("stuck.txt"):
            release.wait(10)  # a retry's wait, a database lock
        return Outcome(OutcomeState.DONE)

    dispatch, reports = dispatcher(made, work, stages=(STAGE, LATER))
    warm_up(dispatch, reports, STAGE)
    warm_up(dispatch, reports, LATER)
    dispatch.submit(STAGE, "in/a/stuck.txt")
    dispatch.pump()
    wait_for(lambda: "in/a/stuck.txt" in started)
    dispatch.submit(LATER, "in/b/next.txt")
    dispatch.pump()
    wait_for(lambda: "in/b/next.txt" in started)
    waited = started["in/b/next.txt"] - started["in/a/stuck.txt"]
    release.set()
    reports.wait_idle()
    assert QUICK_HOLD_S * 0.9 <= waited < 1.0


def test_what_a_run_hands_off_goes_to_the_stage_that_takes_it(
        made: list[Dispatcher], tmp_path: Path) -> None:
    ran: list[str] = []

    def work(stage: Stage[Any], path: str, upcoming: str | None = None) -> Outcome:
        ran.append(path)
        if stage is STAGE:
            write_atomic(tmp_path / "in" / "b" / Path(path).name, b"x", durable=False)
        return Outcome(OutcomeState.DONE)

    def route(path: Path) -> tuple[Stage[Any], str] | None:
        relative = path.relative_to(tmp_path).as_posix()
        return (LATER, relative) if relative.startswith("in/b/") else None

    dispatch, reports = dispatcher(made, work, stages=(STAGE, LATER), route=route)
    dispatch.submit(STAGE, "in/a/1.txt")
    runs = drain(dispatch, reports)
    assert ran == ["in/a/1.txt", "in/b/1.txt"]  # no submit of the second: the run's hand-off
    assert runs[0].handed_off == [tmp_path / "in" / "b" / "1.txt"]
    temporary = [name for name in (tmp_path / "in" / "b").iterdir() if name.name != "1.txt"]
    assert temporary == []


def test_a_stage_allowed_every_worker_does_not_keep_them_from_the_next_stage(
        made: list[Dispatcher]) -> None:
    later = Stage("b", "in/b", ("*.txt",), lambda path, ctx: [], concurrency=1)
    release = {path: threading.Event() for path in ("in/a/1.txt", "in/a/2.txt")}
    started: list[str] = []

    def work(stage: Stage[Any], path: str, upcoming: str | None = None) -> Outcome:
        started.append(path)
        if path in release:
            release[path].wait(10)
        return Outcome(OutcomeState.DONE)

    dispatch, reports = dispatcher(made, work, stages=(STAGE, later))
    for number in range(1, 5):
        dispatch.submit(STAGE, f"in/a/{number}.txt")
    dispatch.pump()
    wait_for(lambda: len(started) == 2)  # both workers on the first stage
    dispatch.submit(later, "in/b/1.txt")
    release["in/a/1.txt"].set()
    wait_for(lambda: len(started) >= 3)  # the freed worker: the waiting stage's turn
    assert started[:3] == ["in/a/1.txt", "in/a/2.txt", "in/b/1.txt"]
    release["in/a/2.txt"].set()
    reports.wait_idle()
