"""The generate stage: `data/parsed/<name>.json` -> filings in the sink, their outcomes in
`data/filings/<name>.json`, and one alert per event a human should know of in `alerts/`.

A form is first checked as a whole (issuer, holdings, percentages, label text in values, and for
an OCR reading whether every check confirms it); a form in doubt stores nothing and raises one
alert. Otherwise it becomes one filing per transaction type (chained when there are several),
enriched from the company map and validated; the filings that pass are stored through the sink
exactly once, by their identity (`identity.filing_key`: what the form says, never how it
arrived). What the sink already holds decides the outcome (`versions.plan`): `inserted` (in the
database from this document, including on a replay), `already_present` (stored earlier from
another document), `context_updated` (the row stored without an announcement took this arrival's
source URL and publish time), `superseded` (a new version of the document, or a correction,
replaced the row; the old version is in the history table), `rejected` (with reasons) or `error`
(the database refused it). Before a filing is stored its holding before is compared with the
holder's last holding after (`chain`). A database that is down raises `TransientError`, so the
file simply waits. Outputs carry no wall-clock time, so a re-run writes the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from daemon.errors import RejectedInput
from daemon.logs import get_logger
from handlers import paths
from handlers.adapters.json_files import write_json, write_scrubbed_json
from handlers.adapters.sinks import Sink, SinkRefused
from handlers.context import PipelineContext
from handlers.domain.filings import restate, versions
from handlers.domain.filings.aggregate import aggregate, split_legs
from handlers.domain.filings.chain import chain_break, previous_filing
from handlers.domain.filings.checks import check_form, ocr_hold, ocr_notice
from handlers.domain.filings.holder_type import company_names
from handlers.domain.filings.identity import (
    document_key,
    is_correction,
    named_documents,
    normalize_holder,
)
from handlers.domain.filings.provenance import filing_provenance
from handlers.domain.filings.rows import Filing, build_filing, normalize_symbol
from handlers.domain.filings.validate import Reason, reason, rejecting, validate
from handlers.domain.filings.versions import Document, Plan
from handlers.domain.ksei.records import ParsedForm
from handlers.settings import FilingsSettings
from handlers.stages.generate_alerts import (
    CONTEXT_UPDATED,
    ERROR,
    INSERTED,
    PRESENT,
    STORED,
    SUPERSEDED,
    Judged,
    alerts_for,
    announcement_of,
    form_alert,
)

SCHEMA = "idxd.filings/1"
log = get_logger()


def handle(path: Path, ctx: PipelineContext) -> list[Path]:
    form = read_form(path)
    settings = ctx.config.filings
    company = ctx.company_map.rows.get(normalize_symbol(form.symbol))
    document = describe(form)
    form = restated(ctx, form, document)
    checked = check_form(form, ctx.company_map.rows, settings)
    legs = split_legs(form)
    if not legs:
        return _no_chain(path, ctx, form, checked)
    companies = company_names(ctx.company_map.rows)
    judged, held = judge(form, [build_filing(form, leg, company, document.key, companies)
                                for leg in legs], checked, settings)
    blocking = rejecting(held + checked, settings)
    if blocking:
        # The form itself is in doubt: none of its filings is stored, and one alert says why.
        alert_paths = [form_alert(ctx, form, _distinct(r for j in judged for r in j.reasons),
                                  lead=blocking)]
    else:
        store(ctx, document, [j for j in judged if not rejecting(j.reasons, settings)],
              judged[0])
        alert_paths = [p for j in judged for p in alerts_for(ctx, form, j, settings)]
    # A database's refusal is kept in the record, and it may quote a secret.
    output = write_scrubbed_json(ctx.root / paths.FILINGS / path.name,
                                 _record(path, form, document, judged, alert_paths),
                                 durable=ctx.durable)
    for item in judged:
        log.info("filing.recorded", symbol=item.filing.row["symbol"], outcome=item.outcome,
                 dedup_key=item.filing.row["dedup_key"][:12],
                 previous_key=(item.previous_key or "")[:12] or None)
    return [output, *alert_paths]


def judge(form: ParsedForm, filings: list[Filing], checked: list[Reason],
          settings: FilingsSettings) -> tuple[list[Judged], list[Reason]]:
    """Each filing with its reasons, and the OCR holds (also at the head of every filing's).
    The filing's own reasons come before the form's: a warning-only alert keeps the name it
    had before the form-level checks joined (rejecting reasons are put first anyway)."""
    judged = [Judged(f, validate(form, f, settings) + checked) for f in filings]
    held = ocr_hold(form, [r for j in judged for r in j.reasons])
    notice = ocr_notice(form, held)
    for item in judged:
        item.reasons = held + item.reasons + notice
    return judged, held


def _distinct(reasons: Iterable[Reason]) -> list[Reason]:
    """Each reason once, in order: a form-level one is in every filing's list."""
    found: list[Reason] = []
    for item in reasons:
        if item not in found:
            found.append(item)
    return found


def describe(form: ParsedForm) -> Document:
    key = document_key(form.document, form.announcement)
    return Document(key, is_correction(form.correction, form.announcement),
                    frozenset(named_documents(form.announcement, key)))


def restated(ctx: PipelineContext, form: ParsedForm, document: Document) -> ParsedForm:
    """A correction restating only the holdings, with the transactions of the filing it
    corrects (none found: the form stays as it is, and is rejected for having no rows)."""
    if not restate.restates_holdings_only(form, document.correction):
        return form
    symbol = normalize_symbol(form.symbol)
    try:
        stored = ctx.sink.related(symbol, normalize_holder(form.holder_name), document.key)
    except SinkRefused:
        return form
    target = versions.latest_of_holder(stored, symbol, form.holder_name, document)
    return restate.with_transactions_of(form, target) if target is not None else form


def read_form(path: Path) -> ParsedForm:
    try:
        return ParsedForm.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        # AttributeError: a list or a string where the record has an object.
        raise RejectedInput("parsed_invalid", f"{path.name} is not a parsed form: {error}",
                            {"doc": {"filename": path.name}}) from error


def store(ctx: PipelineContext, document: Document, accepted: list[Judged],
          first: Judged) -> None:
    """Apply the plan of the accepted filings once; TransientError propagates (the file
    waits), a refusal is each filing's `error` outcome. `first` is the document's first leg,
    the one its holder's chain continues from."""
    if not accepted:
        return
    sink = ctx.sink
    try:
        with ctx.store_lock:  # the plan is made against what the sink holds: one at a time
            row = accepted[0].filing.row
            stored = sink.related(row["symbol"], normalize_holder(row["holder_name"]),
                                  document.key)
            plans, retired = versions.plan([j.filing.row for j in accepted], stored, document)
            _insert(sink, accepted, plans)
            _replace(sink, accepted, plans, retired)
            _replayed(sink, [(j, p) for j, p in zip(accepted, plans, strict=True) if p.mine])
    except SinkRefused as error:
        for item in accepted:
            item.outcome, item.error = ERROR, str(error)
        return
    _check_chain(stored, first, plans, document)


def _insert(sink: Sink, accepted: list[Judged], plans: list[Plan]) -> None:
    new = [j for j, p in zip(accepted, plans, strict=True) if p.action == versions.INSERT]
    inserted = sink.insert([j.filing.row for j in new]) if new else set()
    for item in new:  # not inserted: another writer stored it since the plan was made
        item.outcome = INSERTED if item.filing.row["dedup_key"] in inserted else PRESENT


def _replace(sink: Sink, accepted: list[Judged], plans: list[Plan],
             retired: list[Mapping[str, Any]]) -> None:
    for item, plan in zip(accepted, plans, strict=True):
        if plan.action == versions.KEEP:
            item.outcome = plan.outcome
        elif plan.action in (versions.CONTEXT, versions.SUPERSEDE) and plan.previous:
            row, previous = item.filing.row, plan.previous
            entry = versions.history_entry(previous, row, str(plan.reason), plan.changes)
            sink.replace(str(previous["dedup_key"]), entry, row)
            item.outcome, item.previous_key = plan.outcome, str(previous["dedup_key"])
            item.changes = plan.changes
    for stale in retired:  # the document's filings its new version no longer has
        entry = versions.history_entry(stale, accepted[0].filing.row, versions.RETIRED, {})
        sink.replace(str(stale["dedup_key"]), entry, None)


def _replayed(sink: Sink, mine: list[tuple[Judged, Plan]]) -> None:
    """A filing found as this document stored it: if an earlier run of this file replaced a
    version to store it, the outcome says so again."""
    if not mine:
        return
    entries = sink.history([j.filing.row["dedup_key"] for j, _ in mine])
    for item, _ in mine:
        entry = versions.replayed(entries, item.filing.row)
        if entry is not None:
            item.outcome = CONTEXT_UPDATED if entry["reason"] == versions.CONTEXT_REASON \
                else SUPERSEDED
            item.previous_key, item.changes = str(entry["dedup_key"]), dict(entry["changes"])


def _check_chain(stored: list[dict[str, Any]], first: Judged, plans: list[Plan],
                 document: Document) -> None:
    """The document's first filing against the holder's filing before it (the later legs of
    a document chain on its first by construction; a first leg kept out is not checked)."""
    if first.outcome not in STORED:
        return
    excluded = {str(r["dedup_key"]) for r in stored if r.get("document_key") == document.key}
    excluded |= {str(p.previous["dedup_key"]) for p in plans if p.previous is not None}
    excluded.add(first.filing.row["dedup_key"])
    previous = previous_filing(stored, first.filing.row, excluded)
    first.chain_break = chain_break(previous, first.filing.row)


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
    alert = form_alert(ctx, form, reasons, lead=reasons[:1])
    record = {"schema": SCHEMA, "parsed": path.name, "document": form.document,
              "announcement": announcement_of(form), "totals": _totals(form),
              "provenance": form.provenance, "filings": [],
              "rejected": {"code": reasons[0]["code"], "details": reasons[0]["details"]},
              "reasons": reasons, "alerts": [alert.name]}
    output = write_json(ctx.root / paths.FILINGS / path.name, record, durable=ctx.durable)
    log.warning("filing.rejected", code=reasons[0]["code"])
    return [output, alert]


def _totals(form: ParsedForm) -> dict[str, Any]:
    totals = aggregate(form.rows)
    return {"type": totals.type, "net_shares": totals.net_shares, "amount": totals.amount,
            "value": totals.value, "price": totals.price}


def _record(path: Path, form: ParsedForm, document: Document, judged: list[Judged],
            alert_paths: list[Path]) -> dict[str, Any]:
    return {
        "schema": SCHEMA, "parsed": path.name, "document": form.document,
        "document_key": document.key, "correction": document.correction,
        "announcement": announcement_of(form), "totals": _totals(form),
        "provenance": form.provenance,
        "filings": [_filing_record(form, j) for j in judged],
        "alerts": [p.name for p in alert_paths],
    }


def _filing_record(form: ParsedForm, item: Judged) -> dict[str, Any]:
    record: dict[str, Any] = {"dedup_key": item.filing.row["dedup_key"],
                              "outcome": item.outcome, "reasons": item.reasons,
                              "error": item.error, "row": item.filing.row,
                              "provenance": filing_provenance(form, item.filing)}
    if item.previous_key is not None:
        record.update(previous_key=item.previous_key, changes=item.changes)
    if item.chain_break is not None:
        record["holding_chain_break"] = item.chain_break
    if item.filing.holder is not None:
        holder = item.filing.holder
        record["holder_type"] = {"type": holder.type, "rule": holder.rule,
                                 "evidence": holder.evidence}
    return record
