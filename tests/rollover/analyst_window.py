"""One busy window as the pipeline leaves it, for the analyst email tests.

Two filings inserted (SRTG and BYAN, the values of the real 24 April 2026 forms), their parsed
records (with the holder's position) and download sidecars; alerts in the shapes the stages
write them: a correction (`superseded`), a holding chain break, an OCR reading not verified, a
price deviation, a quarantined truncated PDF (only its local file name, its address in the
sidecar) and, when asked, a failed ingest. A source rested during the window is set in the
ledger the way source health records it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from handlers.domain.alerts import build_alert
from tests.rollover.conftest import STUB, WINDOW_START, WindowFiles

BASE = "https://www.idx.co.id/StaticData/NewsAndAnnouncement/ANNOUNCEMENTSTOCK/From_KSEI/"
SRTG_PDF, BYAN_PDF, ESSA_PDF = (f"{BASE}LK-24042026-7431-00.pdf-0.pdf",
                                f"{BASE}LK-24042026-9589-00.pdf-0.pdf",
                                f"{BASE}LK-24042026-0042-00.pdf-0.pdf")
MADE_AT = "2026-04-24T10:59:00+00:00"  # 17:59 WIB: when the alerts were made, never shown


def build(files: WindowFiles, *, ingest_failed: bool = False) -> None:
    filing(files, "SRTG_LK-24042026-7431-00.json", "SRTG", "2026-04-24T17:03:00+07:00",
           SRTG_PDF, position="Direktur Utama", row=SRTG_ROW)
    filing(files, "BYAN_LK-24042026-9589-00.json", "BYAN", "2026-04-24T16:53:57+07:00",
           BYAN_PDF, position=None, row=BYAN_ROW)
    for name, alert in alerts().items():
        files.alert(alert, name)
    sidecar(files, "ESSA_LK-24042026-0042-00.pdf", "ESSA", "2026-04-24T16:21:03+07:00",
            ESSA_PDF)
    if ingest_failed:
        files.alert(build_alert(code="ingest_failed", timestamp="2026-04-24T10:30:00+00:00",
                                details={"status": 403, "day": "2026-04-24", "page": 1},
                                doc={"filename": "exchange-20260424"}), "ingest.json")
    files.ctx.ledger.set_state("source.health.www.idx.co.id", {
        "refusals": 3, "blocked_since": (WINDOW_START + timedelta(minutes=77)).isoformat(),
        "blocked_until": (WINDOW_START + timedelta(hours=3)).isoformat()})


SRTG_ROW = {"symbol": "SRTG.JK", "timestamp": "2026-04-24T17:03:00",
            "transaction_type": "sell", "holder_name": "Unitras Pertama",
            "holding_before": 4289610000, "holding_after": 3369610000,
            "amount_transaction": 920000000, "share_percentage_before": "31.623",
            "share_percentage_after": "24.841", "price": "1770.000",
            "transaction_value": "1628400000000.00", "holder_type": "insider",
            "source": SRTG_PDF}
BYAN_ROW = {"symbol": "BYAN.JK", "timestamp": "2026-04-24T16:53:57",
            "transaction_type": "buy", "holder_name": "Oliver Khaw Kar Heng",
            "holding_before": 194600, "holding_after": 211200, "amount_transaction": 16600,
            "share_percentage_before": "0.005", "share_percentage_after": "0.006",
            "price": "12248.22", "transaction_value": "203320400.00",
            "holder_type": "insider", "source": BYAN_PDF}


def filing(files: WindowFiles, name: str, ticker: str, published: str, url: str, *,
           position: str | None, row: dict[str, Any]) -> None:
    announcement = {"ticker": ticker, "published_at": published, "url": url,
                    "window": STUB}
    write(files.root / "data/parsed" / name, {"announcement": announcement,
                                              "symbol": row["symbol"], "position": position})
    files.mark_done("generate", files.root / "data/parsed" / name)
    write(files.root / "data/filings" / name, {
        "schema": "idxd.filings/1", "parsed": name, "announcement": announcement,
        "filings": [{"dedup_key": f"{ticker}-key", "outcome": "inserted", "row": row}]})


def sidecar(files: WindowFiles, pdf: str, ticker: str, published: str, url: str) -> None:
    write(files.root / "downloads/idx-format" / f"{pdf}.meta.json",
          {"ticker": ticker, "published_at": published, "url": url, "local_name": pdf})


def alerts() -> dict[str, dict[str, Any]]:
    srtg = {"ticker": "SRTG", "published_at": "2026-04-24T17:03:00+07:00", "url": SRTG_PDF}
    byan = {"ticker": "BYAN", "published_at": "2026-04-24T16:53:57+07:00", "url": BYAN_PDF}
    return {
        "superseded.json": build_alert(
            code="superseded", category="inserted", timestamp=MADE_AT, announcement=srtg,
            details={"key": "SRTG-key", "previous_key": "SRTG-old-key", "symbol": "SRTG.JK",
                     "holder_name": "Unitras Pertama",
                     "changes": {"holding_after": [3369700000, 3369610000],
                                 "price": ["1775.000", "1770.000"]}}),
        "chain.json": build_alert(
            code="holding_chain_break", category="inserted", timestamp=MADE_AT,
            announcement=srtg, details={
                "previous": {"key": "SRTG-prev", "holding_after": 4279220000,
                             "timestamp": "2026-04-20T09:15:00"},
                "current": {"key": "SRTG-key", "holding_before": 4289610000,
                            "timestamp": "2026-04-24T17:03:00"},
                "missing_shares": 10390000, "symbol": "SRTG.JK",
                "holder_name": "Unitras Pertama"}),
        "ocr.json": build_alert(
            code="ocr_unverified", category="inserted", timestamp=MADE_AT, announcement=byan,
            doc={"filename": "BYAN_LK-24042026-9589-00.pdf", "url": BYAN_PDF},
            details={"field": "holding_after", "page": 2, "text": "211.200",
                     "confidence": 0.62},
            filing={"symbol": "BYAN.JK", "holder_name": "Oliver Khaw Kar Heng"}),
        "price.json": build_alert(
            code="price_deviation_vs_market", category="inserted", timestamp=MADE_AT,
            stage="filings", announcement=byan,
            reasons=[{"scope": "row", "code": "price_deviation_vs_market",
                      "message": "Price 12,248.22 is 31% above the last close 9,350"}],
            doc={"filename": "BYAN_LK-24042026-9589-00.pdf", "url": BYAN_PDF},
            filing={"symbol": "BYAN.JK", "holder_name": "Oliver Khaw Kar Heng",
                    "value": 203320400}),
        "quarantined.json": build_alert(
            code="pdf_unreadable", timestamp=MADE_AT,
            message="ESSA_LK-24042026-0042-00.pdf cannot be read: the file is truncated "
                    "(no %%EOF at its end)",
            doc={"filename": "ESSA_LK-24042026-0042-00.pdf"},
            details={"error_type": "RejectedInput", "attempts": 1,
                     "quarantine_path": "quarantine/parse/ESSA_LK-24042026-0042-00.pdf"}),
    }


def write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
