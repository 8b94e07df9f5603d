"""WIB windows: the modes, the file stub, the days to query, aligned email windows, the command."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime

import pytest

from handlers.commands.window import WINDOW_COMMAND
from handlers.domain import windows
from handlers.jobs.ingest_state import save_last_end

WIB = windows.WIB


def test_explicit_window_crossing_midnight_ends_the_next_day() -> None:
    window = windows.explicit(date(2026, 4, 24), "23:30", "00:15")
    assert window.stub == "20260424_2330_20260425_0015"
    assert window.days() == [date(2026, 4, 24), date(2026, 4, 25)]
    assert window.contains(datetime(2026, 4, 25, 0, 15, tzinfo=WIB))  # inclusive end
    assert not window.contains(datetime(2026, 4, 25, 0, 15, 1, tzinfo=WIB))


def test_last_minutes_from_a_utc_clock_is_in_wib() -> None:
    window = windows.last_minutes(datetime(2026, 4, 24, 10, 3, tzinfo=UTC), 121)
    assert window.stub == "20260424_1502_20260424_1703"


def test_whole_days_cover_every_second_of_each_day() -> None:
    window = windows.whole_days(date(2026, 4, 23), date(2026, 4, 24))
    assert window.to_json()["start"] == "2026-04-23T00:00:00+07:00"
    assert window.to_json()["end"] == "2026-04-24T23:59:59+07:00"
    assert len(window.days()) == 2
    with pytest.raises(ValueError):
        windows.whole_days(date(2026, 4, 24), date(2026, 4, 23))


def test_auto_window_overlaps_the_last_end_or_looks_back_two_hours() -> None:
    now = datetime(2026, 4, 24, 17, 0, tzinfo=WIB)
    resumed = windows.auto(now, datetime(2026, 4, 24, 16, 30, tzinfo=WIB))
    assert resumed.stub == "20260424_1625_20260424_1700"
    assert windows.auto(now, None).stub == "20260424_1500_20260424_1700"


@pytest.mark.parametrize(("instant", "stub"), [
    (datetime(2026, 4, 24, 17, 3, tzinfo=WIB), "20260424_1600_20260424_1800"),
    (datetime(2026, 4, 24, 16, 0, tzinfo=WIB), "20260424_1600_20260424_1800"),
    (datetime(2026, 4, 24, 23, 59, 59, tzinfo=WIB), "20260424_2200_20260425_0000"),
    (datetime(2026, 4, 24, 17, 30, tzinfo=UTC), "20260425_0000_20260425_0200"),
])
def test_aligned_email_window_contains_the_instant(instant: datetime, stub: str) -> None:
    assert windows.aligned_window(instant).stub == stub


def test_aligned_window_rejects_a_period_that_does_not_divide_a_day() -> None:
    with pytest.raises(ValueError):
        windows.aligned_window(datetime(2026, 4, 24, tzinfo=WIB), period_s=7 * 3600)


def run_window_command(make_ctx, capsys, argv: list[str], ctx=None) -> tuple[int, dict]:
    parser = argparse.ArgumentParser()
    WINDOW_COMMAND.configure(parser)
    ctx = ctx or make_ctx()
    code = WINDOW_COMMAND.run(parser.parse_args(argv), ctx.settings)
    printed = capsys.readouterr()  # the window on stdout, an error on stderr
    return code, (json.loads(printed.out) if code == 0 else {"error": printed.err})


def test_window_command_prints_an_explicit_window(make_ctx, capsys) -> None:
    code, printed = run_window_command(
        make_ctx, capsys, ["--date", "20260424", "--start", "23:00", "--end", "01:00"])
    assert code == 0
    assert printed["stub"] == "20260424_2300_20260425_0100"
    assert printed["days"] == ["2026-04-24", "2026-04-25"] and printed["date"] == "2026-04-24"


def test_window_command_auto_mode_reads_the_state(make_ctx, capsys) -> None:
    ctx = make_ctx()
    save_last_end(ctx, datetime(2026, 4, 24, 16, 30, tzinfo=WIB))
    code, printed = run_window_command(make_ctx, capsys, [], ctx=ctx)
    assert code == 0 and printed["auto"] is True
    assert printed["start"] == "2026-04-24T16:25:00+07:00"


def test_window_command_explains_a_bad_option(make_ctx, capsys) -> None:
    code, printed = run_window_command(make_ctx, capsys, ["--date", "20260424", "--start", "9"])
    assert code == 2 and "--end" in printed["error"]
