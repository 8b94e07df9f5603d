"""Exactly once: re-running a parsed file stores nothing twice and writes the same outcome file
(a replay after a crash, for every sink: tests/sinks/test_replay_after_a_crash.py)."""

from __future__ import annotations

import json

from handlers.stages import generate
from tests.filings.forms import drop, examples, form, from_example, row


def test_same_file_twice_leaves_one_row_and_identical_outputs(make_ctx):
    ctx = make_ctx()
    path = drop(ctx.root, "byan.json", from_example(examples()[1]))
    first = generate.handle(path, ctx)
    content = first[0].read_bytes()
    second = generate.handle(path, ctx)
    assert second == first and second[0].read_bytes() == content
    assert len(ctx.sink.rows()) == 1


def test_same_filing_from_another_document_is_already_present(make_ctx):
    ctx = make_ctx()
    generate.handle(drop(ctx.root, "a.json", from_example(examples()[0])), ctx)
    again = from_example(examples()[0])
    again["announcement"]["url"] = "https://www.idx.co.id/x/LK-24042026-7431-01.pdf"
    # A changed price never sneaks a duplicate in: it is not part of the key.
    again["rows"][0]["price"] = "1771"
    (output,) = generate.handle(drop(ctx.root, "b.json", again), ctx)
    record = json.loads(output.read_text())
    assert [f["outcome"] for f in record["filings"]] == ["already_present"]
    assert len(ctx.sink.rows()) == 1


def test_warning_alert_is_written_once(make_ctx):
    ctx = make_ctx()
    path = drop(ctx.root, "w.json", form([row("sell", 100, "2600")], 1000, 900))
    first = generate.handle(path, ctx)
    second = generate.handle(path, ctx)
    assert first == second and len(list((ctx.root / "alerts").iterdir())) == 1
