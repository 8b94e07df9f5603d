"""The generate stage: `data/parsed/<name>.json` -> filings in the sink, their outcomes in
`data/filings/<name>.json`, and one alert per filing that needs a human in `alerts/`.

A form is first checked as a whole (issuer, holdings, percentages, label text in values, and
for an OCR reading whether every check confirms it); a form in doubt stores nothing and raises
one alert. Otherwise it becomes one filing per transaction type (chained when there are
several), enriched from the company map, validated, and the filings that pass are stored
through the sink exactly once (`dedup_key`). The outcome of each filing is `inserted` (it is
in the database from this document, including on a replay), `already_present` (stored earlier
from another document), `rejected` (with reasons) or `error` (the database refused it). A
database that is down raises `TransientError` before anything is written, so the file simply
waits. Outputs carry no wall-clock time, so a re-run writes the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from daemon.errors import RejectedInput
from daemon.files import write_json_atomic
from daemon.scrub import scrub_data
from handlers import paths
from handlers.adapters.sinks import SinkRefused
from handlers.context import PipelineContext
from handlers.domain import alerts
from handlers.domain.filings.aggregate import aggregate, split_legs
from handlers.domain.filings.checks import check_form, ocr_hold
from handlers.domain.filings.provenance import filing_provenance
from handlers.domain.filings.rows import Filing, build_filing, document_url, normalize_symbol
from handlers.domain.filings.validate import Reason, reason, rejecting, validate
from handlers.domain.ksei.records import ParsedForm
from handlers.settings import FilingsSettings

SCHEMA = "idxd.filings/1"
INSERTED, PRESENT, REJECTED, ERROR = "inserted", "already_present", "rejected", "error"
log = structlog.get_logger()


@dataclass
class Judged:
    filing: Filing
    reasons: list[Reason]
    outcome: str = REJECTED
    error: str | None = None


def handle(path: Path, ctx: PipelineContext) -> list[Path]:
    form = read_form(path)
    settings = ctx.config.filings
    checked = check_form(form, ctx.company_map.rows, settings)
    legs = split_legs(form)
    if not legs:
        return _no_chain(path, ctx, form, checked)
    company = ctx.company_map.rows.get(normalize_symbol(form.symbol))
    judged, held = judge(form, [build_filing(form, leg, company) for leg in legs], checked,
                         settings)
    blocking = rejecting(held + checked, settings)
    if blocking:
        # The form itself is in doubt: none of its filings is stored, and one alert says why.
        alert_paths = [_form_alert(ctx, form, _distinct(r for j in judged for r in j.reasons),
                                   lead=blocking)]
    else:
        store(ctx, [j for j in judged if not rejecting(j.reasons, settings)])
        alert_paths = [p for j in judged
                       if (p := _alert_for(ctx, form, j, settings)) is not None]
    # A database's refusal is kept in the record, and it may quote a secret.
    output = write_json_atomic(ctx.root / paths.FILINGS / path.name,
                               scrub_data(_record(path, form, judged, alert_paths)),
                               durable=ctx.durable)
    for item in judged:
        log.info("filing.recorded", symbol=item.filing.row["symbol"], outcome=item.outcome,
                 dedup_key=item.filing.row["dedup_key"][:12])
    return [output, *alert_paths]


def judge(form: ParsedForm, filings: list[Filing], checked: list[Reason],
          settings: FilingsSettings) -> tuple[list[Judged], list[Reason]]:
    """Each filing with its reasons, and the OCR holds (also at the head of every filing's).
    The filing's own reasons come before the form's: a warning-only alert keeps the name it
    had before the form-level checks joined (rejecting reasons are put first anyway)."""
    judged = [Judged(f, validate(form, f, settings) + checked) for f in filings]
    held = ocr_hold(form, [r for j in judged for r in j.reasons])
    for item in judged:
        item.reasons = held + item.reasons
    return judged, held


def read_form(path: Path) -> ParsedForm:
    try:
        return ParsedForm.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        # AttributeError: a list or a string where the record has an object.
        raise RejectedInput("parsed_invalid", f"{path.name} is not a parsed form: {error}",
                            {"doc": {"filename": path.name}}) from error


def store(ctx: PipelineContext, accepted: list[Judged]) -> None:
    """Insert the accepted filings once; TransientError propagates (the file waits)."""
    if not accepted:
        return
    sink = ctx.sink
    try:
        inserted = sink.insert([j.filing.row for j in accepted])
        earlier = [j.filing.row["dedup_key"] for j in accepted
                   if j.filing.row["dedup_key"] not in inserted]
        sources = sink.sources(earlier) if earlier else {}
    except SinkRefused as error:
        for item in accepted:
            item.outcome, item.error = ERROR, str(error)
        return
    for item in accepted:
        key, source = item.filing.row["dedup_key"], item.filing.row["source"]
        # Stored by this very document (a replay after a crash) counts as inserted, so the
        # outcome file is the same bytes whichever run wrote it.
        mine = key in inserted or sources.get(key) == source
        item.outcome = INSERTED if mine else PRESENT


def _alert_for(ctx: PipelineContext, form: ParsedForm, item: Judged,
               settings: FilingsSettings) -> Path | None:
    blocking = rejecting(item.reasons, settings)
    if item.outcome == ERROR:
        reasons = [reason("sink_error", {"error": item.error}, scope="system"), *item.reasons]
        category = alerts.NOT_INSERTED
    elif item.outcome == REJECTED:
        # The reasons that kept it out come first: the alert is named after the first one.
        reasons = blocking + [r for r in item.reasons if r not in blocking]
        category = alerts.NOT_INSERTED
    elif item.outcome == INSERTED and item.reasons:
        reasons, category = item.reasons, alerts.INSERTED
    else:
        return None
    return _write_alert(ctx, form, reasons, category, _filing_fields(item.filing))


def _no_chain(path: Path, ctx: PipelineContext, form: ParsedForm,
              checked: list[Reason]) -> list[Path]:
    """No order of the form's rows explains its holdings: nothing stored, a human decides.
    Holdings that do not add up at all say so; ones that add up in no valid order are mixed."""
    reasons = list(checked)
    if not any(r["code"] == "holdings_mismatch" for r in checked):
        details = {"holding_before": form.holding_before, "holding_after": form.holding_after,
                   "rows": [r.to_json() for r in form.rows]}
        reasons.insert(0, reason("mixed_transaction_type", details))
    reasons = ocr_hold(form, reasons) + reasons
    alert = _form_alert(ctx, form, reasons, lead=reasons[:1])
    record = {"schema": SCHEMA, "parsed": path.name, "document": form.document,
              "announcement": _announcement(form), "totals": _totals(form),
              "provenance": form.provenance, "filings": [],
              "rejected": {"code": reasons[0]["code"], "details": reasons[0]["details"]},
              "reasons": reasons, "alerts": [alert.name]}
    output = write_json_atomic(ctx.root / paths.FILINGS / path.name, record, durable=ctx.durable)
    log.warning("filing.rejected", code=reasons[0]["code"])
    return [output, alert]


def _distinct(reasons: Iterable[Reason]) -> list[Reason]:
    """Each reason once, in order: a form-level one is in every filing's list."""
    found: list[Reason] = []
    for item in reasons:
        if item not in found:
            found.append(item)
    return found


def _form_alert(ctx: PipelineContext, form: ParsedForm, reasons: list[Reason],
                lead: list[Reason]) -> Path:
    """One not-inserted alert for the whole form, led by the reasons that keep the form out,
    then the other rejecting ones, then the rest."""
    blocking = lead + [r for r in rejecting(reasons, ctx.config.filings) if r not in lead]
    ordered = blocking + [r for r in reasons if r not in blocking]
    totals = aggregate(form.rows)
    fields = {"symbol": normalize_symbol(form.symbol), "holder_name": form.holder_name,
              "type": totals.type, "amount": totals.amount, "price": totals.price,
              "value": totals.value}
    return _write_alert(ctx, form, ordered, alerts.NOT_INSERTED, fields)


def _write_alert(ctx: PipelineContext, form: ParsedForm, reasons: list[Reason], category: str,
                 fields: dict[str, Any]) -> Path:
    alert = alerts.build_alert(
        code=reasons[0]["code"], message=reasons[0]["message"],
        timestamp=ctx.now().isoformat(), stage="filings",
        category=category, reasons=reasons, filing=fields,
        doc={"filename": form.document.get("filename"), "url": document_url(form),
             "title": (form.announcement or {}).get("title")},
        announcement=_announcement(form))
    return alerts.write_alert(ctx.root, alert, durable=ctx.durable)


def _filing_fields(filing: Filing) -> dict[str, Any]:
    row = filing.row
    return {"symbol": row["symbol"], "holder_name": row["holder_name"],
            "type": row["transaction_type"], "amount": row["amount_transaction"],
            "price": row["price"], "value": row["transaction_value"]}


def _announcement(form: ParsedForm) -> dict[str, Any] | None:
    """The announcement without the exchange's raw item (it is kept with the announcements)."""
    if not form.announcement:
        return None
    return {k: v for k, v in form.announcement.items() if k != "raw"}


def _totals(form: ParsedForm) -> dict[str, Any]:
    totals = aggregate(form.rows)
    return {"type": totals.type, "net_shares": totals.net_shares, "amount": totals.amount,
            "value": totals.value, "price": totals.price}


def _record(path: Path, form: ParsedForm, judged: list[Judged],
            alert_paths: list[Path]) -> dict[str, Any]:
    return {
        "schema": SCHEMA, "parsed": path.name, "document": form.document,
        "announcement": _announcement(form), "totals": _totals(form),
        "provenance": form.provenance,
        "filings": [{"dedup_key": j.filing.row["dedup_key"], "outcome": j.outcome,
                     "reasons": j.reasons, "error": j.error, "row": j.filing.row,
                     "provenance": filing_provenance(form, j.filing)}
                    for j in judged],
        "alerts": [p.name for p in alert_paths],
    }
