"""Bucketize: each alert copied under its category and the 2-hour WIB window of its
announcement (or of its arrival when it has none)."""

from __future__ import annotations

import json

import pytest

from daemon.errors import RejectedInput
from handlers.app import APP
from handlers.domain.alerts import build_alert, write_alert
from handlers.stages import bucketize, generate
from tests.filings.forms import drop, form, row


def alert_file(ctx, category="not_inserted", published=None, timestamp="2026-04-24T03:00:00Z"):
    announcement = {"id": "a1", "published_at": published} if published else None
    alert = build_alert(code="holdings_mismatch", timestamp=timestamp, category=category,
                        doc={"filename": "lk-1.pdf"}, announcement=announcement)
    return write_alert(ctx.root, alert, durable=False)


def test_files_by_category_and_announcement_window(make_ctx):
    ctx = make_ctx()
    path = alert_file(ctx, published="2026-04-24T17:03:00+07:00")
    (target,) = bucketize.handle(path, ctx)
    assert target == ctx.root / "alerts_not_inserted" / "20260424_1600_20260424_1800" / path.name
    assert target.read_bytes() == path.read_bytes() and path.exists()  # input left in place


def test_naive_publish_time_is_wib(make_ctx):
    ctx = make_ctx()
    path = alert_file(ctx, category="inserted", published="2026-04-24T18:00:00")
    (target,) = bucketize.handle(path, ctx)
    assert target.parent == ctx.root / "alerts_inserted" / "20260424_1800_20260424_2000"


@pytest.mark.parametrize(("timestamp", "stub"), [
    ("2026-04-24T10:59:59+00:00", "20260424_1600_20260424_1800"),  # 17:59:59 WIB
    ("2026-04-24T11:00:00Z", "20260424_1800_20260424_2000"),  # 18:00 WIB opens the next one
    ("2026-04-24T17:30:00+00:00", "20260425_0000_20260425_0200"),  # after midnight in WIB
])
def test_without_announcement_the_arrival_decides(make_ctx, timestamp, stub):
    ctx = make_ctx()
    (target,) = bucketize.handle(alert_file(ctx, timestamp=timestamp), ctx)
    assert target.parent.name == stub


def test_running_twice_changes_nothing(make_ctx):
    ctx = make_ctx()
    path = alert_file(ctx, published="2026-04-24T17:03:00+07:00")
    first = bucketize.handle(path, ctx)
    assert bucketize.handle(path, ctx) == first
    assert len(list(first[0].parent.iterdir())) == 1


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", json.dumps({"category": "other",
                                                                        "timestamp": "x"})])
def test_unusable_alert_is_rejected(make_ctx, content):
    ctx = make_ctx()
    path = ctx.root / "alerts" / "bad.json"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(RejectedInput):
        bucketize.handle(path, ctx)


def test_generated_alerts_flow_into_their_buckets(make_ctx):
    ctx = make_ctx()
    record = form([row("sell", 100, "1770")], 1000, 950)  # holdings do not add up
    _, alert_path = generate.handle(drop(ctx.root, "bad.json", record), ctx)
    stage = APP.stage_for(f"alerts/{alert_path.name}")
    assert stage is not None and stage.name == "bucketize"
    (target,) = stage.handler(alert_path, ctx)
    assert target.relative_to(ctx.root).parts[:2] == ("alerts_not_inserted",
                                                      "20260424_1600_20260424_1800")
    assert APP.stage_for("data/parsed/bad.json").name == "generate"
