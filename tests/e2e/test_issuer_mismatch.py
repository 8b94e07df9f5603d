"""A form filed under another issuer's announcement, through the real daemon: the exchange
announces a BYAN report whose attachment is SRTG's form. It ends as one `issuer_mismatch`
alert and no row, while the correctly announced form beside it is stored.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.e2e.checks import drained, sink_rows
from tests.e2e.daemon import DaemonProcess, pipeline_config
from tests.e2e.exchange import Exchange, ksei_item
from tests.e2e.scenario import form_pdf, holder
from tests.support import wait_for


def mismatch_alerts(root: Path, where: str = "alerts") -> list[dict[str, object]]:
    return [json.loads(path.read_text()) for path in root.glob(f"{where}/*issuer_mismatch*")]


def test_a_form_of_another_issuer_than_its_announcement_is_alerted_and_not_stored(
        tmp_path: Path, exchange: Exchange) -> None:
    published = datetime.now(UTC) - timedelta(minutes=5)
    for number, code in ((1, "SRTG"), (2, "BYAN")):  # both attachments are SRTG's forms
        path = f"/files/{number:05d}.pdf"
        exchange.files[path] = form_pdf(number, tmp_path / "forms")
        exchange.publish(ksei_item(number, published, exchange.origin + path, code=code))
    root = tmp_path / "root"
    daemon = DaemonProcess(pipeline_config(tmp_path / "idxd.toml", root, exchange.api_url),
                           tmp_path / "daemon.log")
    try:
        daemon.wait_started()
        wait_for(lambda: mismatch_alerts(root, "alerts_not_inserted/*") and sink_rows(root)
                 and drained(root), 60,
                 "the stored filing and the mismatch alert", alive=daemon.process)
        assert daemon.stop() == 0
    finally:
        daemon.close()
    assert [row["holder_name"] for row in sink_rows(root)] == [holder(1)]
    (alert,) = mismatch_alerts(root)  # one event, bucketed once for the window's email
    assert mismatch_alerts(root, "alerts_not_inserted/*") == [alert]
    assert (alert["category"], alert["holder_name"]) == ("not_inserted", holder(2))
    details = alert["reasons"][0]["details"]  # type: ignore[index]
    assert (details["field"], details["expected"]) == ("symbol", "BYAN.JK")
    # Field, page and text are the reader's provenance: the ticker is printed on page 1.
    assert "SRTG" in details["text"] and details["page"] == 1
    assert details["method"] == "text"
