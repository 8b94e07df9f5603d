"""Faults of the machine: the disk full while an output is written, the whole root full (its
ledger and sink too), and a read-only inbox.

Each uses a small tmpfs mounted inside or as the root (the tests run as root; without the right
to mount they skip, or fail under CI). The real daemon keeps running through them, retries,
and loses nothing: every filing is stored once and nothing half-written is left behind.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.corpus.build_static import FILES
from tests.e2e.checks import drained, sink_rows, torn_files
from tests.e2e.daemon import DaemonProcess, pipeline_config
from tests.e2e.exchange import Exchange
from tests.e2e.scenario import Scenario, form_pdf, holder
from tests.support import fill, tmpfs, wait_for


def test_a_full_disk_holds_outputs_back_and_loses_nothing(tmp_path: Path,
                                                          exchange: Exchange) -> None:
    root = tmp_path / "root"
    with tmpfs(root / "data" / "filings", "64k") as filings:
        scenario = Scenario(count=6, first=datetime.now(UTC) - timedelta(minutes=5),
                            spread_s=60.0)
        scenario.publish(exchange, tmp_path / "forms")
        filler = fill(filings)
        config = pipeline_config(tmp_path / "idxd.toml", root, exchange.api_url)
        daemon = DaemonProcess(config, tmp_path / "daemon.log")
        try:
            daemon.wait_started()
            wait_for(lambda: daemon.has("file.failed", stage="generate"), 60,
                     "the full disk to hold generate back", alive=daemon.process)
            filler.unlink()
            wait_for(lambda: len(list(filings.glob("*.json"))) == len(scenario.holders)
                     and drained(root), 60, "every filings record", alive=daemon.process)
            assert daemon.stop() == 0
        finally:
            daemon.close()
        assert "No space left" in (tmp_path / "daemon.log").read_text()
        holders = sorted(str(row["holder_name"]) for row in sink_rows(root))
        assert holders == sorted(scenario.holders)
        outcomes = {f["outcome"] for p in filings.glob("*.json")
                    for f in json.loads(p.read_text())["filings"]}
        assert outcomes == {"inserted"}
        assert not (root / "quarantine").exists() and torn_files(root) == []


def test_a_full_root_is_waited_out_and_the_form_ends_stored_once(tmp_path: Path) -> None:
    root = tmp_path / "root"
    with tmpfs(root, "32m"):
        staging = root / "staging"  # the same filesystem: moving the form in needs no room
        staging.mkdir()
        (staging / "form-0.pdf").write_bytes(form_pdf(0, tmp_path))
        config = pipeline_config(tmp_path / "idxd.toml", root, None)
        daemon = DaemonProcess(config, tmp_path / "daemon.log")
        try:
            daemon.wait_started()
            ballast = fill(root)
            os.replace(staging / "form-0.pdf", root / "downloads" / "idx-format" / "form-0.pdf")
            wait_for(lambda: daemon.has("disk.full"), 60, "disk.full", alive=daemon.process)
            assert not (root / "quarantine").exists() and sink_rows(root) == []
            ballast.unlink()
            wait_for(lambda: [str(r["holder_name"]) for r in sink_rows(root)] == [holder(0)]
                     and drained(root), 60, "the form's filing", alive=daemon.process)
            wait_for(lambda: daemon.has("disk.recovered"), 30, alive=daemon.process)
            assert daemon.stop() == 0
        finally:
            daemon.close()
        assert [e for e in daemon.events() if e.get("event") == "disk.full"][1:] == []
        assert not (root / "quarantine").exists() and torn_files(root) == []
        assert "Traceback" not in (tmp_path / "daemon.log").read_text()


def test_a_read_only_inbox_is_still_read_and_its_bad_files_are_reported(
        tmp_path: Path) -> None:
    root = tmp_path / "root"
    inbox = root / "downloads" / "idx-format"
    with tmpfs(inbox, "1m"):
        for number in range(3):
            (inbox / f"form-{number}.pdf").write_bytes(form_pdf(number, tmp_path))
        (inbox / "truncated.pdf").write_bytes((FILES / "pdf" / "truncated.pdf").read_bytes())
        subprocess.run(["mount", "-o", "remount,ro", str(inbox)], check=True)
        with pytest.raises(OSError) as raised:
            (inbox / "probe").write_bytes(b"")
        assert raised.value.errno == errno.EROFS
        config = pipeline_config(tmp_path / "idxd.toml", root, None)
        daemon = DaemonProcess(config, tmp_path / "daemon.log")
        try:
            daemon.wait_started()
            wait_for(lambda: {str(r["holder_name"]) for r in sink_rows(root)}
                     == {holder(n) for n in range(3)}, 60, "the good forms",
                     alive=daemon.process)
            wait_for(lambda: bad_file_reported(root), 30, "the truncated form's alert",
                     alive=daemon.process)
            age_unseen(next((root / "data" / "parsed").glob("*.json")))
            wait_for(lambda: drained(root), 30, "a rescan past the bad file",
                     alive=daemon.process)
            assert daemon.stop() == 0
        finally:
            daemon.close()
        # Counted after the stop, so a second take the rescan started is counted too.
        rejected = [e for e in daemon.events() if e.get("event") == "form.rejected"]
        assert len(rejected) == 1 and daemon.has("quarantine.left_in_place")
        copy = root / "quarantine" / "parse" / "truncated.pdf"
        assert copy.read_bytes() == (inbox / "truncated.pdf").read_bytes()


def age_unseen(path: Path) -> None:
    """Move a finished file's mtime an hour back: no content changes and the daemon listens
    to no event for it, so only a rescan notices the new signature and settles it again (a
    skip: same content). The root drains again once a rescan has passed."""
    hour_ago_s = time.time() - 3600
    os.utime(path, (hour_ago_s, hour_ago_s))


def bad_file_reported(root: Path) -> bool:
    return any("truncated.pdf" in p.read_text() and "pdf_unreadable" in p.read_text()
               for p in (root / "alerts").glob("*.json"))

