"""The README's commands are real: every `idxd …` line of its shell blocks is accepted by the
parser that `--help` prints, and the ones it teaches operators (drop, trace, status, clean,
config example) are run here on a real root and do what the README says."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.cli_help import build_parser, parse
from daemon.stages import load_app
from handlers.domain.alerts import build_alert

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
APP = load_app("handlers.app:APP")


def readme_commands() -> list[str]:
    """Each `idxd` invocation in a ```sh block, without comments, pipes or redirections."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.DOTALL):
        for line in block.splitlines():
            code = line.split("  #", 1)[0].split(" #", 1)[0]
            for part in re.split(r"\||&&|>", code):
                words = shlex.split(part.strip()) if part.strip() else []
                if words and words[0] == "idxd":
                    found.append(shlex.join(words))
    return found


def test_the_readme_shows_the_commands_this_test_reads() -> None:
    commands = readme_commands()
    assert len(commands) >= 12
    assert "idxd drop 20261127_1600_20261127_1800.json --stage download" in commands


@pytest.mark.parametrize("command", readme_commands())
def test_each_readme_command_is_accepted_by_its_parser(command: str) -> None:
    args = parse(build_parser(APP), shlex.split(command)[1:])
    assert args.command is not None


def idxd(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "daemon", "--root", str(root), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONPATH": str(REPO), "IDXD_CONFIG": ""})


def test_drop_then_trace_from_the_batch_to_the_alert_in_its_window(tmp_path: Path) -> None:
    """What the README's drop and trace examples say, on the bundled demo's real batch."""
    demo = tmp_path / "demo"
    assert idxd(tmp_path, "demo", "--dir", str(demo)).returncode == 0
    batch = next((demo / "data" / "announcements").glob("*.json"))
    root = tmp_path / "root"
    (root / "state").mkdir(parents=True)
    from daemon.ledger import Ledger

    Ledger.open(root).close()
    dropped = idxd(root, "drop", str(batch), "--stage", "download")
    assert dropped.returncode == 0, dropped.stderr
    assert dropped.stdout.strip() == str(root / "data" / "announcements" / batch.name)
    refused = idxd(root, "drop", str(batch))  # three stages take *.json: the README says so
    assert refused.returncode == 1 and "name one with --stage" in refused.stderr
    # The README's `trace downloads/idx-format/form.pdf`, on the demo's own lineage.
    pdf = next((demo / "downloads" / "idx-format").glob("*.pdf")).relative_to(demo)
    traced = idxd(demo, "trace", pdf.as_posix(), "--json")
    assert traced.returncode == 0, traced.stderr
    chain = json.loads(traced.stdout)
    assert [row["stage"] for row in chain] == ["download", "parse", "generate"]
    assert chain[-1]["outputs"][0].startswith("data/filings/")  # these forms raised no alert
    # An alert goes on to the copy bucketized under its window, which that window mails.
    alert = tmp_path / "alert.json"
    alert.write_text(json.dumps(build_alert(code="symbol_missing",
                                            timestamp=datetime.now(UTC).isoformat(),
                                            doc={"filename": pdf.name})))
    assert idxd(demo, "drop", str(alert), "--stage", "bucketize").returncode == 0
    assert idxd(demo, "once", "--no-ingest", "--hours", "1").returncode == 0
    chain = json.loads(idxd(demo, "trace", "alerts/alert.json", "--json").stdout)
    assert [row["stage"] for row in chain] == ["bucketize"]
    assert re.fullmatch(r"alerts_not_inserted/\d{8}_\d{4}_\d{8}_\d{4}/alert\.json",
                        chain[0]["outputs"][0])


def test_status_and_clean_as_the_readme_shows_them(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    assert idxd(tmp_path, "demo", "--dir", str(demo)).returncode == 0
    status = idxd(demo, "status")
    assert status.stdout.startswith(f"root: {demo}\ndaemon: stopped\nhealth: ")
    assert "disk: ledger " in status.stdout
    listed = idxd(demo, "clean", "--dry-run")
    assert listed.returncode == 0 and "would remove artifacts/" in listed.stdout
    assert (demo / "artifacts").is_dir() and list((demo / "artifacts").iterdir())
