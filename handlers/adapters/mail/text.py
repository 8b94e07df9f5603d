"""The plain-text part of the window email: the same content as the HTML part, in the same order.

First a failed ingest (the window may be missing filings), then the filings inserted, the
corrections, the holding chain breaks and the sources that refused us, then what needs a person
(each with its action and the full address it refers to), and last what was still pending, the
late alerts and where the artifacts are. Spreadsheet attachments are quoted under their alert so
nobody must open them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handlers.adapters.mail import format as fmt
from handlers.adapters.mail.filings import FilingLine
from handlers.adapters.mail.findings import Findings, Task, task

if TYPE_CHECKING:
    from handlers.adapters.mail.message import Digest, Enclosures

PENDING_SHOWN = 20
SPREADSHEET_LINES = 40  # of each spreadsheet, in the text part; the alert file has it all
RULE = "-" * 72


def text_body(digest: Digest, findings: Findings, enclosures: Enclosures) -> str:
    lines = [title(digest), ""]
    if findings.ingest_failures:
        lines += [ingest_banner(), *(f"  {line}" for line in findings.ingest_failures), ""]
    lines += [summary(digest, findings), ""]
    lines += _section(f"Filings inserted ({len(digest.inserted)})",
                      [line for f in digest.inserted for line in filing_lines(f)],
                      "No filing was inserted in this window.")
    lines += _section("Corrections", [f"- {c}" for c in findings.corrections])
    lines += _section("Holding chain breaks", [f"- {c}" for c in findings.chain_breaks])
    lines += _section("Source health", [f"- {s}" for s in digest.sources])
    lines += _section(f"Needs a person ({len(findings.tasks)})",
                      [line for t in findings.tasks for line in task_lines(t)],
                      "Nothing needs a person in this window.")
    for extra in (pending_lines(digest.pending), late_lines(digest.late),
                  enclosure_lines(enclosures)):
        lines += _section(extra[0], extra[1:]) if extra else []
    return "\n".join(lines).rstrip("\n") + "\n"


def title(digest: Digest) -> str:
    window = digest.mail_window.window
    return (f"IDX filings and alerts, {window.start:%Y-%m-%d %H:%M} to "
            f"{window.end:%Y-%m-%d %H:%M} WIB")


def ingest_banner() -> str:
    return ("INGEST FAILED in this window: the exchange was not read completely, so filings "
            "published in it may be missing from this email. The exchange is asked again at "
            "the next poll; later filings arrive in a later email.")


def summary(digest: Digest, findings: Findings) -> str:
    others = {k: v for k, v in sorted(digest.filings.items()) if k != "inserted" and v}
    parts = [f"{len(digest.inserted)} filing(s) inserted",
             *(f"{count} {outcome.replace('_', ' ')}" for outcome, count in others.items()),
             f"{len(findings.tasks)} item(s) need a person"]
    if findings.corrections:
        parts.append(f"{len(findings.corrections)} correction(s)")
    if findings.chain_breaks:
        parts.append(f"{len(findings.chain_breaks)} holding chain break(s)")
    return ", ".join(parts) + "."


def filing_lines(filing: FilingLine) -> list[str]:
    return [f"{fmt.wib(filing.published)}  {filing.ticker}  {filing.kind}  {filing.holder}"
            f" ({filing.position})",
            f"  {filing.shares} shares at {filing.price} = {filing.value}",
            f"  holding {filing.before} → {filing.after}",
            f"  PDF: {filing.pdf_url or 'not known'}"]


def task_lines(item: Task, spreadsheets: Sequence[str] = ()) -> list[str]:
    return [f"{fmt.wib(item.published)}  {item.ticker}  {item.holder}  [{item.code}]",
            f"  Problem: {item.problem}",
            f"  Action: {item.action} " + (f"{item.link_label}: {item.link}" if item.link else
                                           "(no address of the document is known)"),
            *spreadsheets]


def alert_lines(alert: Mapping[str, Any], root: Path | None = None) -> list[str]:
    """One alert as the text part shows it under "Needs a person"."""
    return task_lines(task(alert, root), spreadsheet_lines(alert))


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


def enclosure_lines(enclosures: Enclosures) -> list[str]:
    lines = ["Attachments and artifacts"]
    if enclosures.artifact_note:
        lines.append(f"- {enclosures.artifact_note}")
    lines += [f"- attached: {item.path.name}" for item in enclosures.attached]
    lines += [f"- not attached (over the attachment budget; in the artifacts zip): "
              f"{item.path.name} ({fmt.size(item.size)})" for item in enclosures.left_out]
    return lines if len(lines) > 1 else []


def _section(heading: str, lines: Sequence[str], empty: str | None = None) -> list[str]:
    if not lines and empty is None:
        return []
    return [heading, RULE, *(lines or [empty or ""]), ""]
