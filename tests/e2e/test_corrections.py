"""Corrections, the holding chain and pledges through the running daemon, on SQLite and
PostgreSQL: forms are dropped as PDFs into `downloads/idx-format/` one after the other.

1. Unitras Pertama sells 920,000,000 SRTG shares on 24 April (LK-24042026-7431-00).
2. A correction form (its row "Koreksi atas laporan Penjualan", 900,000,000 shares the same
   day, LK-27042026-0100-00) supersedes it: one active row, the old one in the history.
3. A sale on 28 April starting from 3,300,000,000 shares, where the corrected filing ended at
   3,389,610,000: one `holding_chain_break` alert with the gap; the filing is stored.
4. A pledge ("Lainnya", "Gadai saham", holdings unchanged): stored as `others`, tagged
   `pledge`, with an info alert.
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

from handlers.domain.ksei.records import OTHERS, SELL, ParsedForm, TransactionRow
from tests.e2e.exchange import Exchange
from tests.e2e.scenario import srtg_form
from tests.e2e.sink_view import Tables, drop_pdf, outcomes, start
from tests.e2e.sink_view import tables as tables
from tests.pdfform import build_form_pdf
from tests.support import wait_for


def test_a_correction_then_a_gap_then_a_pledge(tmp_path: Path, exchange: Exchange,
                                               tables: Tables) -> None:
    root, forms = tmp_path / "root", tmp_path / "forms"
    original = srtg_form()
    fixed = holding(original, original.holding_before, 900_000_000, "Koreksi atas laporan "
                    "Penjualan", "2026-04-24")
    later = holding(original, 3_300_000_000, 100_000_000, "Penjualan", "2026-04-28")
    pledge = dataclasses.replace(
        later, holding_before=3_200_000_000, holding_after=3_200_000_000,
        percentage_before=later.percentage_after, rows=(TransactionRow(
            OTHERS, "Lainnya", "Saham Biasa", 500_000_000, None, "2026-04-29", "Gadai saham",
            "Langsung"),))
    daemon = start(tmp_path, root, exchange, tables)
    try:
        for number, (name, form) in enumerate([("LK-24042026-7431-00", original),
                                               ("LK-27042026-0100-00", fixed),
                                               ("LK-28042026-0200-00", later),
                                               ("LK-29042026-0300-00", pledge)], start=1):
            pdf = build_form_pdf(form, forms / f"{name}.pdf").read_bytes()
            drop_pdf(root, f"{name}.pdf", pdf)
            wait_for(lambda n=number: sum(outcomes(root).values()) == n, 60,
                     f"form {number} recorded", alive=daemon.process)
        assert daemon.stop() == 0
    finally:
        daemon.close()
    active = tables.active()
    assert [(r["transaction_type"], r["amount_transaction"], r["holding_after"])
            for r in active] == [("sell", 900_000_000, 3_389_610_000),
                                 ("sell", 100_000_000, 3_200_000_000),
                                 ("others", 500_000_000, 3_200_000_000)]
    assert active[0]["document_key"] == "LK-27042026-0100-00"
    (kept,) = tables.history()
    assert (kept["reason"], _json(kept["previous"])["amount_transaction"]) == (
        "correction", 920_000_000)
    assert _json(active[2]["tags"]) == ["pledge"]
    assert outcomes(root) == {"inserted": 3, "superseded": 1}
    alerts = [json.loads(p.read_text()) for p in (root / "alerts").glob("*.json")]
    (gap,) = [a for a in alerts if a["code"] == "holding_chain_break"]
    assert gap["context"]["details"]["missing_shares"] == 3_300_000_000 - 3_389_610_000
    assert gap["context"]["details"]["previous"]["key"] == active[0]["dedup_key"]
    (told,) = [a for a in alerts if a["code"] == "superseded"]
    assert told["context"]["details"]["changes"]["amount_transaction"] == [920_000_000,
                                                                          900_000_000]
    (unchanged,) = [a for a in alerts if a["code"] == "holdings_unchanged"]
    assert (unchanged["severity"], unchanged["needs_review"]) == ("info", False)
    assert not (root / "quarantine").exists()


def holding(form: ParsedForm, before: int, sold: int, printed: str, day: str) -> ParsedForm:
    """`form` as a sale of `sold` shares on `day` from `before`, its percentages to match."""
    total = Decimal(form.holding_before) / (form.percentage_before / 100)
    after = before - sold
    row = dataclasses.replace(form.rows[0], type=SELL, raw_type=printed, amount=sold, date=day)
    return dataclasses.replace(
        form, holding_before=before, holding_after=after, rows=(row,),
        percentage_before=_pct(before, total), percentage_after=_pct(after, total))


def _pct(holding: int, total: Decimal) -> Decimal:
    return (Decimal(holding) / total * 100).quantize(Decimal("0.001"))


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


def test_a_correction_restating_only_the_holdings_keeps_the_transactions(
        tmp_path: Path, exchange: Exchange, tables: Tables) -> None:
    """A correction announcement whose form has a table header and no rows: its holdings replace
    the filing's, the transactions it corrects are kept, the old version is in the history."""
    root, forms = tmp_path / "root", tmp_path / "forms"
    original = srtg_form()
    # The holdings restated 20,000,000 shares higher on both sides; no transaction row.
    total = Decimal(original.holding_before) / (original.percentage_before / 100)
    before, after = original.holding_before + 20_000_000, original.holding_after + 20_000_000
    restated = dataclasses.replace(original, rows=(), holding_before=before,
                                   holding_after=after, percentage_before=_pct(before, total),
                                   percentage_after=_pct(after, total))
    daemon = start(tmp_path, root, exchange, tables)
    try:
        drop_pdf(root, "LK-24042026-7431-00.pdf",
                 build_form_pdf(original, forms / "original.pdf").read_bytes())
        wait_for(lambda: sum(outcomes(root).values()) == 1, 60, "the original recorded",
                 alive=daemon.process)
        name = "LK-27042026-0101-00.pdf"
        sidecar = {"title": "Laporan Kepemilikan Saham (CORRECTION)", "ticker": "SRTG",
                   "published_at": "2026-04-27T09:00:00+07:00", "original_name": name,
                   "url": f"https://www.idx.co.id/StaticData/{name}"}
        inbox = root / "downloads" / "idx-format"
        (inbox / f"{name}.meta.json").write_text(json.dumps(sidecar))
        drop_pdf(root, name, build_form_pdf(restated, forms / "restated.pdf").read_bytes())
        wait_for(lambda: outcomes(root).get("superseded") == 1, 60, "the correction recorded",
                 alive=daemon.process)
        assert daemon.stop() == 0
    finally:
        daemon.close()
    (active,) = tables.active()
    assert (active["holding_before"], active["holding_after"], active["amount_transaction"]) == \
        (before, after, 920_000_000)
    assert [p["amount_transacted"] for p in _json(active["price_transaction"])] == \
        [920_000_000]
    (kept,) = tables.history()
    assert _json(kept["previous"])["holding_after"] == original.holding_after
