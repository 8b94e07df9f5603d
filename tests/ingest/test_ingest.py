"""The ingest job against a local stand-in for the exchange."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from handlers.domain import windows
from handlers.jobs.ingest import ingest_auto, ingest_window, period_at
from handlers.jobs.ingest_state import load_last_end
from handlers.settings import load_pipeline_settings
from tests.conftest import FIXTURES
from tests.ingest.exchange import (
    FakeExchange,
    SleepRecorder,
    ingest_document,
    moved,
    multi_attachment_items,
    raw_items,
)

WIB = windows.WIB


def batch(path: Path) -> dict:
    return json.loads(path.read_text())


def announcement_files(root: Path) -> list[Path]:
    return sorted((root / "data" / "announcements").glob("*.json"))


def test_a_window_crossing_midnight_queries_both_days_and_keeps_only_the_window(
        make_ctx, httpserver) -> None:
    srtg = raw_items()[0]
    items = [moved(srtg, "2026-04-24T22:59:59", "before"), moved(srtg, "2026-04-24T23:30:00", "a"),
             moved(srtg, "2026-04-25T00:30:00", "b"), moved(srtg, "2026-04-25T01:00:01", "after")]
    exchange = FakeExchange(httpserver, items)
    ctx = make_ctx(ingest_document(exchange.url), stopping=SleepRecorder())
    window = windows.explicit(date(2026, 4, 24), "23:00", "01:00")

    path, count = ingest_window(ctx, window)

    assert {day for day, _ in exchange.requests} == {"20260424", "20260425"}
    assert path.name == "20260424_2300_20260425_0100.json"
    kept = [record["id"].rsplit("-", 1)[-1] for record in batch(path)["announcements"]]
    assert kept == ["a", "b"] and count == 2


def test_the_auto_window_resumes_from_a_real_last_run_file(make_ctx, httpserver) -> None:
    exchange = FakeExchange(httpserver, [moved(raw_items()[0], "2026-06-21T00:40:00", "x")])
    ctx = make_ctx(ingest_document(exchange.url), stopping=SleepRecorder())
    (ctx.root / "state").mkdir(parents=True)
    shutil.copy(FIXTURES / "last_run.json", ctx.root / "state" / "last_run.json")
    now = datetime(2026, 6, 21, 1, 0, tzinfo=WIB)

    assert ingest_auto(ctx, now)

    # last_end 00:18:48 minus the 5-minute overlap
    [path] = announcement_files(ctx.root)
    assert path.name == "20260621_0013_20260621_0100.json"
    assert exchange.requests == [("20260621", 1)]
    assert json.loads((ctx.root / "state" / "last_run.json").read_text()) == {
        "last_end": "2026-06-21T01:00:00+07:00"}
    assert load_last_end(ctx) == now


def test_pagination_stops_on_a_short_page_with_a_pause_between_requests(
        make_ctx, httpserver) -> None:
    exchange = FakeExchange(httpserver, raw_items())  # 5 items, pages of 2
    ctx = make_ctx(ingest_document(exchange.url), stopping=SleepRecorder())

    path, count = ingest_window(ctx, windows.whole_days(date(2026, 4, 24), date(2026, 4, 24)))

    assert exchange.requests == [("20260424", 1), ("20260424", 2), ("20260424", 3)]
    assert count == 5 and batch(path)["count"] == 5
    assert ctx.stopping.pauses_s == [0.25, 0.25]


def test_a_429_is_retried_with_backoff(make_ctx, httpserver) -> None:
    exchange = FakeExchange(httpserver, raw_items())
    exchange.fail("20260424", 1, 429)
    ctx = make_ctx(ingest_document(exchange.url), stopping=SleepRecorder())

    _, count = ingest_window(ctx, windows.whole_days(date(2026, 4, 24), date(2026, 4, 24)))

    assert count == 5
    assert exchange.requests[:2] == [("20260424", 1), ("20260424", 1)]
    # The backoff comes first, before the politeness pauses: the engine's policy waits the
    # ingest's initial backoff plus a jitter of up to as much again.
    assert 0.5 <= ctx.stopping.pauses_s[0] <= 1.0
    assert ctx.stopping.pauses_s[1:] == [0.25, 0.25]


def test_a_500_on_page_2_leaves_the_state_and_the_next_tick_succeeds(make_ctx, httpserver) -> None:
    exchange = FakeExchange(httpserver, raw_items())
    exchange.fail("20260424", 2, 500, 502, 503)  # every attempt of this tick
    ctx = make_ctx(ingest_document(exchange.url), stopping=SleepRecorder())
    seeded = {"last_end": "2026-04-24T16:00:00+07:00"}
    (ctx.root / "state").mkdir(parents=True)
    (ctx.root / "state" / "last_run.json").write_text(json.dumps(seeded))

    assert not ingest_auto(ctx, datetime(2026, 4, 24, 17, 10, tzinfo=WIB))
    assert announcement_files(ctx.root) == []
    assert json.loads((ctx.root / "state" / "last_run.json").read_text()) == seeded

    assert ingest_auto(ctx, datetime(2026, 4, 24, 17, 20, tzinfo=WIB))
    [path] = announcement_files(ctx.root)
    assert path.name == "20260424_1555_20260424_1720.json"
    assert [r["ticker"] for r in batch(path)["announcements"]] == ["ESSA", "WINR", "BYAN", "SRTG"]
    assert load_last_end(ctx) == datetime(2026, 4, 24, 17, 20, tzinfo=WIB)


def test_a_refusal_is_alerted_once_and_the_window_waits(make_ctx, httpserver) -> None:
    exchange = FakeExchange(httpserver, raw_items())
    exchange.fail("20260424", 1, 401, 401)
    ctx = make_ctx(ingest_document(exchange.url), stopping=SleepRecorder())

    for minute in (10, 20):
        assert not ingest_auto(ctx, datetime(2026, 4, 24, 17, minute, tzinfo=WIB))

    alerts = list((ctx.root / "alerts").glob("*.json"))
    assert [json.loads(a.read_text())["code"] for a in alerts] == ["ingest_failed"]
    assert load_last_end(ctx) is None
    assert exchange.requests == [("20260424", 1), ("20260424", 1)]  # a 401 is not retried


def test_a_403_from_the_cdn_is_retried_like_a_busy_server(make_ctx, httpserver) -> None:
    exchange = FakeExchange(httpserver, raw_items())
    exchange.fail("20260424", 1, 403)
    ctx = make_ctx(ingest_document(exchange.url), stopping=SleepRecorder())

    _, count = ingest_window(ctx, windows.whole_days(date(2026, 4, 24), date(2026, 4, 24)))

    assert count == 5 and list((ctx.root / "alerts").glob("*.json")) == []
    assert exchange.requests[:2] == [("20260424", 1), ("20260424", 1)]


def test_items_are_normalized_and_deduplicated_by_id(make_ctx, httpserver) -> None:
    items = multi_attachment_items()
    exchange = FakeExchange(httpserver, [*items, items[0]])  # the exchange repeats an item
    ctx = make_ctx(ingest_document(exchange.url), stopping=SleepRecorder())

    path, count = ingest_window(ctx, windows.explicit(date(2026, 7, 24), "16:00", "19:00"))

    records = {r["ticker"]: r for r in batch(path)["announcements"]}
    assert count == 6 and sorted(records) == ["DOSS", "HOME", "MKNT", "MKTR", "TOBA", "TOTO"]
    toba = records["TOBA"]
    assert len(toba["attachments"]) == 4
    assert [a["is_main"] for a in toba["attachments"]].count(True) == 1
    assert next(a for a in toba["attachments"] if a["is_main"])["original_name"].endswith(
        "_32114321.pdf")
    assert len(records["MKTR"]["attachments"]) == 1  # PdfPath is a single object there
    assert records["TOTO"]["is_correction"] and records["TOTO"]["raw"]["Code"].startswith("TOTO ")
    assert records["TOTO"]["published_at"] == "2026-07-24T18:53:35+07:00"


def test_an_unchanged_window_is_not_rewritten(make_ctx, httpserver) -> None:
    exchange = FakeExchange(httpserver, raw_items())
    ctx = make_ctx(ingest_document(exchange.url), stopping=SleepRecorder())
    window = windows.explicit(date(2026, 4, 24), "13:00", "18:00")
    path, _ = ingest_window(ctx, window)
    first = path.stat().st_mtime_ns, path.read_bytes()

    ingest_window(ctx, window)

    assert (path.stat().st_mtime_ns, path.read_bytes()) == first


def test_a_poll_of_a_short_window_stops_paging_once_it_reaches_before_the_window(
        make_ctx, httpserver) -> None:
    srtg = raw_items()[0]
    newest_first = [moved(srtg, f"2026-04-24T{hour:02d}:00:00", f"h{hour}")
                    for hour in range(17, 5, -1)]  # 12 items, one an hour, newest first
    exchange = FakeExchange(httpserver, newest_first)
    ctx = make_ctx(ingest_document(exchange.url), stopping=SleepRecorder())

    path, count = ingest_window(ctx, windows.explicit(date(2026, 4, 24), "15:30", "17:30"))

    kept = [record["id"].rsplit("-", 1)[-1] for record in batch(path)["announcements"]]
    assert count == 2 and kept == ["h16", "h17"]
    assert exchange.requests == [("20260424", 1), ("20260424", 2)]  # not all six pages


@pytest.mark.parametrize(("moment", "period"), [
    ("2026-04-24T10:00:00+07:00", 30.0),   # a Friday while the exchange publishes
    ("2026-04-24T05:59:00+07:00", 300.0),  # before publishing hours
    ("2026-04-24T22:00:00+07:00", 300.0),  # after them
    ("2026-04-25T10:00:00+07:00", 300.0),  # a Saturday
    ("2026-04-24T03:00:00+00:00", 30.0),   # 10:00 WIB, the clock given in UTC
])
def test_the_poll_comes_every_30_s_while_the_exchange_publishes(moment: str,
                                                                period: float) -> None:
    settings = load_pipeline_settings({}, {}).ingest
    assert period_at(settings, datetime.fromisoformat(moment)) == period


def test_a_shorter_period_setting_wins_at_any_hour() -> None:
    settings = load_pipeline_settings({"ingest": {"period_s": 1.0}}, {}).ingest
    assert period_at(settings, datetime.fromisoformat("2026-04-25T03:00:00+07:00")) == 1.0
