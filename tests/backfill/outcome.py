"""What a backfill run must leave behind, read from the root, the local exchange and the mailbox.

`progress` reads the backfill's state from the ledger while the daemon runs. `end_state_problems`
lists every way the root differs from what a backfill of the history must produce: each filing
in the sink once, every day listed, nothing pending, half-written or quarantined, nothing
fetched twice beyond what a kill interrupted, and the summary emails holding every alert once.
"""

from __future__ import annotations

import json
import sqlite3
import zipfile
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from tests.backfill.history import History
from tests.e2e.checks import sink_rows, torn_files, unfinished_rows
from tests.e2e.daemon import pipeline_config
from tests.e2e.exchange import Exchange
from tests.e2e.mailbox import Mailbox

SUMMARY_PREFIX = "backfill.summary."


def backfill_config(path: Path, root: Path, exchange: Exchange,
                    **overrides: dict[str, Any]) -> Path:
    """The rate limit off, short ticks, a few small batches in flight; no live ingest."""
    tables: dict[str, dict[str, Any]] = {
        "ingest": {"enabled": False, "page_size": 100},
        "backfill": {"requests_per_minute": 0, "tick_s": 0.05, "concurrency": 4,
                     "batch_size": 5}}
    for name, table in overrides.items():
        tables[name] = {**tables.get(name, {}), **table}
    return pipeline_config(path, root, exchange.api_url, **tables)


def backfill_args(history: History) -> tuple[str, ...]:
    return ("backfill", "--from", history.first.isoformat(), "--to", history.last.isoformat())


def _kv(root: Path, key: str) -> Any:
    ledger = root / "state" / "ledger.sqlite3"
    if not ledger.exists():
        return None
    with sqlite3.connect(ledger, timeout=10) as db:
        try:
            row = db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError:  # the schema is not there yet
            return None
    return json.loads(row[0]) if row else None


def progress(root: Path) -> dict[str, Any]:
    return _kv(root, "backfill.state") or {}


def days_done(root: Path) -> int:
    return int(progress(root).get("days_done") or 0)


def summary_states(root: Path) -> dict[str, dict[str, Any]]:
    return {name: _kv(root, SUMMARY_PREFIX + name) or {}
            for name in progress(root).get("summaries") or []}


def end_state_problems(root: Path, history: History, exchange: Exchange, mailbox: Mailbox,
                       *, kills: int = 0, extra_holders: tuple[str, ...] = (),
                       summaries: int = 1) -> list[str]:
    problems = _sink_problems(root, [*history.holders, *extra_holders])
    problems += [f"ledger row left {state}: {stage} {path}"
                 for stage, path, state in unfinished_rows(root)]
    problems += torn_files(root)
    problems += [f"quarantined: {path}" for path in (root / "quarantine").rglob("*.json")]
    problems += _fetch_problems(history, exchange, kills)
    problems += _summary_problems(root, history, mailbox, summaries)
    return problems


def _sink_problems(root: Path, holders: list[str]) -> list[str]:
    stored = Counter(str(row["holder_name"]) for row in sink_rows(root))
    problems = [f"{name} stored {stored[name]} times" for name in holders if stored[name] != 1]
    return problems + [f"{name} stored but not expected" for name in set(stored) - set(holders)]


def _fetch_problems(history: History, exchange: Exchange, kills: int) -> list[str]:
    every_day = {(history.first + timedelta(days=n)).strftime("%Y%m%d")
                 for n in range((history.last - history.first).days + 1)}
    listed = Counter(listing for listing in exchange.listings if listing[0] in every_day)
    problems = [f"day {day} never listed" for day in sorted(every_day)
                if not listed[(day, 1)]]
    fetched = Counter(path for _, path in exchange.requests)
    repeats = sum(n - 1 for n in listed.values()) + sum(
        max(0, fetched[path] - 1 - (path in history.busy)) for path in history.files)
    # A kill can interrupt one listing page and one download in flight; nothing else repeats.
    if repeats > 2 * kills:
        problems.append(f"{repeats} requests repeated after {kills} kill(s)")
    return problems


def _summary_problems(root: Path, history: History, mailbox: Mailbox,
                      summaries: int) -> list[str]:
    states = list(summary_states(root).values())
    if [state.get("state") for state in states] != ["sent"] * summaries:
        return [f"summaries: {states}"]
    messages, problems = [], []
    for state in states:
        copies = [m for m in mailbox.messages()
                  if str(m["Message-ID"]).strip() == state["message_id"]]
        if not copies or len({m.as_bytes() for m in copies}) != 1:
            problems.append(f"summary {state['eml']} reached the mailbox {len(copies)} time(s), "
                            "not as one message")
        messages += copies[:1]
    if len(mailbox.raw) != len(messages):
        problems.append(f"{len(mailbox.raw) - len(messages)} other email(s): one per window?")
    problems += _alert_problems(root, history, messages)
    return problems + _zip_problems([root / state["artifact"] for state in states], root,
                                    history)


def _alert_problems(root: Path, history: History, messages: list[EmailMessage]) -> list[str]:
    first, last = f"{history.first:%Y%m%d}", f"{history.last:%Y%m%d}"
    bucketed = [path for path in sorted(root.glob("alerts_*inserted/*/*.json"))
                if first <= path.parent.name[:8] <= last]  # the live windows' are the rollover's
    attached = Counter(str(part.get_filename()) for message in messages
                       for part in message.iter_attachments())
    problems = [f"alert {path.name} attached {attached[path.name]} times" for path in bucketed
                if attached[path.name] != 1]
    codes = Counter(json.loads(path.read_text())["code"] for path in bucketed)
    if dict(codes) != history.expected_alerts:
        problems.append(f"alerts {dict(codes)}, expected {history.expected_alerts}")
    return problems


def _zip_problems(artifacts: list[Path], root: Path, history: History) -> list[str]:
    """Every filing file of the history's days is in a summary's zip."""
    names: set[str] = set()
    for artifact in artifacts:
        with zipfile.ZipFile(artifact) as archive:
            names |= set(archive.namelist())
    span = (history.first.isoformat(), history.last.isoformat() + "T99")
    filings = {path.relative_to(root).as_posix() for path in (root / "data/filings").glob("*")
               if span[0] <= json.loads(path.read_text())["announcement"]["published_at"]
               <= span[1]}
    missing = filings - names
    return [f"the summary zip lacks {len(missing)} filing file(s)"] if missing else []
