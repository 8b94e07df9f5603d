"""`idxd config example` prints every declared setting with its default, and the printed file
loads back into exactly the defaults; the README's table of keys is the declarations' table."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from daemon.config import EngineSettings, load_settings
from daemon.config_example import markdown_table
from daemon.declare import declarations
from handlers.settings import PipelineSettings

REPO = Path(__file__).resolve().parents[2]
CLASSES = (EngineSettings, PipelineSettings)


def example(tmp_path: Path) -> str:
    result = subprocess.run([sys.executable, "-m", "daemon", "--root", str(tmp_path / "r"),
                             "config", "example"], cwd=REPO, capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PYTHONPATH": str(REPO),
                                             "IDXD_CONFIG": ""})
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return result.stdout


def test_the_example_names_every_key_with_its_environment(tmp_path: Path) -> None:
    text = example(tmp_path)
    tables = re.findall(r"^\[([a-z_]+)\]$", text, re.MULTILINE)
    declared = [item for cls in CLASSES for item in declarations(cls)]
    assert set(tables) == {item.table for item in declared}
    for item in declared:
        section = text.split(f"\n[{item.table}]\n", 1)[1].split("\n[", 1)[0]
        key = re.escape(item.key)
        assert re.search(rf"^#? ?({key}( =|:)|\[{item.table}\.{key}\])", section,
                         re.MULTILINE), item.key
        for name in item.spec.env:
            assert name in section, (item.key, name)
    assert "# smtp_password: environment only (SMTP_PASSWORD)" in text
    assert 'kind = "sqlite"' in text and "outbox_days = 180.0" in text


def test_the_example_prints_before_any_valid_configuration_exists(tmp_path: Path) -> None:
    """`IDXD_CONFIG=/etc/idxd/idxd.toml idxd config example > /etc/idxd/idxd.toml`: the file
    named does not exist yet, or is the empty file the shell just made."""
    target = tmp_path / "idxd.toml"
    for before in (None, ""):
        if before is not None:
            target.write_text(before)
        result = subprocess.run([sys.executable, "-m", "daemon", "config", "example"],
                                cwd=REPO, capture_output=True, text=True, timeout=60,
                                env={**os.environ, "PYTHONPATH": str(REPO),
                                     "IDXD_CONFIG": str(target), "IDXD_WORKERS": "oops"})
        assert result.returncode == 0 and "[retention]" in result.stdout, result.stderr


def test_the_printed_example_loads_back_into_the_defaults(tmp_path: Path) -> None:
    config = tmp_path / "idxd.toml"
    config.write_text(example(tmp_path))
    document = tomllib.loads(config.read_text())
    assert document["daemon"]["workers"] == 4 and document["retention"]["data_days"] == 30
    from_example = load_settings(config, env={})
    defaults = load_settings(None, env={})
    assert from_example.engine == defaults.engine and from_example.app == defaults.app


def test_the_readme_table_is_the_declarations_table() -> None:
    readme = (REPO / "README.md").read_text()
    assert markdown_table(*CLASSES) in readme
