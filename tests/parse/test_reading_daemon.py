"""A real `python -m daemon`: a form drawn every which way and a scanned form, dropped into the
parse inbox, land as the right rows in the SQLite sink, the scan's values marked as OCR."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any

from handlers.domain.ksei.records import ParsedForm
from tests.e2e.daemon import DaemonProcess, pipeline_config
from tests.parse.test_limits_daemon import drop
from tests.parse.test_phenomena import PHENOMENA
from tests.pdfform import FormLayout, build_form_pdf
from tests.pdfscan import scan_pdf
from tests.support import wait_for

SIDECAR = {"title": "REPORT OF OWNERSHIP OR ANY CHANGES IN SHARE OWNERSHIP OF PUBLIC COMPANIES",
           "published_at": "2026-04-24T17:03:00+07:00", "window": "20260424_1500_20260424_1700",
           "is_correction": False}


def rows_of(database: Path) -> dict[str, dict[str, Any]]:
    if not database.exists():
        return {}
    with sqlite3.connect(database) as connection:
        connection.row_factory = sqlite3.Row
        try:
            found = connection.execute("SELECT * FROM idx_filings").fetchall()
        except sqlite3.OperationalError:  # the sink is still creating its table
            return {}
    return {row["symbol"]: dict(row) for row in found}


def with_sidecar(pdf: Path, ticker: str, directory: Path) -> list[Path]:
    sidecar = directory / f"{pdf.name}.meta.json"
    sidecar.write_text(json.dumps({**SIDECAR, "ticker": ticker, "original_name": pdf.name,
                                   "url": f"https://www.idx.co.id/From_KSEI/{pdf.name}"}))
    return [sidecar, pdf]


def test_every_drawing_and_a_scan_become_the_right_rows(
        tmp_path: Path, examples: dict[str, ParsedForm]) -> None:
    root, made = tmp_path / "root", tmp_path / "made"
    made.mkdir()
    srtg = dataclasses.replace(examples["SRTG.JK"], position="Direktur Utama")
    drawn = build_form_pdf(srtg, made / "LK-24042026-7431-00.pdf",
                           layout=PHENOMENA["everything at once"])
    byan = build_form_pdf(examples["BYAN.JK"], made / "byan-drawn.pdf",
                          layout=FormLayout(rows_per_page=1, split_row=True))
    scanned = scan_pdf(byan, made / "LK-24042026-7432-00.pdf", dpi=300)
    config = pipeline_config(tmp_path / "idxd.toml", root, None)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    inbox = root / "downloads" / "idx-format"
    try:
        daemon.wait_started()
        for path in [*with_sidecar(drawn, "SRTG", made), *with_sidecar(scanned, "BYAN", made)]:
            drop(path, inbox)
        database = root / "state" / "filings.sqlite3"
        wait_for(lambda: len(rows_of(database)) == 2, 120, "both filings in the sink",
                 alive=daemon.process)
        assert daemon.stop() == 0
    finally:
        daemon.close()
    rows = rows_of(database)
    assert (rows["SRTG.JK"]["holding_before"], rows["SRTG.JK"]["holding_after"]) == \
        (4_289_610_000, 3_369_610_000)
    assert rows["SRTG.JK"]["holder_name"] == "Unitras Pertama"
    assert rows["SRTG.JK"]["amount_transaction"] == 920_000_000
    assert (rows["BYAN.JK"]["holding_before"], rows["BYAN.JK"]["holding_after"]) == \
        (examples["BYAN.JK"].holding_before, examples["BYAN.JK"].holding_after)
    assert rows["BYAN.JK"]["holder_name"] == examples["BYAN.JK"].holder_name
    parsed = json.loads((root / "data" / "parsed" / "LK-24042026-7432-00.json").read_text())
    assert {where["method"] for where in parsed["provenance"].values()} == {"ocr"}
    assert parsed["rows"] == [row.to_json() for row in examples["BYAN.JK"].rows]
    text = json.loads((root / "data" / "parsed" / "LK-24042026-7431-00.json").read_text())
    assert {where["method"] for where in text["provenance"].values()} == {"text"}
    assert text["position"] == "Direktur Utama"
    # The scan is stored, and a person is told which of its values no check could confirm.
    filings = json.loads((root / "data" / "filings" / "LK-24042026-7432-00.json").read_text())
    notices = [json.loads((root / "alerts" / name).read_text()) for name in filings["alerts"]]
    assert [alert["code"] for alert in notices] == ["ocr_read"]
    assert "holder_name" in notices[0]["message"]
