"""Refreshing the company map from Supabase, staleness, offline fallback, the command."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

import pytest

from handlers.adapters import company_map as cmap
from handlers.adapters.company_source import SourceUnavailable
from handlers.commands.company_map import COMPANY_MAP_COMMAND
from handlers.jobs import company_refresh as refresher
from tests.company_map.fake_supabase import (
    SERVICE_KEY,
    FakeSupabase,
    recorded_rows,
    supabase_env,
)
from tests.conftest import FIXTURES

NOW = datetime(2026, 4, 24, 12, 0, tzinfo=UTC)
UNREACHABLE = {"SUPABASE_URL": "http://127.0.0.1:9", "SUPABASE_KEY": SERVICE_KEY}
PAGED = {"company_map": {"page_size": 400}}


def bundled_meta() -> dict:
    return json.loads((FIXTURES / "company" / "company_map.meta.json").read_text())


def seed_cache(ctx, generated_at: datetime, rows: dict | None = None) -> None:
    rows = rows or {"AAAA.JK": {"company_name": "PT A Tbk", "sector": "Energy",
                                "sub_sector": "Oil", "last_close_price": 10.0,
                                "latest_close_date": "2026-04-01"}}
    meta = cmap.build_meta(rows, source="test", table="idx_company_report",
                           generated_at=generated_at)
    ctx.use_company_map(cmap.save_cache(ctx.root, rows, meta))


def test_a_refresh_pages_through_the_table_and_reproduces_the_bundled_checksum(
        make_ctx, httpserver) -> None:
    source = FakeSupabase(httpserver, recorded_rows())
    ctx = make_ctx(PAGED, supabase_env(source.url))

    loaded = refresher.refresh(ctx, NOW)

    assert source.offsets() == [0, 400, 800]
    assert loaded.meta["checksum"] == bundled_meta()["checksum"]
    assert loaded.meta["row_count"] == 957 and loaded.meta["generated_at"] == "2026-04-24T12:00:00Z"
    on_disk = json.loads(cmap.cache_paths(ctx.root)[1].read_text())
    assert on_disk["checksum"] == bundled_meta()["checksum"]
    assert ctx.company_map.rows["SRTG.JK"]["sector"] == "Financials"
    assert source.requests[0].args["select"] == "symbol,company_name,sector,sub_sector," \
                                                "last_close_price,latest_close_date"


def test_a_stale_map_is_refreshed_by_the_timer_and_a_fresh_one_is_not(
        make_ctx, httpserver) -> None:
    source = FakeSupabase(httpserver, recorded_rows())
    ctx = make_ctx(PAGED, supabase_env(source.url))
    seed_cache(ctx, NOW - timedelta(hours=11))

    refresher.run_timer(ctx, NOW)
    assert source.requests == [] and list(ctx.company_map.rows) == ["AAAA.JK"]

    refresher.run_timer(ctx, NOW + timedelta(hours=1, minutes=1))
    assert len(ctx.company_map.rows) == 957
    assert ctx.company_map.meta["generated_at"] == "2026-04-24T13:01:00Z"


def test_get_keeps_the_cache_when_the_row_count_is_unchanged(make_ctx, httpserver) -> None:
    source = FakeSupabase(httpserver, recorded_rows())
    ctx = make_ctx(PAGED, supabase_env(source.url))
    refresher.refresh(ctx, NOW)
    source.requests.clear()

    loaded, how = refresher.get(ctx, NOW)

    assert how == "cache" and len(loaded.rows) == 957
    assert len(source.requests) == 1 and "count=exact" in source.requests[0].headers["Prefer"]


def test_an_unreachable_source_falls_back_to_the_cache(make_ctx, capsys) -> None:
    ctx = make_ctx({}, UNREACHABLE)
    seed_cache(ctx, NOW - timedelta(days=3))

    with pytest.raises(SourceUnavailable):
        refresher.refresh(ctx, NOW)
    loaded, how = refresher.get(ctx, NOW)
    refresher.run_timer(ctx, NOW)  # must not raise

    assert how == "offline" and list(loaded.rows) == ["AAAA.JK"]
    status = run_command(ctx, capsys, "status")
    assert status["offline"] is True and status["stale"] is True
    assert "ConnectError" in status["last_attempt"]["error"]


def test_with_no_cache_an_unreachable_source_seeds_from_the_bundle(make_ctx, httpserver) -> None:
    source = FakeSupabase(httpserver, recorded_rows())
    source.fail_status = 502
    ctx = make_ctx({}, supabase_env(source.url))

    loaded, how = refresher.get(ctx, NOW)

    assert how == "offline" and loaded.origin == "cache" and len(loaded.rows) == 957
    assert cmap.cache_paths(ctx.root)[0].is_file()


def test_reset_rebuilds_from_the_bundle_when_offline(make_ctx) -> None:
    ctx = make_ctx({}, UNREACHABLE)
    seed_cache(ctx, NOW)

    loaded, how = refresher.reset(ctx, NOW)

    assert how == "bundled" and len(loaded.rows) == 957
    assert loaded.meta["checksum"] == bundled_meta()["checksum"]


def test_an_external_script_with_the_same_subcommands_is_honoured(make_ctx, tmp_path) -> None:
    script = tmp_path / "company_map_script.py"
    script.write_text(
        "import json, os, sys\n"
        "assert sys.argv[1] in ('get', 'refresh')\n"
        "row = {'company_name': 'PT Script Tbk', 'sector': 'Energy', 'sub_sector': 'Coal',\n"
        "       'last_close_price': 5.0, 'latest_close_date': '2026-04-23'}\n"
        "json.dump({'SCRP.JK': row}, open(os.environ['COMPANY_MAP_FILE'], 'w'))\n")
    ctx = make_ctx({"company_map": {"script": str(script)}})

    loaded = refresher.refresh(ctx, NOW)

    assert list(loaded.rows) == ["SCRP.JK"] and loaded.meta["source"] == "script"
    assert loaded.meta["checksum"] == cmap.checksum(loaded.rows)


def run_command(ctx, capsys, action: str) -> dict:
    parser = argparse.ArgumentParser()
    COMPANY_MAP_COMMAND.configure(parser)
    code = COMPANY_MAP_COMMAND.run(parser.parse_args([action]), ctx.settings)
    out = capsys.readouterr().out
    assert SERVICE_KEY not in out
    if action in ("status", "print"):  # skip any log lines printed before the JSON
        return json.loads(out[out.index("{\n"):])
    return {"code": code, "out": out.splitlines()[-1]}


def test_the_commands_refresh_and_print(make_ctx, httpserver, capsys) -> None:
    source = FakeSupabase(httpserver, recorded_rows())
    ctx = make_ctx(PAGED, supabase_env(source.url))

    assert run_command(ctx, capsys, "refresh") == {"code": 0, "out": "Refreshed. Rows: 957"}
    status = run_command(ctx, capsys, "status")
    printed = run_command(ctx, capsys, "print")

    assert status["origin"] == "cache" and status["checksum_ok"] and not status["offline"]
    assert status["env_present"]["SUPABASE_KEY"] is True and status["local_rows"] == 957
    assert printed["TRIN.JK"]["last_close_price"] == 795.0
    assert len(source.requests) == 3  # status and print read the cache only
