"""Settings the daemon does not know are refused with the nearest known name, and SIGHUP's
restart-only list comes from the declarations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.config import load_settings
from daemon.errors import ConfigError
from daemon.reload import plan_reload, restart_only
from tests.engine.conftest import REPO, write_config


def pipeline_config(tmp_path: Path, tables: str = "") -> Path:
    """A configuration of the IDX pipeline on a temporary root, plus `tables`."""
    config = tmp_path / "pipeline.toml"
    config.write_text(f'[daemon]\napp = "handlers.app:APP"\nroot = "{tmp_path / "root"}"\n'
                      f"{tables}")
    return config


def test_a_misspelt_key_names_the_nearest_setting(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", tmp_path / "root", wrokers=3)
    with pytest.raises(ConfigError) as error:
        load_settings(config, env={})
    assert str(error.value) == "unknown setting [daemon] wrokers; did you mean workers?"


def test_a_misspelt_table_names_the_nearest_table(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[dameon]\nworkers = 3\n')
    with pytest.raises(ConfigError) as error:
        load_settings(config, env={})
    assert str(error.value) == "unknown table [dameon]; did you mean [daemon]?"


def test_a_misspelt_variable_names_the_nearest_variable(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", tmp_path / "root")
    with pytest.raises(ConfigError) as error:
        load_settings(config, env={"IDXD_WROKERS": "3"})
    assert str(error.value) == ("unknown environment variable IDXD_WROKERS; did you mean "
                                "IDXD_WORKERS?")


def test_a_name_far_from_every_setting_is_still_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", tmp_path / "root")
    with pytest.raises(ConfigError, match=r"^unknown environment variable IDXD_ZZZ\.$"):
        load_settings(config, env={"IDXD_ZZZ": "1"})


def test_variables_of_other_programs_and_idxd_config_are_accepted(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", tmp_path / "root")
    settings = load_settings(config, env={"IDXD_CONFIG": str(config), "HOME": "/root",
                                          "IDXDTEST_ROUNDS": "3"})
    assert settings.engine.settle_ms == 200


@pytest.mark.parametrize("table, key, nearest", [
    ("ingest", "overlap_minutes", "overlap_min"), ("mail", "smtp_hots", "smtp_host"),
    ("sink", "knd", "kind"), ("rollover", "period", "period_s")])
def test_the_pipeline_tables_refuse_unknown_keys(tmp_path: Path, table: str, key: str,
                                                 nearest: str) -> None:
    config = pipeline_config(tmp_path, f"[{table}]\n{key} = 1\n")
    with pytest.raises(ConfigError) as error:
        load_settings(config, env={})
    assert str(error.value) == f"unknown setting [{table}] {key}; did you mean {nearest}?"


def test_the_pipeline_refuses_an_unknown_table_and_variable(tmp_path: Path) -> None:
    config = pipeline_config(tmp_path)
    with pytest.raises(ConfigError, match=r"^unknown environment variable IDXD_INGEST_PERIOD; "
                                          r"did you mean IDXD_INGEST_PERIOD_S\?$"):
        load_settings(config, env={"IDXD_INGEST_PERIOD": "60"})
    config.write_text(config.read_text() + '[sinks]\nkind = "sqlite"\n')
    with pytest.raises(ConfigError, match=r"^unknown table \[sinks\]; did you mean \[sink\]\?$"):
        load_settings(config, env={})


@pytest.mark.parametrize("table, key, variable", [
    ("mail", "smtp_password", "SMTP_PASSWORD"), ("sink", "supabase_key", "SUPABASE_KEY"),
    ("company_map", "supabase_key", "SUPABASE_KEY")])
def test_a_secret_in_the_file_is_refused(tmp_path: Path, table: str, key: str,
                                         variable: str) -> None:
    config = pipeline_config(tmp_path, f'[{table}]\n{key} = "in-the-repo"\n')
    with pytest.raises(ConfigError) as error:
        load_settings(config, env={})
    assert str(error.value) == (f"The setting [{table}] {key} must come from the environment "
                                f"variable {variable}, not from the configuration file.")
    assert "in-the-repo" not in str(error.value)


def test_an_unknown_variable_exits_2_with_one_sentence(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", tmp_path / "root")
    result = subprocess.run([sys.executable, "-m", "daemon", "--config", str(config),
                             "check-config"], cwd=REPO, capture_output=True, text=True,
                            timeout=30, env={**os.environ, "IDXD_SETLE_MS": "100"})
    assert result.returncode == 2
    assert result.stderr.strip() == ("idxd: unknown environment variable IDXD_SETLE_MS; did you "
                                     "mean IDXD_SETTLE_MS?")


def test_restart_only_settings_come_from_the_declarations(tmp_path: Path) -> None:
    config = pipeline_config(tmp_path)
    current = load_settings(config, env={})
    frozen = restart_only(current)
    assert {"engine.root", "engine.workers", "engine.observer", "engine.metrics_port",
            "app.http.proxy", "app.filings.sink.kind"} <= frozen
    assert not {"engine.settle_ms", "app.rollover.period_s", "app.mail.to"} & frozen
    new = load_settings(config, env={"PROXY": "http://proxy:3128", "IDXD_ROLLOVER_PERIOD_S": "3600",
                                     "SINK": "postgres", "DATABASE_URL": "host=/tmp"})
    plan = plan_reload(current, new)
    assert plan.applied == ["app.rollover.period_s"]
    assert sorted(plan.needs_restart) == ["app.filings.sink.database_url",
                                          "app.filings.sink.kind", "app.http.proxy"]
    assert plan.settings.app.http.proxy is None  # the open client keeps the old one
    assert plan.settings.app.filings.sink.kind == "sqlite"
    assert plan.settings.app.rollover.period_s == 3600


@pytest.mark.parametrize("dsn", [
    "postgresql://idxd:s3cr3t pass@db/idxd",  # an unencoded space in the password
    "postgresql://idxd:s3cr3t%zz@db/idxd",  # a bad percent escape
    "host=db password=s3cr3t idxd",  # a word without "="
    "postgresql://idxd:s3cr3t@db:fivefourthreetwo/idxd",  # a port that is not a number
])
def test_a_database_url_libpq_cannot_read_stops_the_start_without_echoing_it(
        tmp_path: Path, dsn: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(pipeline_config(tmp_path), env={"SINK": "postgres", "DATABASE_URL": dsn})
    message = str(refused.value)
    assert message.startswith("DATABASE_URL ")
    assert "postgresql://user:password@host:5432/database" in message
    assert "s3cr3t" not in message
