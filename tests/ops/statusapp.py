"""The engine's test application with a status hook, as the IDX pipeline has one."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.engine import testapp

LAST_INGEST_AT = "2026-11-27T10:00:00+00:00"


def status_extras(_settings: Any, get_state: Any) -> dict[str, dict[str, Any]]:
    """Two timed facts, and whatever the ledger holds under `app.extra.<name>`: a fact the
    engine knows nothing about (a backfill's progress), shown as it comes."""
    extras = {key.removeprefix("app.extra."): value for key in (get_state("app.extras") or [])
              if isinstance(value := get_state(key), dict)}
    return {"last_ingest": {"at": LAST_INGEST_AT},
            "last_email": {"at": get_state("app.last_email")}, **extras}


APP = replace(testapp.APP, status_extras=status_extras)
