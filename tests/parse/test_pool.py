"""The parse pool with real child processes: limits that kill a child and not the caller, the
file in flight charged with `resource_limit`, a fresh child for the next file, two forms at once.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from daemon.errors import ConfigError, RejectedInput
from daemon.ledger import Ledger
from daemon.outcomes import OutcomeState
from daemon.retry import Interrupted
from daemon.worker import FileProcessor
from handlers.adapters.ocr import OcrOptions
from handlers.adapters.parse_pool import MIB, Death, Limits, ParsePool, ran_out
from handlers.app import APP
from handlers.context import PipelineContext
from tests.parse.forms import MIXED_ROWS, form
from tests.pdfform import FormLayout, build_form_pdf
from tests.support import wait_for

HOOKED = "tests.parse.hooked_child"
DEFAULTS = Limits(memory_bytes=384 * MIB, time_s=60.0)
MakePool = Callable[..., ParsePool]


@pytest.fixture
def make_pool() -> Iterator[MakePool]:
    made: list[ParsePool] = []

    def build(workers: int = 2, limits: Limits = DEFAULTS, module: str | None = None,
              stopping: threading.Event | None = None) -> ParsePool:
        extra = {"module": module} if module else {}
        pool = ParsePool(workers, limits, stopping or threading.Event(), **extra)
        made.append(pool)
        return pool

    yield build
    for pool in made:
        pool.close()


def two_page_form(path: Path) -> Path:
    return build_form_pdf(form(MIXED_ROWS * 3, before=10**9), path,
                          layout=FormLayout(rows_per_page=9, split_row=True))


def refusal(call: Callable[[], object]) -> RejectedInput:
    with pytest.raises(RejectedInput) as caught:
        call()
    assert caught.value.code == "resource_limit"
    return caught.value


def gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()  # reaped, not a zombie


def test_a_flate_bomb_costs_its_child_and_the_next_form_gets_a_fresh_one(
        make_pool: MakePool, pdf_dir: Path, flate_bomb: Path) -> None:
    bomb = flate_bomb
    assert bomb.stat().st_size < 2 * 1024 * 1024  # 1.5 GB of zeros, deflated
    pool = make_pool(workers=1)
    assert pool.read(two_page_form(pdf_dir / "first.pdf")).pages == 2
    (first_child,) = pool.pids

    error = refusal(lambda: pool.read(bomb))

    assert error.details["limit"] == "memory"
    assert (error.details["pages_read"], error.details["pages"]) == (0, 1)
    assert 384 / 2 <= error.details["peak_rss_mb"] <= 384  # it ran into the cap, no further
    assert "LK-bomb.pdf needed more than the parse memory limit (384 MiB)" in error.message
    assert gone(first_child)
    assert pool.read(two_page_form(pdf_dir / "next.pdf")).pages == 2
    assert pool.pids and first_child not in pool.pids


def test_a_file_past_the_time_limit_has_its_child_killed(make_pool: MakePool,
                                                         pdf_dir: Path) -> None:
    pool = make_pool(workers=1, limits=Limits(384 * MIB, time_s=0.5), module=HOOKED)
    pool.read(two_page_form(pdf_dir / "warm.pdf"))
    (hung_child,) = pool.pids

    error = refusal(lambda: pool.read(two_page_form(pdf_dir / "hang-form.pdf")))

    assert error.details["limit"] == "time" and error.details["signal"] == "SIGKILL"
    assert (error.details["pages_read"], error.details["pages"]) == (1, 2)
    assert error.details["elapsed_s"] >= 0.5
    assert "took longer than the parse time limit (0.5 s)" in error.message
    assert gone(hung_child)
    assert pool.read(two_page_form(pdf_dir / "after.pdf")).pages == 2


def test_a_child_killed_mid_parse_quarantines_its_file_and_the_next_one_parses(
        make_ctx: Callable[..., PipelineContext], make_pool: MakePool) -> None:
    ctx = PipelineContext(settings=make_ctx().settings,
                          parse_pool_override=make_pool(workers=1, module=HOOKED))
    inbox = ctx.root / "downloads" / "idx-format"
    two_page_form(inbox / "kill-form.pdf")
    two_page_form(inbox / "LK-next.pdf")
    ledger = Ledger.open(ctx.root)
    processor = FileProcessor(APP, ctx, ledger, lambda: ctx.settings, threading.Event())
    stage = next(stage for stage in APP.stages if stage.name == "parse")
    try:
        killed = processor.process(stage, "downloads/idx-format/kill-form.pdf")
        parsed = processor.process(stage, "downloads/idx-format/LK-next.pdf")
    finally:
        ledger.close()
        ctx.close()
    assert killed.state == OutcomeState.QUARANTINED
    record = json.loads((ctx.root / "quarantine/parse/kill-form.pdf.error.json").read_text())
    assert record["code"] == "resource_limit"
    assert record["details"]["limit"] == "crash" and record["details"]["signal"] == "SIGKILL"
    assert (record["details"]["pages_read"], record["details"]["pages"]) == (1, 2)
    assert "kill-form.pdf crashed the parser (signal SIGKILL)" in record["message"]
    alerts = [json.loads(p.read_text()) for p in (ctx.root / "alerts").glob("*.json")]
    assert [alert["code"] for alert in alerts] == ["resource_limit"]
    assert parsed.state == OutcomeState.DONE
    assert (ctx.root / "data" / "parsed" / "LK-next.json").is_file()


def test_two_forms_parse_at_the_same_time_in_two_children(make_pool: MakePool,
                                                          pdf_dir: Path) -> None:
    pool = make_pool(workers=2, module=HOOKED)
    pdfs = [two_page_form(pdf_dir / f"meet-{name}.pdf") for name in "ab"]
    errors: list[BaseException] = []

    def parse(pdf: Path) -> None:
        try:
            assert pool.read(pdf).pages == 2
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=parse, args=(pdf,)) for pdf in pdfs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    starts = [int(pdf.with_suffix(".start").read_text()) for pdf in pdfs]
    ends = [int(pdf.with_suffix(".end").read_text()) for pdf in pdfs]
    assert max(starts) < min(ends), "each form was still in flight when the other started"
    assert len(pool.pids) == 2


def test_a_stop_ends_a_parse_in_flight_without_blaming_the_file(make_pool: MakePool,
                                                                pdf_dir: Path) -> None:
    stopping = threading.Event()
    pool = make_pool(workers=1, module=HOOKED, stopping=stopping)
    raised: list[BaseException] = []

    def parse() -> None:
        try:
            pool.read(two_page_form(pdf_dir / "hang-form.pdf"))
        except BaseException as error:
            raised.append(error)

    thread = threading.Thread(target=parse)
    thread.start()
    wait_for(lambda: pool.pids, 30, "the child started")
    (child,) = pool.pids
    stopping.set()
    thread.join(30)
    assert [type(error) for error in raised] == [Interrupted]  # pending, not quarantined
    assert gone(child)


def test_a_child_that_died_while_idle_is_replaced_without_a_refusal(make_pool: MakePool,
                                                                    pdf_dir: Path) -> None:
    pool = make_pool(workers=1)
    pool.read(two_page_form(pdf_dir / "first.pdf"))
    (child,) = pool.pids
    os.kill(child, signal.SIGKILL)
    wait_for(lambda: _state(child) == "Z", 10, "the child dead (a zombie: not reaped yet)")
    assert pool.read(two_page_form(pdf_dir / "second.pdf")).pages == 2
    assert child not in pool.pids and gone(child)


def test_closing_the_pool_ends_and_reaps_every_child(make_pool: MakePool, pdf_dir: Path) -> None:
    pool = make_pool(workers=2, module=HOOKED)
    pdfs = [two_page_form(pdf_dir / f"meet-{name}.pdf") for name in "ab"]
    threads = [threading.Thread(target=pool.read, args=(pdf,)) for pdf in pdfs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    children = pool.pids
    assert len(children) == 2
    pool.close()
    assert all(gone(pid) for pid in children) and pool.pids == []
    with pytest.raises(Interrupted):
        pool.read(pdfs[0])


def test_the_context_opens_the_pool_with_the_parse_settings(
        make_ctx: Callable[..., PipelineContext]) -> None:
    ctx = make_ctx({"parse": {"workers": 3, "memory_limit_mb": 200, "time_limit_s": 5,
                              "ocr_dpi": 200, "ocr_max_pages": 4, "ocr_time_limit_s": 3}})
    assert ctx.parse_pool.workers == 3
    assert ctx.parse_pool.limits == Limits(200 * MIB, 5.0, OcrOptions(
        dpi=200, max_pages=4, time_limit_s=3.0))
    defaults = make_ctx().config.parse
    assert (defaults.workers, defaults.memory_limit_mb, defaults.time_limit_s) == (2, 384, 60.0)


def test_a_memory_limit_too_small_to_start_a_child_is_refused_as_configuration(
        make_ctx: Callable[..., PipelineContext]) -> None:
    with pytest.raises(ConfigError, match=r"memory_limit_mb .* must be a whole number of MiB"):
        make_ctx({"parse": {"memory_limit_mb": 16}})


def _state(pid: int) -> str:
    """The one-letter state of a process in /proc (R, S, Z, …)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_a_crash_is_not_taken_for_memory_when_the_daemon_itself_is_large(
        make_pool: MakePool, pdf_dir: Path) -> None:
    """Linux hands a child its parent's memory high-water mark: a daemon past half the cap
    must not make every crash of a child look like it ran out of memory."""
    ballast = bytearray(256 * MIB)  # this process, resident past half the 384 MiB cap
    ballast[::4096] = b"x" * len(ballast[::4096])
    pool = make_pool(workers=1, module=HOOKED)
    error = refusal(lambda: pool.read(two_page_form(pdf_dir / "kill-form.pdf")))
    assert (error.details["limit"], error.details["signal"]) == ("crash", "SIGKILL")
    assert error.details["peak_rss_mb"] >= 256  # what wait4 says: the inherited mark
    del ballast


def test_a_child_killed_near_its_cap_ran_out_of_memory_even_after_a_large_parent() -> None:
    mib, cap = MIB, 384 * MIB
    assert ran_out(Death(1, -signal.SIGABRT, 377 * mib), inherited_rss_bytes=40 * mib,
                   memory_bytes=cap)
    # Forked from a parent already that large: the peak is the parent's as much as its own.
    assert ran_out(Death(1, -signal.SIGABRT, 420 * mib), inherited_rss_bytes=420 * mib,
                   memory_bytes=cap)
    assert not ran_out(Death(1, -signal.SIGSEGV, 420 * mib), inherited_rss_bytes=420 * mib,
                       memory_bytes=cap)
    assert not ran_out(Death(1, -signal.SIGABRT, 60 * mib), inherited_rss_bytes=40 * mib,
                       memory_bytes=cap)
    assert not ran_out(Death(1, 1, 377 * mib), inherited_rss_bytes=40 * mib, memory_bytes=cap)
