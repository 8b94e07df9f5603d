"""One alert schema for every stage, and one file per alert event.

The schema is the original's (`timestamp`, `category`, `stage`, `code`, `message`, `reasons`,
`context`, `severity`, `needs_review`, plus filing fields where known). Each alert is written
once to `alerts/` under a name made of its stage, document and a hash of its content, so the
same event raised twice (a handler re-run after a crash) lands on the same file and is never
rewritten or doubled.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from daemon.errors import RejectedInput
from daemon.scrub import scrub_data
from handlers import paths
from handlers.adapters.json_files import write_json
from handlers.domain.filings.rows import publish_time
from handlers.domain.windows import to_wib

INSERTED = "inserted"
NOT_INSERTED = "not_inserted"
FILING_FIELDS = ("symbol", "holder_name", "type", "amount", "price", "value")


@dataclass(frozen=True)
class AlertKind:
    stage: str
    severity: str
    message: str


# code -> where it comes from, how bad it is, and what it means (the original's catalogue,
# plus the codes idxd adds).
KINDS: dict[str, AlertKind] = {
    "download_failed": AlertKind("downloader", "fatal", "Download failed after several attempts"),
    "unsupported_format": AlertKind("downloader", "fatal", "The attachment is not a valid PDF"),
    "download_refused": AlertKind("downloader", "fatal",
                                  "The attachment was refused (host, size or name not allowed)"),
    "content_mismatch": AlertKind("downloader", "fatal",
                                  "The attachment does not match its announcement"),
    "non_idx_document": AlertKind("downloader", "warning",
                                  "No IDX-format form in the announcement; review it by hand"),
    "ingest_failed": AlertKind("ingest", "fatal",
                               "The exchange refused the announcement query; retried next tick"),
    "invalid_announcements": AlertKind("downloader", "fatal",
                                       "The announcements file could not be read"),
    "symbol_missing": AlertKind("parser", "fatal", "The issuer's symbol is not in the company map"),
    "table_not_found": AlertKind("parser", "fatal", "No transaction table found in the form"),
    "parse_exception": AlertKind("parser", "fatal", "Unexpected error while parsing"),
    "number_parse_error": AlertKind("parser", "fatal", "A numeric field could not be read"),
    "date_parse_error": AlertKind("parser", "fatal", "A date could not be read"),
    "no_text_extracted": AlertKind("parser", "fatal", "The PDF has no text layer"),
    "pdf_unreadable": AlertKind("parser", "fatal", "The PDF is encrypted, corrupt or truncated"),
    "label_missing": AlertKind("parser", "fatal", "A required field of the form is missing"),
    "symbol_name_mismatch": AlertKind("parser", "warning",
                                      "The symbol does not match the company name"),
    "company_resolve_ambiguous": AlertKind("parser", "warning",
                                           "The company could not be resolved with confidence"),
    "parser_warning": AlertKind("parser", "warning", "The form was parsed with partial data"),
    "holdings_unchanged": AlertKind("filings", "info",
                                    "Holdings are equal before and after (a pledge or a transfer "
                                    "between own accounts); stored as a zero-change filing"),
    "price_deviation_vs_market": AlertKind("filings", "warning",
                                           "Price deviates from the last market close"),
    "price_deviation_within_doc": AlertKind("filings", "soft",
                                            "Prices within the document deviate from each other"),
    "possible_zero_missing": AlertKind("filings", "warning",
                                       "Price looks off by a factor of 10 or 100"),
    "stale_price": AlertKind("filings", "soft", "The market reference price is stale"),
    "missing_price": AlertKind("filings", "soft", "No market reference price"),
    "percent_discrepancy": AlertKind("filings", "hard",
                                     "Percentages disagree with the holdings"),
    "delta_pp_mismatch": AlertKind("filings", "hard",
                                   "The change in percentage points does not add up"),
    "holdings_mismatch": AlertKind("filings", "hard",
                                   "Holding before plus net shares is not the holding after"),
    "mismatch_transaction_type": AlertKind("filings", "hard",
                                           "Transaction type contradicts the holdings"),
    "transfer_uid_required": AlertKind("filings", "warning",
                                       "Share transfer: a human must pair both sides"),
    "missing_required_field": AlertKind("filings", "hard", "A required field is missing"),
    "invalid_price_transaction": AlertKind("filings", "hard", "A transaction row is invalid"),
    "mixed_transaction_type": AlertKind("filings", "hard",
                                        "Mixed transaction types with no valid chain"),
    "transfer_only_transaction": AlertKind("filings", "hard",
                                           "The document only transfers shares"),
    "non_common_shares": AlertKind("filings", "hard", "Share class other than common shares"),
    "issuer_mismatch": AlertKind("filings", "hard",
                                 "The form's issuer is not the announcement's or the company "
                                 "map's; nothing stored"),
    "issuer_unknown": AlertKind("filings", "warning",
                                "The form's issuer is not in the company map; its name could "
                                "not be checked"),
    "label_in_value": AlertKind("filings", "hard",
                                "A value holds the form's label or header text: a reading error"),
    "value_misplaced": AlertKind("filings", "hard",
                                 "A name reads as another field's value: read from the wrong "
                                 "row"),
    "ocr_read": AlertKind("filings", "warning",
                          "Stored from an OCR reading; names and purposes are not verifiable "
                          "by any check: compare them with the PDF"),
    "ocr_unverified": AlertKind("filings", "hard",
                                "Read by OCR and not verified by the consistency checks; held, "
                                "not stored"),
    "sink_error": AlertKind("filings", "fatal", "The filing could not be written to the database"),
    "correction_filing": AlertKind("filings", "warning",
                                   "The form corrects an earlier report; check the earlier filing"),
    "superseded": AlertKind("filings", "info",
                            "A new version of a filing replaced the stored one; the previous "
                            "version is kept in the history"),
    "holding_chain_break": AlertKind("filings", "warning",
                                     "The holding before does not match the holder's last "
                                     "holding after in this issuer; a filing may be missing"),
    "publish_time_missing": AlertKind("filings", "warning",
                                      "No publish time; dated by its last transaction"),
    "parsed_invalid": AlertKind("filings", "fatal", "The parsed record cannot be read"),
    "quarantined": AlertKind("daemon", "fatal", "A file failed for good and was quarantined"),
    "retries_exhausted": AlertKind("daemon", "warning",
                                   "A service stayed unavailable through every retry; the file "
                                   "waits and is tried again later"),
}

SEVERITY_NEEDS_REVIEW = {"fatal": True, "hard": True, "warning": True, "soft": False,
                         "info": False}


def kind_of(code: str) -> AlertKind:
    return KINDS.get(code, AlertKind("pipeline", "warning", code))


def build_alert(
    *,
    code: str,
    timestamp: str,
    stage: str | None = None,
    category: str = NOT_INSERTED,
    message: str | None = None,
    severity: str | None = None,
    needs_review: bool | None = None,
    reasons: Sequence[Mapping[str, Any]] = (),
    doc: Mapping[str, Any] | None = None,
    announcement: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
    filing: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An alert in the common schema. `timestamp` is ISO-8601 UTC.

    With no reasons, one `system` reason is built from the code and `details`; with reasons and
    details, the details are appended as an extra `system` reason (the original's rule).
    """
    kind = kind_of(code)
    severity = severity or kind.severity
    all_reasons = [dict(reason) for reason in reasons]
    if not all_reasons or details:
        all_reasons.append({"scope": "system", "code": code, "message": message or kind.message,
                            "details": dict(details or {})})
    alert: dict[str, Any] = {
        "timestamp": timestamp,
        "category": category,
        "stage": stage or kind.stage,
        "code": code,
        "message": message or kind.message,
        "reasons": all_reasons,
        "context": {"doc": dict(doc) if doc else None,
                    "announcement": dict(announcement) if announcement else None},
        "severity": severity,
        "needs_review": SEVERITY_NEEDS_REVIEW.get(severity, True)
        if needs_review is None else needs_review,
    }
    for name in FILING_FIELDS:
        if filing and filing.get(name) is not None:
            alert[name] = filing[name]
    return alert


