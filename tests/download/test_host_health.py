"""A file host that keeps refusing us (403, challenge pages) gets a rest: no request goes to it
for the cool-down, its attachments wait, and `idxd status` says it is blocked and since when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daemon.errors import TransientError
from handlers.adapters.host_health import HostHealth
from handlers.domain.announcements import normalize_item
from handlers.domain.source_health import blocked_lines
from handlers.domain.windows import WIB, Window
from handlers.hooks import source_health
from handlers.stages.download import handle
from tests.download.test_download import (
    ALLOW_LOCAL,
    alert_codes,
    pdfs,
    serve_pdfs,
    url_path,
    write_batch,
)
from tests.ingest.exchange import localized, raw_items


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 4, 24, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_three_refusals_in_a_row_rest_the_host_and_each_refusal_after_a_rest_doubles_it(
        make_ctx, httpserver) -> None:
    item = localized(raw_items()[:1], httpserver.url_for("/"))[0]
    path = url_path(normalize_item(item)["attachments"][0]["url"])
    for _ in range(4):
        httpserver.expect_oneshot_request(path).respond_with_data(b"denied", status=403)
    clock = Clock()
    blocked_at = clock.now
    ctx = make_ctx({"download": ALLOW_LOCAL["download"],
                    "http": {"block_after": 3, "first_cooldown_s": 300, "cooldown_s": 500}})
    ctx.clock = clock
    batch = write_batch(ctx.root, [item])

    for _ in range(4):  # three refusals, then the host rests: the fourth asks nothing
        with pytest.raises(TransientError):
            handle(batch, ctx)
    assert len(httpserver.log) == 3
    status = source_health(ctx.config, ctx.ledger.get_state)
    assert status == {"source localhost": {"at": blocked_at.isoformat(), "state": "blocked",
                                           "until": (blocked_at + timedelta(seconds=300))
                                           .isoformat()}}

    clock.now += timedelta(seconds=301)  # the first rest is over; the host still refuses
    with pytest.raises(TransientError):
        handle(batch, ctx)
    until = source_health(ctx.config, ctx.ledger.get_state)["source localhost"]["until"]
    assert until == (clock.now + timedelta(seconds=500)).isoformat()  # 600, capped at 500

    clock.now += timedelta(seconds=501)  # the rest is over and the host answers again
    serve_pdfs(httpserver, [item])
    handle(batch, ctx)
    assert len(pdfs(ctx.root, "idx-format")) == 1 and alert_codes(ctx.root) == []
    status = source_health(ctx.config, ctx.ledger.get_state)
    assert status["source localhost"]["state"] == "ok"
    assert status["source localhost"]["last_blocked_s"] == 802


def test_a_good_answer_ends_a_run_of_refusals_before_it_blocks() -> None:
    state: dict[str, object] = {}
    health = HostHealth(state.get, state.__setitem__, Clock(), block_after=3, cooldown_s=60)
    url = "https://www.idx.co.id/StaticData/x.pdf"
    health.refused(url)
    health.refused(url)
    health.answered(url)
    health.refused(url)
    health.refused(url)
    health.check(url)  # two in a row since the good answer: not blocked
    health.refused(url)
    with pytest.raises(TransientError, match=r"www\.idx\.co\.id is blocking us"):
        health.check(url)


def test_the_email_counts_only_the_minutes_a_past_block_overlapped_the_window() -> None:
    window = Window(datetime(2026, 4, 24, 16, 0, tzinfo=WIB), datetime(2026, 4, 24, 18, 0,
                                                                      tzinfo=WIB))
    state = {"last_block": {"since": "2026-04-24T15:30:00+07:00",
                            "until": "2026-04-24T16:25:00+07:00", "blocked_s": 3300}}
    later = datetime(2026, 4, 24, 19, 0, tzinfo=WIB)
    [line] = blocked_lines({"www.idx.co.id": state}, window, later, waiting_batches=2)
    assert "rested for 25 min of this window" in line and "2 announcement batch(es)" in line
    outside = {"last_block": {"since": "2026-04-24T12:00:00+07:00",
                              "until": "2026-04-24T13:00:00+07:00"}}
    assert blocked_lines({"www.idx.co.id": outside}, window, later, waiting_batches=0) == []
