"""Filings and sink settings: the original's defaults and names, secrets kept out of sight."""

from __future__ import annotations

from decimal import Decimal

import pytest

from daemon.errors import ConfigError
from handlers.settings import FilingsSettings, load_pipeline_settings


def read_filings_settings(document: dict, env: dict) -> FilingsSettings:
    return load_pipeline_settings(document, env).filings


def test_defaults_are_the_originals():
    settings = read_filings_settings({}, {})
    assert (settings.market_ratio_low, settings.market_ratio_high) == (Decimal("0.6"),
                                                                       Decimal("1.4"))
    assert settings.percent_tol_pp == Decimal("0.25") and settings.price_lookback_days == 14
    assert settings.sink.kind == "sqlite" and settings.sink.table == "idx_filings"


def test_environment_overrides_toml():
    settings = read_filings_settings(
        {"filings": {"percent_tol_pp": 0.5}, "sink": {"kind": "postgres",
                                                      "database_url": "host=/tmp"}},
        {"FILINGS_PERCENT_TOL_PP": "0.1", "DATABASE_URL": "host=db"})
    assert settings.percent_tol_pp == Decimal("0.1")
    assert (settings.sink.kind, settings.sink.database_url) == ("postgres", "host=db")


def test_supabase_needs_url_and_key_and_never_shows_the_key():
    with pytest.raises(ConfigError, match="SUPABASE_URL and SUPABASE_KEY"):
        read_filings_settings({}, {"SINK": "supabase", "SUPABASE_URL": "https://x.supabase.co"})
    settings = read_filings_settings({}, {"SINK": "supabase", "SUPABASE_URL": "https://x",
                                          "SUPABASE_SERVICE_ROLE_KEY": "s3cr3t"})
    assert settings.sink.supabase_key == "s3cr3t" and "s3cr3t" not in repr(settings)


def test_the_key_is_not_read_from_the_toml_file():
    with pytest.raises(ConfigError):
        read_filings_settings({"sink": {"kind": "supabase", "supabase_url": "https://x",
                                        "supabase_key": "in-the-repo"}}, {})


def test_unknown_sink_is_one_sentence():
    with pytest.raises(ConfigError, match="must be one of sqlite, supabase, postgres"):
        read_filings_settings({}, {"SINK": "mysql"})
