"""What storing a document's filings does to the rows already stored: the plan, decided before
any write, from the rows of the issuer and of the document that the sink holds.

Per filing, by its key (`identity.filing_key`):
- stored already, from a row with no announcement, and this arrival has one: the row takes the
  arrival's context (`context_updated`; the row as it was goes to history);
- stored already from this document: other figures are a new version (`superseded`, in
  place); the same figures are a replay of this file (`inserted`, as its first run said) or
  the document arriving another way with nothing new (`already_present`);
- stored already from another document: `already_present`;
- new, and this document had another filing stored: the new version replaces it
  (`superseded`); a correction form replaces the filing it names, or the holder's filing it
  matches (overlapping transaction dates, else the same holdings) (`superseded`);
- otherwise `inserted`.
Rows of the document that no new filing restates are retired to history. Nothing here writes:
the generate stage applies the plan through the sink.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from handlers.domain.filings.identity import (
    CONTEXT_COLUMNS,
    FORM_FIELDS,
    changes,
    filing_key,
    has_context,
    history_key,
    normalize_holder,
    row_dates,
    snapshot,
)

INSERT, KEEP, CONTEXT, SUPERSEDE = "insert", "keep", "context", "supersede"
INSERTED, PRESENT = "inserted", "already_present"
CONTEXT_UPDATED, SUPERSEDED = "context_updated", "superseded"
NEW_CONTENT, CORRECTION, CONTEXT_REASON, RETIRED = "new_content", "correction", "context", \
    "retired"
Row = Mapping[str, Any]


@dataclass(frozen=True)
class Plan:
    action: str  # insert | keep | context | supersede
    outcome: str
    previous: Row | None = None  # the stored row this filing updates or replaces
    changes: dict[str, list[Any]] = field(default_factory=dict)
    reason: str | None = None  # why a history row is written: context | new_content | correction
    mine: bool = False  # stored by this very file (an earlier run may have replaced a version)


@dataclass(frozen=True)
class Document:
    key: str  # identity.document_key
    correction: bool
    named: frozenset[str] = frozenset()  # documents a correction names


def plan(rows: Sequence[Row], stored: Sequence[Row], document: Document
         ) -> tuple[list[Plan], list[Row]]:
    """(one plan per row, the stored rows of the document to retire)."""
    by_key = {identity_of(r): r for r in stored}
    own = {str(r["dedup_key"]) for r in rows}
    stale = [r for r in stored
             if r.get("document_key") == document.key and identity_of(r) not in own]
    plans: list[Plan] = []
    for row in rows:
        found = by_key.get(str(row["dedup_key"]))
        if found is not None:
            plans.append(_known(row, found, document))
            continue
        previous, reason = _take(stale, row), NEW_CONTENT
        if previous is None and document.correction:
            # A stored row is replaced once: a second leg of the correction is a new filing.
            taken = {id(p.previous) for p in plans if p.previous is not None}
            untaken = [r for r in stored if id(r) not in taken]
            previous, reason = correction_target(untaken, row, document), CORRECTION
        plans.append(_replacing(row, previous, reason))
    return plans, stale


def identity_of(stored: Row) -> str:
    """A stored row's identity, recomputed from its columns: a row stored under an older key
    formula (or by another tool) is still recognised as the filing it is."""
    try:
        return filing_key(stored)
    except (KeyError, TypeError, ValueError):
        return str(stored["dedup_key"])


def _known(row: Row, found: Row, document: Document) -> Plan:
    if not has_context(found) and has_context(row):
        # The announced arrival's figures are the ones kept, should any differ (a price).
        moved = changes(found, row, (*CONTEXT_COLUMNS, *FORM_FIELDS))
        if found.get("document_key") != document.key:
            moved["document_key"] = [found.get("document_key"), document.key]
        return Plan(CONTEXT, CONTEXT_UPDATED, found, moved, CONTEXT_REASON)
    same_arrival = found.get("source") == row["source"]  # this very file, run again
    if not (same_arrival or found.get("document_key") == document.key):
        return Plan(KEEP, PRESENT, found)
    differing = changes(found, row)
    if differing:  # new figures outside the key (a price) for the same document
        return Plan(SUPERSEDE, SUPERSEDED, found, differing, NEW_CONTENT)
    if same_arrival:
        return Plan(KEEP, INSERTED, found, mine=True)
    return Plan(KEEP, PRESENT, found)  # the document again by another way, nothing new


def _replacing(row: Row, previous: Row | None, reason: str) -> Plan:
    if previous is None:
        return Plan(INSERT, INSERTED)
    return Plan(SUPERSEDE, SUPERSEDED, previous, changes(previous, row), reason)


def _take(stale: list[Row], row: Row) -> Row | None:
    """The document's older row this one replaces: of the same type first."""
    same = [r for r in stale if r.get("transaction_type") == row["transaction_type"]]
    candidates = same or stale
    if not candidates:
        return None
    stale.remove(candidates[0])
    return candidates[0]


def correction_target(stored: Sequence[Row], row: Row, document: Document) -> Row | None:
    """The holder's filing a correction replaces: one it names, else one whose transaction
    dates overlap its own, else one with the same holdings; the latest of them."""
    holder = normalize_holder(str(row["holder_name"]))
    theirs = [r for r in stored if r.get("symbol") == row["symbol"]
              and r.get("document_key") != document.key
              and normalize_holder(str(r.get("holder_name") or "")) == holder]
    dates, holdings = set(row_dates(row)), _holdings(row)
    for found in ([r for r in theirs if r.get("document_key") in document.named],
                  [r for r in theirs if dates & set(row_dates(r))],
                  [r for r in theirs if _holdings(r) == holdings]):
        if found:
            return max(found, key=lambda r: int(r.get("id") or 0))
    return None


def _holdings(row: Row) -> tuple[int, int]:
    return int(row["holding_before"]), int(row["holding_after"])


def latest_of_holder(stored: Sequence[Row], symbol: str, holder_name: str,
                     document: Document) -> Row | None:
    """The holder's latest filing in the issuer from another document, or one the correction
    names: what a correction that restates only the holdings corrects."""
    holder = normalize_holder(holder_name)
    theirs = [r for r in stored if r.get("symbol") == symbol
              and r.get("document_key") != document.key
              and normalize_holder(str(r.get("holder_name") or "")) == holder]
    named = [r for r in theirs if r.get("document_key") in document.named]
    return max(named or theirs, key=lambda r: int(r.get("id") or 0), default=None)


def history_entry(previous: Row, row: Row, reason: str,
                  changed: Mapping[str, list[Any]]) -> dict[str, Any]:
    """The history row that keeps `previous` as it was, replaced by `row`."""
    return {"history_key": history_key(previous, str(row["dedup_key"]), reason),
            "filing_id": previous.get("id"), "dedup_key": previous["dedup_key"],
            "superseded_by": row["dedup_key"], "document_key": row.get("document_key"),
            "source": row.get("source"), "reason": reason, "changes": dict(changed),
            "previous": snapshot(previous)}


def replayed(entries: Sequence[Row], row: Row) -> Row | None:
    """The transition that stored `row` as it is now, when an earlier run of this very file
    wrote it (a replay after a crash must tell the same outcome)."""
    found = [e for e in entries if e.get("superseded_by") == row["dedup_key"]
             and e.get("source") == row.get("source") and e.get("reason") != RETIRED]
    return max(found, key=lambda e: int(e.get("id") or 0), default=None)
