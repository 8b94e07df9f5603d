"""The holding chain: a filing's holding before should be the holder's last holding after.

Filings of one holder in one issuer form a chain: each starts where the one before it ended. A
gap means a filing was missed or is wrong, and it is reported (`holding_chain_break`, with both
filings and the missing share count), never repaired. The filing before is the holder's latest
stored filing in that issuer (holder names normalized) that is not dated after this one, so a
late filing of an earlier date is compared with what came before it, not after.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from handlers.domain.filings.identity import canonical, normalize_holder, row_dates

Row = Mapping[str, Any]


def previous_filing(stored: Iterable[Row], row: Row, excluded: set[str]) -> Row | None:
    """The holder's latest stored filing in the issuer not dated after `row`; rows whose
    `dedup_key` is in `excluded` (this document's, the ones it replaces) are not candidates."""
    holder, first_day = normalize_holder(str(row["holder_name"])), _first_day(row)
    candidates = [r for r in stored
                  if r.get("symbol") == row["symbol"] and r.get("dedup_key") not in excluded
                  and normalize_holder(str(r.get("holder_name") or "")) == holder
                  and _last_day(r) <= first_day]
    return max(candidates, key=_order, default=None)


def chain_break(previous: Row | None, row: Row) -> dict[str, Any] | None:
    """The alert details when `row` does not start where `previous` ended, else None."""
    if previous is None:
        return None
    ended, starts = int(previous["holding_after"]), int(row["holding_before"])
    if ended == starts:
        return None
    return {
        "previous": {"key": previous["dedup_key"], "holding_after": ended,
                     "timestamp": canonical("timestamp", previous.get("timestamp"))},
        "current": {"key": row["dedup_key"], "holding_before": starts,
                    "timestamp": canonical("timestamp", row.get("timestamp"))},
        "missing_shares": starts - ended,
        "symbol": row["symbol"], "holder_name": row["holder_name"],
    }


def _first_day(row: Row) -> str:
    dates = row_dates(row)
    return dates[0] if dates else str(canonical("timestamp", row.get("timestamp")) or "")[:10]


def _last_day(row: Row) -> str:
    dates = row_dates(row)
    return dates[-1] if dates else str(canonical("timestamp", row.get("timestamp")) or "")[:10]


def _order(row: Row) -> tuple[str, str, int]:
    return (_last_day(row), str(canonical("timestamp", row.get("timestamp")) or ""),
            int(row.get("id") or 0))
