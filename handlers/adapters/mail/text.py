"""What the alert email says about each alert, as plain text: fields, action and links.

The suggested action follows the original mailer's rules (insert by hand what the downloader or
parser could not read, recalculate prices, review percentages, confirm symbols, pair transfers,
fetch prices); the links are the document's and the announcement's URLs when they are web
addresses. Both the text part and the HTML table take their values from `alert_fields`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from handlers.domain.window_members import MailWindow
from handlers.domain.windows import to_wib

PENDING_SHOWN = 20
ACTIONS = (
    (("price_deviation", "possible_zero_missing", "invalid_price"),
     "Recalculate price vs reference range, adjust, and re-upload."),
    (("percent", "delta_pp", "holdings_mismatch", "mismatch_transaction_type", "holdings_"),
     "Review holdings/percentages; correct and re-upload."),
    (("symbol", "company_resolve"), "Confirm correct symbol mapping, then re-run."),
    (("transfer_uid_required",), "Pair both sides manually."),
    (("missing_price", "stale_price"), "Fetch latest price data and re-run validation."),
)
SPREADSHEET_LINES = 40  # of each spreadsheet, in the text part; the alert file has it all
MANUAL = "Insert manually using the attached link, then re-run."
DEFAULT_ACTION = "Review and re-run."


def suggested_action(alert: Mapping[str, Any]) -> str:
    code, stage = str(alert.get("code") or ""), str(alert.get("stage") or "")
    manual_stage = stage in ("downloader", "parser") and not code.startswith("symbol")
    if alert.get("category") == "not_inserted" and manual_stage:
        return MANUAL
    for fragments, action in ACTIONS:
        if any(fragment in code for fragment in fragments):
            return action
    return MANUAL if stage in ("downloader", "parser") else DEFAULT_ACTION


def web_link(value: Any) -> str | None:
    text = str(value or "")
    return text if text.startswith(("https://", "http://")) else None


def alert_fields(alert: Mapping[str, Any]) -> dict[str, Any]:
    context = alert.get("context") or {}
    doc, announcement = context.get("doc") or {}, context.get("announcement") or {}
    reasons = [r for r in alert.get("reasons") or [] if isinstance(r, Mapping)]
    return {
        "time": _wib_time(alert.get("timestamp")),
        "stage": str(alert.get("stage") or "-"),
        "category": str(alert.get("category") or "-"),
        "code": str(alert.get("code") or "-"),
        "problem": str(alert.get("message") or alert.get("code") or "-"),
        "action": suggested_action(alert),
        "symbol": str(alert.get("symbol") or announcement.get("ticker") or "-"),
        "holder": str(alert.get("holder_name") or "-"),
        "value": "-" if alert.get("value") is None else str(alert["value"]),
        "doc": web_link(doc.get("url")),
        "doc_name": str(doc.get("filename") or "-"),
        "announcement": web_link(announcement.get("announcement_url")
                                 or announcement.get("url")),
        "reasons": [f"{r.get('code')}: {r.get('message')}" for r in reasons
                    if r.get("code") != alert.get("code") or r.get("scope") != "system"],
    }


def alert_lines(alert: Mapping[str, Any]) -> list[str]:
    f = alert_fields(alert)
    line = (f"{f['time']} | {f['stage']} | {f['category']} | {f['code']}: {f['problem']} | "
            f"action: {f['action']} | {f['symbol']} holder={f['holder']} val={f['value']} | "
            f"doc={f['doc'] or f['doc_name']} ann={f['announcement'] or '-'}")
    return [line, *(f"  reason: {reason}" for reason in f["reasons"]),
            *spreadsheet_lines(alert)]


def spreadsheet_lines(alert: Mapping[str, Any]) -> list[str]:
    """The text of spreadsheet attachments the alert carries, so nobody must open them."""
    lines: list[str] = []
    for reason in alert.get("reasons") or []:
        details = reason.get("details") if isinstance(reason, Mapping) else None
        for sheet in (details or {}).get("spreadsheets") or []:
            if isinstance(sheet, Mapping):
                text = str(sheet.get("text") or "").splitlines()[:SPREADSHEET_LINES]
                lines += [f"  spreadsheet {sheet.get('file')}:", *(f"    {row}" for row in text)]
    return lines


def header_lines(mail_window: MailWindow, alerts: Sequence[Mapping[str, Any]],
                 filings: Mapping[str, int]) -> list[str]:
    window = mail_window.window
    lines = [f"IDX Alerts — {len(alerts)} alert(s) in the window "
             f"{window.start:%Y-%m-%d %H:%M} to {window.end:%Y-%m-%d %H:%M} WIB",
             f"Stages: {count_by(alerts, 'stage')}",
             f"Severity: {count_by(alerts, 'severity')}",
             f"Categories: {count_by(alerts, 'category')}"]
    if filings:
        lines.append("Filings: " + ", ".join(f"{k}:{filings[k]}" for k in sorted(filings)))
    return lines


def count_by(alerts: Sequence[Mapping[str, Any]], key: str) -> str:
    counts = Counter(str(alert.get(key) or "-") for alert in alerts)
    return ", ".join(f"{name}:{counts[name]}" for name in sorted(counts)) or "-"


def pending_lines(pending: Sequence[str]) -> list[str]:
    if not pending:
        return []
    shown = [f"- {path}" for path in pending[:PENDING_SHOWN]]
    more = len(pending) - PENDING_SHOWN
    return [f"Still pending when the window closed (maximum wait reached): {len(pending)} "
            "file(s); their alerts will come in a later email.", *shown,
            *([f"- … and {more} more"] if more > 0 else [])]


def late_lines(late: Sequence[str]) -> list[str]:
    if not late:
        return []
    return ["Late alerts (their own window had closed already; included here):",
            *(f"- {path}" for path in late)]


def _wib_time(value: Any) -> str:
    try:
        return f"{to_wib(datetime.fromisoformat(str(value).replace('Z', '+00:00'))):%Y-%m-%d %H:%M}"
    except ValueError:
        return str(value or "-")
