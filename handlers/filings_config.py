"""Settings of the generate stage and its sink: validation thresholds and where filings go.

Thresholds keep the original's defaults and variable names (`FILINGS_MARKET_RATIO_LOW`, …).
The sink is chosen by `SINK` or `[sink] kind` (sqlite, supabase, postgres); the Supabase key
and the database URL come from the environment (or TOML for the URL) and are never shown in a
repr or a log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from daemon.config import SettingsReader
from daemon.errors import ConfigError
from handlers import paths

SINK_KINDS = ("sqlite", "supabase", "postgres")

# Codes that keep a filing out of the database (everything else is a warning: inserted and
# reported). The structural codes are the original's hard failures; a share transfer needs a
# human to pair both sides; an unchanged holding is a pledge or reclassification to review.
DEFAULT_REJECT_CODES = (
    "missing_required_field", "invalid_price_transaction", "holdings_mismatch",
    "mismatch_transaction_type", "mixed_transaction_type", "non_common_shares",
    "transfer_uid_required", "percent_discrepancy", "holdings_unchanged",
)


@dataclass(frozen=True)
class SinkSettings:
    kind: str = "sqlite"
    table: str = "idx_filings"
    sqlite_path: Path = paths.FILINGS_DB  # relative to the root
    supabase_url: str | None = None
    supabase_key: str | None = field(default=None, repr=False)
    timeout_s: float = 30.0
    database_url: str | None = field(default=None, repr=False)
    page_size: int = 1000


@dataclass(frozen=True)
class FilingsSettings:
    within_doc_ratio_low: Decimal = Decimal("0.5")
    within_doc_ratio_high: Decimal = Decimal("1.5")
    market_ratio_low: Decimal = Decimal("0.6")
    market_ratio_high: Decimal = Decimal("1.4")
    zero_missing_x10: tuple[Decimal, Decimal] = (Decimal(8), Decimal(15))
    zero_missing_x100: tuple[Decimal, Decimal] = (Decimal(80), Decimal(150))
    percent_tol_pp: Decimal = Decimal("0.25")
    price_lookback_days: int = 14
    reject_codes: tuple[str, ...] = DEFAULT_REJECT_CODES
    sink: SinkSettings = field(default_factory=SinkSettings)


def read_filings_settings(document: Mapping[str, Any], env: Mapping[str, str]) -> FilingsSettings:
    """`[filings]` and `[sink]` of the TOML document, overridden by the environment."""
    reader = SettingsReader(document.get("filings", {}), env, "filings")
    base = FilingsSettings()

    def ratio(key: str, default: Decimal) -> Decimal:
        env_name = "FILINGS_" + key.upper()
        value = reader.get(key, float(default), env_name, check=lambda v: v >= 0,
                           expected="a number ≥ 0")
        return Decimal(str(value))

    return FilingsSettings(
        within_doc_ratio_low=ratio("within_doc_ratio_low", base.within_doc_ratio_low),
        within_doc_ratio_high=ratio("within_doc_ratio_high", base.within_doc_ratio_high),
        market_ratio_low=ratio("market_ratio_low", base.market_ratio_low),
        market_ratio_high=ratio("market_ratio_high", base.market_ratio_high),
        zero_missing_x10=(ratio("zero_missing_x10_min", base.zero_missing_x10[0]),
                          ratio("zero_missing_x10_max", base.zero_missing_x10[1])),
        zero_missing_x100=(ratio("zero_missing_x100_min", base.zero_missing_x100[0]),
                           ratio("zero_missing_x100_max", base.zero_missing_x100[1])),
        percent_tol_pp=ratio("percent_tol_pp", base.percent_tol_pp),
        price_lookback_days=reader.get("price_lookback_days", base.price_lookback_days,
                                       "FILINGS_PRICE_LOOKBACK_DAYS", check=lambda v: v >= 0,
                                       expected="a whole number of days ≥ 0"),
        reject_codes=reader.get("reject_codes", base.reject_codes, "FILINGS_REJECT_CODES"),
        sink=read_sink_settings(document.get("sink", {}), env),
    )


def read_sink_settings(table: Mapping[str, Any], env: Mapping[str, str]) -> SinkSettings:
    reader = SettingsReader(table, env, "sink")
    base = SinkSettings()
    settings = SinkSettings(
        kind=reader.choice("kind", base.kind, SINK_KINDS, "SINK"),
        table=reader.get("table", base.table, "FILINGS_TABLE",
                         check=lambda v: v.replace("_", "").isalnum(),
                         expected="a table name of letters, digits and underscores"),
        sqlite_path=Path(reader.get("sqlite_path", str(base.sqlite_path), "FILINGS_SQLITE_PATH")),
        supabase_url=reader.optional_str("supabase_url", "SUPABASE_URL"),
        supabase_key=_secret(env, "SUPABASE_KEY", "SUPABASE_SERVICE_ROLE_KEY",
                             "SUPABASE_ANON_KEY"),
        timeout_s=reader.get("timeout_s", base.timeout_s, "SUPABASE_TIMEOUT",
                             check=lambda v: v > 0, expected="a number of seconds > 0"),
        database_url=reader.optional_str("database_url", "DATABASE_URL"),
        page_size=reader.get("page_size", base.page_size, "FILINGS_PAGE_SIZE",
                             check=lambda v: 1 <= v <= 10000, expected="from 1 to 10000"),
    )
    _check_complete(settings)
    return settings


def _secret(env: Mapping[str, str], *names: str) -> str | None:
    """Secrets come from the environment only, never from the TOML file in the repo."""
    return next((env[name] for name in names if env.get(name)), None)


def _check_complete(settings: SinkSettings) -> None:
    if settings.kind == "supabase" and not (settings.supabase_url and settings.supabase_key):
        raise ConfigError("The supabase sink needs SUPABASE_URL and SUPABASE_KEY in the "
                          "environment.")
    if settings.kind == "postgres" and not settings.database_url:
        raise ConfigError("The postgres sink needs DATABASE_URL (or [sink] database_url).")
