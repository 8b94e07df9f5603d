"""The alerts of the generate stage, and the verdict on each filing they are made from.

Per filing: one review alert when a human must look (kept out, refused by the database, or
stored with warnings), and alerts that inform: a zero-change filing (`holdings_unchanged`, info),
a new version that replaced a stored one (`superseded`, info, with both keys and what changed)
and a gap in the holder's chain (`holding_chain_break`, warning, with both filings and the
missing shares). The event's figures are in the alert's `context.details` (and its reason's
details), which the window email shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handlers.context import PipelineContext
from handlers.domain import alerts
from handlers.domain.filings import versions
from handlers.domain.filings.aggregate import aggregate
from handlers.domain.filings.rows import Filing, document_url, normalize_symbol
from handlers.domain.filings.validate import Reason, reason, rejecting
from handlers.domain.ksei.records import ParsedForm
from handlers.settings import FilingsSettings

INSERTED, PRESENT, REJECTED, ERROR = "inserted", "already_present", "rejected", "error"
SUPERSEDED, CONTEXT_UPDATED = versions.SUPERSEDED, versions.CONTEXT_UPDATED
STORED = (INSERTED, SUPERSEDED)  # outcomes that put this document's figures in the sink


@dataclass
class Judged:
    filing: Filing
    reasons: list[Reason]
    outcome: str = REJECTED
    error: str | None = None
    previous_key: str | None = None  # the stored version this one updated or replaced
    changes: dict[str, list[Any]] = field(default_factory=dict)
    chain_break: dict[str, Any] | None = None


def alerts_for(ctx: PipelineContext, form: ParsedForm, item: Judged,
               settings: FilingsSettings) -> list[Path]:
    found = [_review_alert(ctx, form, item, settings)]
    if item.outcome in STORED:
        fields = filing_fields(item.filing)
        found += [_info_alert(ctx, form, r, item) for r in item.reasons if _is_info(r)]
        if item.outcome == SUPERSEDED:
            found.append(_detail_alert(ctx, form, "superseded", {
                "key": item.filing.row["dedup_key"], "previous_key": item.previous_key,
                "changes": item.changes, "symbol": fields["symbol"],
                "holder_name": fields["holder_name"]}, fields))
        if item.chain_break:
            found.append(_detail_alert(ctx, form, "holding_chain_break", item.chain_break,
                                       fields))
    return [p for p in found if p is not None]


def _is_info(item: Reason) -> bool:
    return alerts.kind_of(item["code"]).severity == "info"


def _review_alert(ctx: PipelineContext, form: ParsedForm, item: Judged,
                  settings: FilingsSettings) -> Path | None:
    """The alert for a human: a filing kept out, refused, or stored with warnings."""
    blocking = rejecting(item.reasons, settings)
    warnings = [r for r in item.reasons if not _is_info(r)
                and not (item.outcome == SUPERSEDED and r["code"] == "correction_filing")]
    if item.outcome == ERROR:
        reasons = [reason("sink_error", {"error": item.error}, scope="system"), *item.reasons]
        category = alerts.NOT_INSERTED
    elif item.outcome == REJECTED:
        # The reasons that kept it out come first: the alert is named after the first one.
        reasons = blocking + [r for r in item.reasons if r not in blocking]
        category = alerts.NOT_INSERTED
    elif item.outcome in STORED and warnings:
        reasons, category = warnings, alerts.INSERTED
    else:
        return None
    return write_alert(ctx, form, reasons, category, filing_fields(item.filing))


def _info_alert(ctx: PipelineContext, form: ParsedForm, info: Reason, item: Judged) -> Path:
    """A stored zero-change filing, told for information (no review)."""
    fields = filing_fields(item.filing)
    details = {**info["details"], "tags": item.filing.row["tags"], "symbol": fields["symbol"],
               "holder_name": fields["holder_name"]}
    return write_alert(ctx, form, [info], alerts.INSERTED, fields, details)


def _detail_alert(ctx: PipelineContext, form: ParsedForm, code: str, details: dict[str, Any],
                  fields: dict[str, Any]) -> Path:
    alert_reason = {"scope": "filing", "code": code, "message": alerts.kind_of(code).message,
                    "details": details}
    return write_alert(ctx, form, [alert_reason], alerts.INSERTED, fields, details)


def form_alert(ctx: PipelineContext, form: ParsedForm, reasons: list[Reason],
               lead: list[Reason]) -> Path:
    """One not-inserted alert for the whole form, led by the reasons that keep the form out,
    then the other rejecting ones, then the rest."""
    blocking = lead + [r for r in rejecting(reasons, ctx.config.filings) if r not in lead]
    ordered = blocking + [r for r in reasons if r not in blocking]
    totals = aggregate(form.rows)
    fields = {"symbol": normalize_symbol(form.symbol), "holder_name": form.holder_name,
              "type": totals.type, "amount": totals.amount, "price": totals.price,
              "value": totals.value}
    return write_alert(ctx, form, ordered, alerts.NOT_INSERTED, fields)


def write_alert(ctx: PipelineContext, form: ParsedForm, reasons: list[Reason], category: str,
                 fields: dict[str, Any], details: dict[str, Any] | None = None) -> Path:
    alert = alerts.build_alert(
        code=reasons[0]["code"], message=reasons[0]["message"],
        timestamp=ctx.now().isoformat(), stage="filings",
        category=category, reasons=reasons, filing=fields,
        doc={"filename": form.document.get("filename"), "url": document_url(form),
             "title": (form.announcement or {}).get("title")},
        announcement=announcement_of(form))
    if details is not None:  # what the email shows of the event, beside the documents
        alert["context"]["details"] = details
    return alerts.write_alert(ctx.root, alert, durable=ctx.durable)


def filing_fields(filing: Filing) -> dict[str, Any]:
    row = filing.row
    return {"symbol": row["symbol"], "holder_name": row["holder_name"],
            "type": row["transaction_type"], "amount": row["amount_transaction"],
            "price": row["price"], "value": row["transaction_value"]}


def announcement_of(form: ParsedForm) -> dict[str, Any] | None:
    """The announcement without the exchange's raw item (it is kept with the announcements)."""
    if not form.announcement:
        return None
    return {k: v for k, v in form.announcement.items() if k != "raw"}
