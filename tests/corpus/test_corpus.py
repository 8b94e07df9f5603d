"""The bad-input corpus through the real daemon: every case gets its documented outcome, nothing
leaves the root, and the daemon keeps serving (a good announcement dropped afterwards is stored).

One daemon process takes the whole corpus (`MANIFEST.json`, about seventy cases across the four
inboxes) with a local stand-in for the exchange serving the attachments the cases point at.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.corpus.build_static import FILES
from tests.corpus.corpus import Case, lay_out, load_cases, outcome_of
from tests.e2e.checks import drained, sink_rows, torn_files
from tests.e2e.daemon import DaemonProcess, pipeline_config
from tests.e2e.exchange import Exchange
from tests.support import wait_for

OUTPUTS = ("data/parsed", "data/filings", "downloads/non-idx-format", "alerts_inserted",
           "alerts_not_inserted")


def settled(cases: list[Case], root: Path) -> bool:
    if not (root / "state" / "ledger.sqlite3").exists():
        return False
    outcomes = outcome_of(root)
    expected = [c for c in cases if "ignored" not in c.expect]
    seen = all(c.key in outcomes.quarantined or c.key in outcomes.done
               or outcomes.states.get(c.key) == c.expect.get("state") for c in expected)
    return seen and drained(root)


def test_every_bad_input_gets_its_documented_outcome_and_the_daemon_keeps_serving(
        tmp_path: Path, exchange: Exchange) -> None:
    cases, root, outside = load_cases(), tmp_path / "root", tmp_path / "outside"
    outside.mkdir()
    assert len(cases) >= 50
    lay_out(cases, root, outside, exchange)
    # A failed file stays failed for the run; a 404 is given up at once; the one host serving
    # every case is never rested for the challenge page it serves (source health has its own
    # tests).
    config = pipeline_config(tmp_path / "idxd.toml", root, None,
                             download={"max_mb": 1.0, "missing_horizon_s": 0},
                             daemon={"failed_retry_s": 3600}, http={"block_after": 1000})
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_started()
        wait_for(lambda: settled(cases, root), 90, "every case to settle", alive=daemon.process)
        outcomes = outcome_of(root)
        wrong = {c.key: outcomes.of(c, root) for c in cases if outcomes.of(c, root) != c.expect}
        assert wrong == {}, "cases whose outcome differs from MANIFEST.json"
        drop_good_announcement(root, exchange)
        wait_for(lambda: any(row["symbol"] == "BYAN.JK" for row in sink_rows(root)), 30,
                 "the good announcement's filing", alive=daemon.process)
        assert daemon.stop() == 0
    finally:
        daemon.close()
    assert torn_files(root, OUTPUTS) == []
    assert_nothing_escaped(root, outside)


def drop_good_announcement(root: Path, exchange: Exchange) -> None:
    exchange.files["/files/good.pdf"] = (FILES / "pdf" / "good-byan.pdf").read_bytes()
    item = {"Id": "corpus-good", "PublishDate": "2026-04-24T17:05:00", "Code": "BYAN",
            "Title": "REPORT OF OWNERSHIP", "Attachments": [{
                "FullSavePath": f"{exchange.origin}/files/good.pdf", "IsAttachment": 0,
                "OriginalFilename": "LK-24042026-9589-00.pdf"}]}
    target = root / "data" / "announcements" / "good.json"
    temp = target.with_name(".good.json.tmp")
    temp.write_text(json.dumps([item]))
    os.replace(temp, target)


def assert_nothing_escaped(root: Path, outside: Path) -> None:
    """Link targets untouched, no file written where a hostile name pointed, and every file
    the download stage saved has a safe name inside the root."""
    for target in outside.iterdir():
        assert target.read_bytes()[:5] in (b"%PDF-", b'{"ann')
    assert not Path("/etc/cron.d/idxd.pdf").exists() and not Path("/tmp/x").exists()
    saved = [path.with_name(path.name.removesuffix(".meta.json"))
             for path in (root / "downloads").rglob("*.meta.json")
             if path.name != "broken-sidecar.pdf.meta.json"]
    saved = [path for path in saved if path.exists()]  # not the one the parser quarantined
    assert len(saved) >= 6
    for path in saved:
        assert path.resolve().is_relative_to(root.resolve())
        assert path.name.isprintable() and ".." not in path.name and len(path.name) < 130
