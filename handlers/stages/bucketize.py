"""The bucketize stage: file each alert under the email window and category it belongs to.

An alert in `alerts/` is copied, atomically and under the same name, to
`alerts_inserted/<window>/` or `alerts_not_inserted/<window>/`. The window is the aligned WIB
email window (2 hours by default) containing its announcement's publish time, or, for an alert
with no announcement (a file dropped by hand, an ingest failure), the alert's own timestamp.
The alert itself stays where it is: handlers never move their input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from daemon.errors import RejectedInput
from daemon.files import input_content, write_atomic
from daemon.logs import get_logger
from handlers import paths
from handlers.context import PipelineContext
from handlers.domain.alerts import alert_instant
from handlers.domain.windows import aligned_window

log = get_logger()


def handle(path: Path, ctx: PipelineContext) -> list[Path]:
    data = input_content(path)  # read once: parsed here, copied as it is below
    alert = read_alert(path.name, data)
    bucket = paths.BUCKETS.get(str(alert.get("category")))
    if bucket is None:
        raise RejectedInput("alert_invalid", f"{path.name} has no known category",
                            {"category": alert.get("category")})
    window = aligned_window(alert_instant(alert, path), email_period_s(ctx))
    target = write_atomic(ctx.root / bucket / window.stub / path.name, data, durable=ctx.durable)
    log.info("alert.bucketized", path=path.name, bucket=bucket, window=window.stub)
    return [target]


def read_alert(name: str, data: bytes) -> dict[str, Any]:
    try:
        alert = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise RejectedInput("alert_invalid", f"{name} is not JSON: {error}") from error
    if not isinstance(alert, dict):
        raise RejectedInput("alert_invalid", f"{name} is not one alert object")
    return alert


def email_period_s(ctx: PipelineContext) -> int:
    """The email window length: the rollover's setting, so buckets and emails agree."""
    return int(ctx.config.rollover.period_s)
