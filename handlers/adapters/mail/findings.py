"""The window's alerts sorted into what the email says about them, each in words.

An `ingest_failed` alert goes to the top (the window may be missing filings); `superseded`
alerts are corrections (each changed field, old → new); `holding_chain_break` alerts say how
many shares are unaccounted for between two filings; every other alert is a row of what needs a
person: when the filing was published (WIB; not when the alert was made), the problem said
once, and one concrete action with the link it refers to. That link is the alert's document or
announcement address, or, for a form that only names its local file (a quarantined PDF), the
exchange address its download sidecar recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from daemon.files import read_json_object
from handlers import paths
from handlers.adapters.mail import format as fmt
from handlers.adapters.mail.filings import web_link
from handlers.domain.alerts import kind_of
from handlers.domain.filings.rows import publish_time

# (code fragments, what to do): the original mailer's rules, each pointing at the document.
ACTIONS = (
    (("price_deviation", "possible_zero_missing", "invalid_price"),
     "Recalculate the price against the reference range in the PDF, adjust and re-upload."),
    (("percent", "delta_pp", "holdings_mismatch", "mismatch_transaction_type", "holdings_"),
     "Review the holdings and percentages against the PDF; correct and re-upload."),
    (("issuer_mismatch", "issuer_unknown"),
     "Check the form's issuer against the announcement and the PDF; if the form is genuine, "
     "insert it by hand under the right symbol."),
    (("symbol", "company_resolve"),
     "Confirm the issuer's symbol against the PDF, fix the company map, then re-run."),
    (("transfer_uid_required",), "Pair both sides of the transfer manually."),
    (("missing_price", "stale_price"), "Fetch the latest price data and re-run validation."),
    (("ocr_unverified",), "Compare the OCR reading with the PDF; correct the row if it differs."),
)
MANUAL = "Insert manually from the PDF, then re-run."
DEFAULT_ACTION = "Review it against the PDF and re-run."
TOP, CORRECTION, CHAIN = "ingest_failed", "superseded", "holding_chain_break"
MONEY_FIELDS = frozenset({"price", "transaction_value"})


@dataclass(frozen=True)
class Task:
    """One row of what needs a person."""

    published: datetime | None
    ticker: str
    holder: str
    code: str
    problem: str
    action: str
    link: str | None
    link_label: str


@dataclass
class Findings:
    ingest_failures: list[str] = field(default_factory=list)
    corrections: list[str] = field(default_factory=list)
    chain_breaks: list[str] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)


def sort_alerts(alerts: Sequence[Mapping[str, Any]], root: Path) -> Findings:
    findings = Findings()
    for alert in alerts:
        code = str(alert.get("code") or "")
        if code == TOP:
            findings.ingest_failures.append(ingest_failure(alert))
        elif code == CORRECTION:
            findings.corrections.append(correction(alert))
        elif code == CHAIN:
            findings.chain_breaks.append(chain_break(alert))
        else:
            findings.tasks.append(task(alert, root))
    findings.tasks.sort(key=lambda t: (t.published is None, t.published or 0, t.ticker))
    return findings


def details_of(alert: Mapping[str, Any]) -> dict[str, Any]:
    """The alert's own details: its system reason's, where `build_alert` puts them."""
    for reason in alert.get("reasons") or []:
        if isinstance(reason, Mapping) and reason.get("code") == alert.get("code") \
                and isinstance(reason.get("details"), Mapping):
            return dict(reason["details"])
    value = alert.get("details")
    return dict(value) if isinstance(value, Mapping) else {}


def ingest_failure(alert: Mapping[str, Any]) -> str:
    details = details_of(alert)
    # Whatever the ingest recorded (HTTP status, day, page, error, …), in its own order.
    said = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in details.items()
                     if isinstance(value, str | int | float) and value != "")
    return f"{alert.get('message') or 'The announcement query failed'}" + \
        (f" ({said})." if said else ".")


def correction(alert: Mapping[str, Any]) -> str:
    details = details_of(alert)
    changes = _mapping(details.get("changes"))
    said = "; ".join(f"{name.replace('_', ' ')} {_value(name, pair[0])} → "
                     f"{_value(name, pair[1])}" for name, pair in changes.items()
                     if isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2)
    return (f"{_who(alert, details)}: filing {details.get('key') or '?'} replaces "
            f"{details.get('previous_key') or '?'}: {said or 'no field changed'}.")


def chain_break(alert: Mapping[str, Any]) -> str:
    details = details_of(alert)
    previous, current = _mapping(details.get("previous")), _mapping(details.get("current"))
    return (f"{_who(alert, details)}: the filing of {_when(previous.get('timestamp'))} left "
            f"{fmt.grouped(previous.get('holding_after'))} shares, the one of "
            f"{_when(current.get('timestamp'))} starts from "
            f"{fmt.grouped(current.get('holding_before'))}: "
            f"{fmt.grouped(details.get('missing_shares'))} shares unaccounted for; "
            "look for a filing missing between them.")


def task(alert: Mapping[str, Any], root: Path | None) -> Task:
    context = alert.get("context") or {}
    announcement = context.get("announcement") or {}
    link, label = link_of(alert, root)
    sidecar = _sidecar(alert, root)
    return Task(
        published=publish_time(announcement) or publish_time(sidecar),
        ticker=str(alert.get("symbol") or announcement.get("ticker") or sidecar.get("ticker")
                   or fmt.DASH),
        holder=str(alert.get("holder_name") or fmt.DASH),
        code=str(alert.get("code") or fmt.DASH),
        problem=problem(alert), action=suggested_action(alert), link=link, link_label=label)


def problem(alert: Mapping[str, Any]) -> str:
    """The problem said once: the message, then what the reasons add to it."""
    code = str(alert.get("code") or "")
    if code == "ocr_unverified" and alert.get("message") in (None, "", kind_of(code).message):
        return _ocr_problem(details_of(alert))  # the alert's own words name the field already
    said = [str(alert.get("message") or code or "Unknown problem")]
    for reason in alert.get("reasons") or []:
        text = str(reason.get("message") or "") if isinstance(reason, Mapping) else ""
        if text and not any(text in earlier or earlier in text for earlier in said):
            said.append(text)
    return "; ".join(said)


def _ocr_problem(details: Mapping[str, Any]) -> str:
    confidence = fmt.decimal_of(details.get("confidence"))
    how_sure = f" with {confidence * 100 if confidence <= 1 else confidence:.0f}% confidence" \
        if confidence is not None else ""
    field = str(details.get("field") or "a field").replace("_", " ")
    return (f"{field[:1].upper()}{field[1:]} on page {details.get('page') or '?'} was read "
            f"by OCR{how_sure} as “{details.get('text') or ''}” and is not verified")


def suggested_action(alert: Mapping[str, Any]) -> str:
    code, stage = str(alert.get("code") or ""), str(alert.get("stage") or "")
    manual_stage = stage in ("downloader", "parser") and not code.startswith("symbol")
    if alert.get("category") == "not_inserted" and manual_stage:
        return MANUAL
    for fragments, action in ACTIONS:
        if any(fragment in code for fragment in fragments):
            return action
    return MANUAL if stage in ("downloader", "parser") else DEFAULT_ACTION


def link_of(alert: Mapping[str, Any], root: Path | None) -> tuple[str | None, str]:
    """The address the action refers to, and what it is."""
    context = alert.get("context") or {}
    doc, announcement = context.get("doc") or {}, context.get("announcement") or {}
    for url, label in ((doc.get("url"), "PDF"), (announcement.get("url"), "PDF"),
                       (_sidecar(alert, root).get("url"), "PDF"),
                       (announcement.get("announcement_url"), "announcement")):
        if web_link(url):
            return str(url), label
    return None, "no link"


def _sidecar(alert: Mapping[str, Any], root: Path | None) -> dict[str, Any]:
    """The download sidecar of the form the alert names by its local file name."""
    name = str(((alert.get("context") or {}).get("doc") or {}).get("filename") or "")
    if root is None or not name or "/" in name or name.startswith("."):
        return {}
    for directory in (*paths.DOWNLOAD_KINDS.values(), paths.QUARANTINE / "parse"):
        sidecar = read_json_object(paths.sidecar_of(root / directory / name))
        if sidecar:
            return sidecar
    return {}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _who(alert: Mapping[str, Any], details: Mapping[str, Any]) -> str:
    ticker = details.get("symbol") or alert.get("symbol") or fmt.DASH
    return f"{ticker} {details.get('holder_name') or alert.get('holder_name') or ''}".strip()


def _value(name: str, value: Any) -> str:
    """A changed field's value as the filings table writes it (money in IDR, percentages)."""
    if fmt.decimal_of(value) is None:
        return fmt.DASH if value is None or value == "" else str(value)
    if name in MONEY_FIELDS:
        return fmt.idr(value)
    return fmt.percent(value) if name.startswith("share_percentage") else fmt.grouped(value)


def _when(value: Any) -> str:
    return fmt.wib(publish_time({"published_at": value})) if value else "an unknown time"
