"""The bucketize stage: file each alert under the email window and category it belongs to.

An alert in `alerts/` is copied, atomically and under the same name, to
`alerts_inserted/<window>/` or `alerts_not_inserted/<window>/`. The window is the aligned WIB
email window (2 hours by default) containing its announcement's publish time, or, for an alert
with no announcement (a file dropped by hand, an ingest failure), the alert's own timestamp.
The alert itself stays where it is: handlers never move their input.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

from daemon.errors import RejectedInput
from daemon.files import copy_atomic
from handlers.alerts import INSERTED, NOT_INSERTED
from handlers.context import PipelineContext
from handlers.filing import publish_time
from handlers.windows import aligned_window, to_wib

BUCKETS = {INSERTED: "alerts_inserted", NOT_INSERTED: "alerts_not_inserted"}
log = structlog.get_logger()


def handle(path: Path, ctx: PipelineContext) -> list[Path]:
    alert = read_alert(path)
    bucket = BUCKETS.get(str(alert.get("category")))
    if bucket is None:
        raise RejectedInput("alert_invalid", f"{path.name} has no known category",
                            {"category": alert.get("category")})
    window = aligned_window(alert_instant(alert, path), email_period_s(ctx))
    target = copy_atomic(path, ctx.path(bucket, window.stub, path.name), durable=ctx.durable)
    log.info("alert.bucketized", path=path.name, bucket=bucket, window=window.stub)
    return [target]


def read_alert(path: Path) -> dict[str, Any]:
    try:
        alert = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as error:
        raise RejectedInput("alert_invalid", f"{path.name} is not JSON: {error}") from error
    if not isinstance(alert, dict):
        raise RejectedInput("alert_invalid", f"{path.name} is not one alert object")
    return alert


def alert_instant(alert: dict[str, Any], path: Path) -> datetime:
    """The announcement's publish time, else the alert's timestamp (its arrival)."""
    context = alert.get("context")
    announcement = context.get("announcement") if isinstance(context, dict) else None
    published = publish_time(announcement if isinstance(announcement, dict) else None)
    if published is not None:
        return published
    try:
        return to_wib(datetime.fromisoformat(str(alert["timestamp"]).replace("Z", "+00:00")))
    except (KeyError, ValueError) as error:
        raise RejectedInput("alert_invalid", f"{path.name} has no usable timestamp") from error


def email_period_s(ctx: PipelineContext) -> int:
    """The email window length: the rollover's setting, so buckets and emails agree."""
    return int(ctx.config.rollover.period_s)
