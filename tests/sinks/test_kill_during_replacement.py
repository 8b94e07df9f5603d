"""SIGKILL between the history write and the replacement, on every sink: after the restart the
document has exactly one active row (the new version) and one history row (the old one).

A real child process runs the generate stage and kills itself with SIGKILL right after the
history row was written (tests/sinks/kill_child.py). SQLite and PostgreSQL write both in one
transaction, so the kill leaves the old version active and no history; Supabase has no
transaction over PostgREST, so the history row is there, and the replay (the same file run
again, as the restarted daemon does) writes it no second time and replaces the row.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from handlers.stages import generate
from tests.e2e.daemon import REPO
from tests.filings.forms import drop
from tests.sinks.documents import LK, hand_dropped
from tests.sinks.every_sink import SinkUnderTest


def test_a_kill_between_history_and_replacement_leaves_one_active_row(
        sink: SinkUnderTest) -> None:
    path = drop(sink.ctx.root, f"{LK}.json", hand_dropped(sold=920_000_000))
    generate.handle(path, sink.ctx)
    path.write_text(json.dumps(hand_dropped(sold=900_000_000)))
    child = subprocess.run(
        [sys.executable, "-m", "tests.sinks.kill_child", str(sink.ctx.root), str(path)],
        cwd=REPO, capture_output=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO), "SINK_ENV": json.dumps(dict(sink.env))})
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    (row,) = sink.active()  # killed: still the old version, alone
    assert row["amount_transaction"] == 920_000_000
    assert len(sink.history()) == (1 if sink.name == "supabase" else 0)
    (output,) = [p for p in generate.handle(path, sink.ctx) if p.parent.name == "filings"]
    (row,) = sink.active()
    assert row["amount_transaction"] == 900_000_000
    (kept,) = sink.history()
    assert kept["previous"]["amount_transaction"] == 920_000_000
    assert json.loads(output.read_text())["filings"][0]["outcome"] == "superseded"
