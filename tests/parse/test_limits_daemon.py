"""A real `python -m daemon` given a flate bomb: the bomb's child dies, the daemon does not, the
bomb is quarantined as `resource_limit` with an alert, and a form dropped after it is parsed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from handlers.domain.ksei.records import ParsedForm
from tests.e2e.daemon import DaemonProcess, pipeline_config
from tests.pdfform import build_form_pdf
from tests.support import wait_for


def drop(source: Path, inbox: Path) -> Path:
    """Copy under a temporary name, then rename into the inbox, as `idxd drop` does."""
    inbox.mkdir(parents=True, exist_ok=True)
    temporary = inbox / f".{source.name}.tmp"
    shutil.copyfile(source, temporary)
    return temporary.replace(inbox / source.name)


def test_a_flate_bomb_is_quarantined_and_the_daemon_parses_the_next_form(
        tmp_path: Path, flate_bomb: Path, examples: dict[str, ParsedForm]) -> None:
    root = tmp_path / "root"
    inbox = root / "downloads" / "idx-format"
    config = pipeline_config(tmp_path / "idxd.toml", root, None)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_started()
        drop(flate_bomb, inbox)
        error_file = root / "quarantine" / "parse" / "LK-bomb.pdf.error.json"
        wait_for(error_file.exists, 60, "the bomb quarantined", alive=daemon.process)
        form = build_form_pdf(examples["SRTG.JK"], tmp_path / "LK-24042026-7431-00.pdf")
        drop(form, inbox)
        parsed = root / "data" / "parsed" / "LK-24042026-7431-00.json"
        wait_for(parsed.exists, 60, "the next form parsed", alive=daemon.process)
        assert daemon.process.poll() is None
        assert daemon.stop() == 0
    finally:
        daemon.close()
    record = json.loads(error_file.read_text())
    assert record["code"] == "resource_limit" and record["details"]["limit"] == "memory"
    assert (root / "quarantine" / "parse" / "LK-bomb.pdf").stat().st_size == \
        flate_bomb.stat().st_size
    alerts = [json.loads(p.read_text()) for p in (root / "alerts").glob("*.json")]
    alerts += [json.loads(p.read_text()) for p in root.glob("alerts_*/*/*.json")]
    assert "resource_limit" in [alert["code"] for alert in alerts]
    assert json.loads(parsed.read_text())["symbol"] == "SRTG.JK"
    assert daemon.has("parse.child_died", limit="memory")