def alert_file_name(alert: Mapping[str, Any]) -> str:
    """`<stage>-<document>-<code>-<hash>.json`; the hash ignores the timestamp."""
    identity = {key: value for key, value in alert.items() if key != "timestamp"}
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()
    doc = (alert.get("context") or {}).get("doc") or {}
    document = _slug(Path(str(doc.get("filename") or "none")).stem)[:60]
    return f"{alert['stage']}-{document}-{alert['code']}-{digest[:12]}.json"


def write_alert(root: Path, alert: Mapping[str, Any], *, durable: bool = True) -> Path:
    """Write one alert file under `root/alerts/`; an identical alert already there is kept.
    Secrets are scrubbed first (an error text may quote one), so the name is the clean
    content's."""
    clean = scrub_data(dict(alert))
    path = root / paths.ALERTS / alert_file_name(clean)
    if not path.exists():
        write_json(path, clean, durable=durable)
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "none"


def alert_instant(alert: dict[str, Any], path: Path) -> datetime:
    """The announcement's publish time, else the alert's timestamp (its arrival)."""
    context = alert.get("context")
    announcement = context.get("announcement") if isinstance(context, dict) else None
    published = publish_time(announcement if isinstance(announcement, dict) else None)
    if published is not None:
        return published
    try:
        return to_wib(datetime.fromisoformat(str(alert["timestamp"]).replace("Z", "+00:00")))
    except (KeyError, ValueError) as error:
        raise RejectedInput("alert_invalid", f"{path.name} has no usable timestamp") from error
