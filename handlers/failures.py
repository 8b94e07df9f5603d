"""How the pipeline reports a file the engine quarantined: one alert in the common schema."""

from __future__ import annotations

from typing import Any

from daemon.stages import Failure
from handlers.alerts import build_alert, write_alert
from handlers.context import PipelineContext

# An alert file that cannot be bucketized must not raise another alert about itself.
SILENT_STAGES = frozenset({"bucketize"})


def report_failure(ctx: PipelineContext, failure: Failure) -> None:
    if failure.stage in SILENT_STAGES:
        return
    details: dict[str, Any] = {
        "error_type": failure.error_type,
        "attempts": failure.attempts,
        "quarantine_path": failure.quarantine_path,
        "sha256": failure.sha256,
        **failure.details,
    }
    doc = failure.details.get("doc") or {"filename": failure.source_path.rsplit("/", 1)[-1]}
    details.pop("doc", None)
    announcement = details.pop("announcement", None)
    alert = build_alert(
        code=failure.code, timestamp=ctx.now().isoformat(), message=failure.message,
        doc=doc, announcement=announcement, details=details,
    )
    write_alert(ctx.root, alert, durable=ctx.durable)
