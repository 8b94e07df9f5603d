"""Where the last ingested end is kept: the ledger's key-value table, mirrored to a file.

The last ingested end is the WIB instant up to which announcements are safely on disk. It lives
in the ledger (key `ingest.last_end`) and is mirrored to `state/last_run.json` in the
original's format (`{"last_end": "...+07:00"}`) so operators can read it; an existing
`last_run.json` (left by the original, or written by an operator) seeds the ledger when it holds
no value yet.

Beside it, `ingest.health` keeps what `idxd status` needs to tell a failing ingest from an idle
one: the last attempt, the last success, the last error and how many attempts in a row failed.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from daemon.files import write_json_atomic
from daemon.logs import get_logger
from handlers import paths
from handlers.context import PipelineContext
from handlers.domain.windows import parse_instant, to_wib

STATE_KEY = "ingest.last_end"
HEALTH_KEY = "ingest.health"
log = get_logger()


def load_last_end(ctx: PipelineContext) -> datetime | None:
    """The ledger's value first; else a `last_run.json` from the original or an operator."""
    state = ctx.ledger.get_state(STATE_KEY)
    if isinstance(state, dict) and isinstance(state.get("last_end"), str):
        return parse_instant(state["last_end"])
    return _read_last_run(ctx.root / paths.LAST_RUN)


def save_last_end(ctx: PipelineContext, end: datetime, *, stub: str | None = None) -> None:
    """Record `end`; call only once the window's announcements file is durable."""
    wib_end = to_wib(end).isoformat()
    ctx.ledger.set_state(STATE_KEY, {"last_end": wib_end, "window": stub,
                                     "updated_at": ctx.now().isoformat()})
    write_json_atomic(ctx.root / paths.LAST_RUN, {"last_end": wib_end}, durable=ctx.durable)


def _read_last_run(path: Path) -> datetime | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8")).get("last_end")
        return parse_instant(raw) if isinstance(raw, str) else None
    except FileNotFoundError:
        return None
    except (ValueError, AttributeError) as error:
        # A damaged state file must not stop ingestion; the default look-back takes over.
        log.warning("ingest.state_unreadable", path=str(path), error=str(error))
        return None


def record_attempt(ctx: PipelineContext, error: str | None) -> None:
    """One ingest attempt's outcome: `error` is None for a success, else one short phrase."""
    health = ctx.ledger.get_state(HEALTH_KEY)
    health = dict(health) if isinstance(health, dict) else {}
    now = ctx.now().isoformat()
    health["last_attempt_at"] = now
    if error is None:
        health.update(last_success_at=now, consecutive_failures=0)
    else:
        health.update(last_error=error, last_error_at=now,
                      consecutive_failures=int(health.get("consecutive_failures", 0)) + 1)
    ctx.ledger.set_state(HEALTH_KEY, health)
