"""The real records of 24 April 2026 (SRTG, BYAN) give the rows the original stored."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from handlers.stages import generate
from tests.filings.forms import drop, examples, expected_filings, from_example

# Columns compared as numbers: the original stored floats, idxd stores exact decimals.
NUMERIC = ("holding_before", "holding_after", "amount_transaction", "share_percentage_before",
           "share_percentage_after", "share_percentage_transaction", "price",
           "transaction_value")
TEXT = ("symbol", "holder_name", "transaction_type", "title", "body", "source", "sector",
        "sub_sector")
HOLDER_TYPES = {"Unitras Pertama": "institution", "Oliver Khaw Kar Heng": "insider"}


@pytest.fixture
def stored(make_ctx):
    ctx = make_ctx()
    outputs = [generate.handle(drop(ctx.root, f"form-{i}.json", from_example(ex)), ctx)
               for i, ex in enumerate(examples())]
    return ctx, outputs, ctx.sink.rows()


def test_rows_match_the_original_in_every_database_column(stored):
    _, _, rows = stored
    assert len(rows) == 2
    for row, want in zip(rows, expected_filings(), strict=True):
        for column in TEXT:
            assert row[column] == want[column], column
        for column in NUMERIC:
            assert Decimal(str(row[column])) == Decimal(str(want[column])), column
        assert row["tags"] == want["tags"]
        # Same instant; the original's JSON wrote it with a "T" too.
        assert row["timestamp"] == want["timestamp"]
        assert [_price_row(p) for p in row["price_transaction"]] == \
               [_price_row(p) for p in want["price_transaction"]]
        # Deliberate differences. Conglomerate and investor slugs are not linked (Part 1, "Not
        # in scope now"), so `idx_conglomerates_group_slug` stays empty. The original called
        # "Unitras Pertama", a company whose SID name lacks "PT", an insider.
        assert row["holder_type"] == HOLDER_TYPES[row["holder_name"]]
        assert row["idx_conglomerates_group_slug"] is None


def test_outcome_file_lists_each_filing_as_inserted(stored):
    _, outputs, _ = stored
    record = json.loads(Path(outputs[0][0]).read_text())
    assert [f["outcome"] for f in record["filings"]] == ["inserted"]
    assert record["filings"][0]["row"]["price"] == "1770.000"
    assert record["alerts"] == []  # a clean filing raises nothing


def _price_row(entry):
    return (entry["date"], entry["type"], Decimal(str(entry["price"])),
            entry["amount_transacted"])
