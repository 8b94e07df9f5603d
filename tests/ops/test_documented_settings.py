"""Operators' files are a contract: every variable and TOML key that `README.md` and
`systemd/idxd.env.example` document is still read, into the setting it names."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from daemon.config import EngineSettings, load_settings
from daemon.declare import CONFIG_ENV, Declared, declarations
from handlers.settings import PipelineSettings

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
ENV_EXAMPLE = (REPO / "systemd" / "idxd.env.example").read_text()
DECLARED = [*(("engine", item) for item in declarations(EngineSettings)),
            *(("app", item) for item in declarations(PipelineSettings))]
SAMPLE = "ops@example.com"  # a valid value for every string, list and address setting


def documented_variables() -> dict[str, str]:
    """Each variable of the environment example with its example value, plus the README's."""
    example = dict(re.findall(r"^#?([A-Z][A-Z0-9_]+)=(\S*)", ENV_EXAMPLE, re.MULTILINE))
    in_readme = set(re.findall(r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`", README))
    # "each overridable by IDXD_<NAME>"; stage_concurrency is a table, never a variable.
    engine_keys = {f"IDXD_{key.upper()}" for key in documented_keys("daemon") - {
        "stage_concurrency"}}
    return {name: example.get(name, "") for name in {*example, *in_readme, *engine_keys}}


def documented_keys(table: str) -> set[str]:
    """First-column keys of the README's settings tables: the engine's, or rollover and mail."""
    header = "| setting | default |" if table == "daemon" else "| setting (`[rollover]` / `[mail]`)"
    rows = README.split(header, 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    keys = {key for row in rows for key in re.findall(r"`([a-z_]+)`", row.split("|")[1])}
    if table == "daemon":  # also named in the text, e.g. "Set `metrics_port` in `[daemon]`"
        keys |= set(re.findall(r"`([a-z_]+)` in `\[daemon\]`", README))
    return keys


def documented_tables() -> set[str]:
    rows = README.split("| table | what it holds |", 1)[1].split("\n\n", 1)[0]
    return {"daemon", *re.findall(r"^\| `\[([a-z_]+)\]`", rows, re.MULTILINE)}


def reading(name: str) -> list[tuple[str, Declared]]:
    return [(part, item) for part, item in DECLARED if name in item.spec.env]


def value_at(settings: Any, part: str, item: Declared) -> Any:
    value = getattr(settings, part)
    for name in item.path.split("."):
        value = getattr(value, name)
    return value


def as_toml(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, tuple):
        return list(value)
    return SAMPLE if value is None else value if isinstance(value, bool | int | float | dict) \
        else str(value)


def test_the_documentation_lists_what_this_test_reads() -> None:
    assert len(documented_variables()) > 80
    assert {"workers", "settle_ms", "metrics_port"} <= documented_keys("daemon")
    assert {"period_s", "from", "to", "security"} <= documented_keys("rollover")
    assert {"ingest", "http", "sink", "mail"} <= documented_tables()


@pytest.mark.parametrize("name", sorted(documented_variables()))
def test_every_documented_variable_sets_its_setting(tmp_path: Path, name: str) -> None:
    if name == CONFIG_ENV:
        return  # names the file; `config_path_from` reads it
    found = reading(name)
    assert found, f"{name} is documented but no setting reads it"
    raw = documented_variables()[name] or sample_for(found[0][1])
    settings = load_settings(None, env={name: raw}, root_override=str(tmp_path))
    for part, item in found:
        if item.spec.secret:
            assert value_at(settings, part, item) == raw
            continue
        from_file = tmp_path / "same.toml"
        from_file.write_text(f"[{item.table}]\n{item.key} = {toml_literal(raw)}\n")
        expected = value_at(load_settings(from_file, env={}, root_override=str(tmp_path)),
                            part, item)
        assert value_at(settings, part, item) == expected


def sample_for(item: Declared) -> str:
    """A valid value for a variable with no example: its default as the environment spells it,
    or an address where the default is none."""
    default = value_at(load_settings(None, env={}), *next(
        (part, found) for part, found in DECLARED if found is item))
    if default is None or isinstance(default, dict):
        return SAMPLE
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, tuple):
        return ",".join(default) or SAMPLE
    return str(default)


def toml_literal(raw: str) -> str:
    return raw if re.fullmatch(r"-?\d+(\.\d+)?|true|false", raw) else f'"{raw}"'


@pytest.mark.parametrize("table, key", sorted(
    {("daemon", key) for key in documented_keys("daemon")}
    | {(table, key) for key in documented_keys("rollover") for table in ("rollover", "mail")
       if any(item.table == table and item.key == key for _, item in DECLARED)}))
def test_every_documented_key_is_read_from_its_table(tmp_path: Path, table: str, key: str) -> None:
    part, item = next((part, item) for part, item in DECLARED
                      if item.table == table and item.key == key)
    default = value_at(load_settings(None, env={}, root_override=str(tmp_path)), part, item)
    config = tmp_path / "c.toml"
    config.write_text(f"[{table}]\n{key} = {toml_value(as_toml(default))}\n")
    assert value_at(load_settings(config, env={}, root_override=str(tmp_path)), part,
                    item) == (default if default is not None else SAMPLE)


def test_every_documented_rollover_and_mail_key_is_declared() -> None:
    declared = {item.key for _, item in DECLARED if item.table in ("rollover", "mail")}
    assert documented_keys("rollover") <= declared


def test_every_documented_table_is_declared() -> None:
    assert documented_tables() <= {item.table for _, item in DECLARED}


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{}"
    return '"' + str(value) + '"'
