"""A crash between a sink's insert and the outcome file, then the replay, for every sink: the
row is stored once, the replay says `inserted` (it was this file's insert), and replaying again
writes the same outcome file byte for byte.

The power cut is simulated by making the outcome write fail after the insert went through;
each sink is counted from outside its own code (SQL, the stand-in's rows) where it can be.
"""

from __future__ import annotations

import json

import pytest

from handlers.stages import generate
from tests.filings.forms import drop, examples, from_example
from tests.sinks.every_sink import SinkUnderTest


def test_a_replay_after_a_crash_between_insert_and_outcome_stores_one_row(
        sink: SinkUnderTest, monkeypatch) -> None:
    ctx = sink.ctx
    path = drop(ctx.root, "srtg.json", from_example(examples()[0]))
    with monkeypatch.context() as patch:
        patch.setattr(generate, "write_scrubbed_json", _crash)
        with pytest.raises(OSError):
            generate.handle(path, ctx)  # inserted, then the crash: no outcome, no ledger entry
    assert sink.stored() == 1  # the insert happened, the outcome was never written
    (output,) = generate.handle(path, ctx)
    first = output.read_bytes()
    assert [f["outcome"] for f in json.loads(first)["filings"]] == ["inserted"]
    assert generate.handle(path, ctx)[0].read_bytes() == first
    assert sink.stored() == 1
    sink.check_reads()


def _crash(*_args, **_kwargs):
    raise OSError("power cut")
