"""ctx.company_map.rows: what the parser and generator read, and the original's checksum."""

from __future__ import annotations

import json

from handlers.adapters.company_map import checksum, save_cache
from tests.conftest import FIXTURES


def test_checksum_reproduces_the_bundled_meta() -> None:
    rows = json.loads((FIXTURES / "company" / "company_map.json").read_text())
    meta = json.loads((FIXTURES / "company" / "company_map.meta.json").read_text())
    assert checksum(rows) == meta["checksum"]


def test_checksum_changes_when_a_price_changes() -> None:
    rows = json.loads((FIXTURES / "company" / "company_map.json").read_text())
    before = checksum(rows)
    rows["SRTG.JK"] = {**rows["SRTG.JK"], "last_close_price": 1.0}
    assert checksum(rows) != before


def test_current_map_falls_back_to_the_bundled_snapshot(make_ctx) -> None:
    ctx = make_ctx()
    company = ctx.company_map.rows["SRTG.JK"]
    assert company["company_name"].startswith("PT Saratoga")
    assert len(ctx.company_map.rows) == 957


def test_current_map_prefers_the_cache_and_follows_a_save(make_ctx) -> None:
    ctx = make_ctx()
    row = {"company_name": "PT New Listing Tbk", "sector": "Energy", "sub_sector": "Oil",
           "last_close_price": 100.0, "latest_close_date": "2026-05-01"}
    ctx.use_company_map(save_cache(ctx.root, {"NEWX.JK": row}, {"row_count": 1}))
    assert ctx.company_map.rows == {"NEWX.JK": row}
    assert list(make_ctx(root=ctx.root).company_map.rows) == ["NEWX.JK"]
