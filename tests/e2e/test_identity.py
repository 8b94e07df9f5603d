"""One row per real filing through the running daemon, on SQLite and on PostgreSQL.

- A form dropped by hand into `downloads/idx-format/` is stored from its name alone; when the
  exchange then publishes it, the daemon downloads it again with its sidecar, and the one row
  takes the announcement's source URL and publish time (`context_updated`), with no second row.
- A form rewritten under the same name with other figures (920,000,000 shares sold became
  900,000,000) supersedes its row: one active row with the new figures, one history row with
  the old, a `superseded` outcome and alert naming both keys.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from handlers.domain.ksei.records import ParsedForm
from handlers.domain.windows import WIB
from tests.e2e.checks import torn_files
from tests.e2e.exchange import Exchange, ksei_item
from tests.e2e.scenario import srtg_form
from tests.e2e.sink_view import Tables, drop_pdf, outcomes, start
from tests.e2e.sink_view import tables as tables
from tests.pdfform import build_form_pdf
from tests.support import wait_for

SOLD, RESTATED = 920_000_000, 900_000_000


def test_a_hand_drop_then_the_published_form_is_one_row_with_the_announcements_context(
        tmp_path: Path, exchange: Exchange, tables: Tables) -> None:
    root, published = tmp_path / "root", datetime.now(UTC) - timedelta(minutes=2)
    url = exchange.origin + "/files/00001.pdf"
    item = ksei_item(1, published, url)
    name = item["Attachments"][0]["OriginalFilename"]  # LK-<date>-0001-00.pdf
    pdf = build_form_pdf(srtg_form(), tmp_path / "forms" / name).read_bytes()
    daemon = start(tmp_path, root, exchange, tables)
    try:
        drop_pdf(root, name, pdf)
        (row,) = wait_for(lambda: tables.active(), 60, "the hand-dropped form stored",
                          alive=daemon.process)
        assert row["source"] == name
        exchange.files["/files/00001.pdf"] = pdf
        exchange.publish(item)
        wait_for(lambda: [r["source"] for r in tables.active()] == [url], 60,
                 "the row to take the announcement's URL", alive=daemon.process)
        wait_for(lambda: outcomes(root).get("context_updated"), 30, "the outcome recorded")
        assert daemon.stop() == 0
    finally:
        daemon.close()
    (row,) = tables.active()
    stamp = published.astimezone(WIB).replace(tzinfo=None, microsecond=0).isoformat()
    assert _text(row["timestamp"]) == stamp
    (kept,) = tables.history()
    assert (kept["reason"], _json(kept["previous"])["source"]) == ("context", name)
    assert outcomes(root) == {"inserted": 1, "context_updated": 1}
    assert torn_files(root) == [] and not (root / "quarantine").exists()


def test_a_form_rewritten_under_its_name_supersedes_its_row_and_keeps_the_old_one(
        tmp_path: Path, exchange: Exchange, tables: Tables) -> None:
    root, name = tmp_path / "root", "LK-24042026-7431-00.pdf"
    first = build_form_pdf(srtg_form(), tmp_path / "forms" / "first.pdf").read_bytes()
    second = build_form_pdf(restated(srtg_form(), RESTATED), tmp_path / "forms" / "second.pdf"
                            ).read_bytes()
    daemon = start(tmp_path, root, exchange, tables)
    try:
        drop_pdf(root, name, first)
        wait_for(lambda: [r["amount_transaction"] for r in tables.active()] == [SOLD], 60,
                 "the first version stored", alive=daemon.process)
        old_key = tables.active()[0]["dedup_key"]
        drop_pdf(root, name, second)  # the same name, new content
        wait_for(lambda: [r["amount_transaction"] for r in tables.active()] == [RESTATED], 60,
                 "the new version to replace it", alive=daemon.process)
        wait_for(lambda: outcomes(root).get("superseded"), 30, "the outcome recorded")
        assert daemon.stop() == 0
    finally:
        daemon.close()
    (row,) = tables.active()
    (kept,) = tables.history()
    assert (kept["dedup_key"], kept["superseded_by"]) == (old_key, row["dedup_key"])
    assert _json(kept["previous"])["amount_transaction"] == SOLD
    (filing,) = json.loads((root / "data" / "filings" / "LK-24042026-7431-00.json"
                            ).read_text())["filings"]
    assert (filing["outcome"], filing["previous_key"]) == ("superseded", old_key)
    (alert,) = [json.loads(p.read_text()) for p in (root / "alerts").glob("*superseded*")]
    assert alert["context"]["details"]["changes"]["amount_transaction"] == [SOLD, RESTATED]
    assert torn_files(root) == [] and not (root / "quarantine").exists()


def restated(form: ParsedForm, sold: int) -> ParsedForm:
    after = form.holding_before - sold
    percentage = (form.percentage_before * after / form.holding_before).quantize(Decimal("0.01"))
    rows = (dataclasses.replace(form.rows[0], amount=sold),)
    return dataclasses.replace(form, rows=rows, holding_after=after, percentage_after=percentage)


def _json(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else value.isoformat()
