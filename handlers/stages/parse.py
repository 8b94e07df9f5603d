"""The parse stage: `downloads/idx-format/<name>.pdf` -> `data/parsed/<name>.json`.

Glues the form reader, the PDF's `.meta.json` sidecar (written by the download stage; absent
for a PDF dropped by hand) and the company map into one `ParsedForm`, with the provenance of
every value (page, text layer or OCR, OCR's confidence, the text seen). The form is read in a
child process of the parse pool (text layer, OCR for scans, labels and table), under its memory
and time limits: a file that breaks one (a decompression bomb, a PDFium crash) is refused as
`resource_limit`.
Every refusal is a `RejectedInput` whose code names the reason and whose details carry the
document and the announcement, so the alert for a quarantined PDF says which one and why. The
output holds no wall-clock time: the same PDF always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from daemon.errors import RejectedInput
from daemon.files import fit_name, input_sha256, sha256_file
from daemon.logs import get_logger
from handlers import paths
from handlers.adapters.json_files import write_json
from handlers.adapters.pdf_form import read_pdf
from handlers.context import PipelineContext
from handlers.domain.filings.identity import is_correction
from handlers.domain.ksei.form import FormFields
from handlers.domain.ksei.records import ParsedForm

log = get_logger()

SUGGESTIONS = 3  # the original's COMPANY_SUGGEST_TOPK
NAME_MAX_BYTES = 255  # the usual filesystem limit on one name


def handle(path: Path, ctx: PipelineContext) -> list[Path]:
    announcement = read_sidecar(path)
    try:
        form = parse_pdf(path, announcement, ctx.company_map.rows, ctx.parse_pool.read)
    except RejectedInput as error:
        error.details = {"doc": document_context(path, announcement),
                         "announcement": announcement, **error.details}
        log.warning("form.rejected", path=str(path), code=error.code, reason=error.message)
        raise
    target = ctx.root / paths.PARSED / parsed_name(path)
    write_json(target, form.to_json(), durable=ctx.durable)
    log.info("form.parsed", path=str(path), symbol=form.symbol, rows=len(form.rows),
             flags=list(form.flags))
    return [target]


def parsed_name(pdf: Path) -> str:
    """`<stem>.json`; a stem too long for the filesystem is cut and told apart by a hash."""
    name = f"{pdf.stem}.json"
    if len(os.fsencode(name)) <= NAME_MAX_BYTES:
        return name
    digest = hashlib.sha256(os.fsencode(pdf.stem)).hexdigest()[:10]
    return f"{fit_name(pdf.stem, NAME_MAX_BYTES - 16)}_{digest}.json"


def parse_pdf(path: Path, announcement: dict[str, Any] | None,
              companies: dict[str, dict[str, Any]],
              read: Callable[[Path], FormFields] = read_pdf) -> ParsedForm:
    """The parsed record of the form at `path`; `RejectedInput` when it cannot be had.
    The stage reads the form in a child process (`ctx.parse_pool`); tests and benchmarks
    may do it in this one."""
    fields = read(path)
    symbol = resolve_symbol(fields, announcement, companies)
    correction = is_correction(fields.correction, announcement)
    if not fields.rows and not correction:
        # Only a correction may restate the holdings alone (it keeps the rows it corrects).
        raise RejectedInput("table_empty", "the transaction table has a header but no rows",
                            fields.provenance.get("table", {}))
    return ParsedForm(
        document={"filename": path.name, "sha256": input_sha256(path) or sha256_file(path),
                  "pages": fields.pages},
        announcement=announcement, symbol=symbol, company_name=fields.company_name,
        holder_name=fields.holder_name, holding_before=fields.holding_before,
        holding_after=fields.holding_after, percentage_before=fields.percentage_before,
        percentage_after=fields.percentage_after, rows=fields.rows,
        correction=correction,
        flags=form_flags(fields, symbol, announcement), position=fields.position,
        board_member=fields.board_member, controlling_shareholder=fields.controlling_shareholder,
        holder_category=fields.holder_category,
        provenance=fields.provenance,
    )


def resolve_symbol(fields: FormFields, announcement: dict[str, Any] | None,
                   companies: dict[str, dict[str, Any]]) -> str:
    """`"SRTG.JK"` from the form's ticker (the announcement's when the form prints none)."""
    ticker = fields.ticker or _announced_ticker(announcement)
    symbol = f"{ticker}.JK" if ticker else ""
    if symbol in companies:
        return symbol
    raise RejectedInput(
        "symbol_missing",
        f"{symbol or 'no ticker'} ({fields.company_name}) is not in the company map",
        {"ticker": ticker, "company_name": fields.company_name,
         "suggestions": suggest_symbols(fields.company_name, ticker, companies)})


def suggest_symbols(company_name: str, ticker: str | None,
                    companies: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The closest companies by name (and by code when there is one), best first."""
    names = {symbol: str(row.get("company_name") or "") for symbol, row in companies.items()}
    scores: dict[str, float] = {}
    for _, score, symbol in process.extract(company_name, names, scorer=fuzz.token_set_ratio,
                                            processor=str.lower, limit=SUGGESTIONS):
        scores[symbol] = score
    if ticker:
        codes = {symbol: symbol.removesuffix(".JK") for symbol in companies}
        for _, score, symbol in process.extract(ticker, codes, scorer=fuzz.ratio,
                                                limit=SUGGESTIONS):
            scores[symbol] = max(score, scores.get(symbol, 0.0))
    best = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:SUGGESTIONS]
    return [{"symbol": symbol, "company_name": names[symbol], "score": round(score, 1)}
            for symbol, score in best]


def form_flags(fields: FormFields, symbol: str,
               announcement: dict[str, Any] | None) -> tuple[str, ...]:
    flags = []
    if fields.holding_before == fields.holding_after:
        flags.append("holdings_unchanged")  # the generate stage sends it to review
    announced = _announced_ticker(announcement)
    if announced and f"{announced}.JK" != symbol:
        flags.append("ticker_differs_from_announcement")
    return tuple(flags)


def read_sidecar(path: Path) -> dict[str, Any] | None:
    """The announcement the download stage wrote beside the PDF, or None."""
    sidecar = paths.sidecar_of(path)
    try:
        payload = json.loads(sidecar.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        # The PDF is still worth parsing; the record simply has no announcement context.
        log.warning("sidecar.unreadable", path=str(sidecar), error=str(error))
        return None
    return payload if isinstance(payload, dict) else None


def document_context(path: Path, announcement: dict[str, Any] | None) -> dict[str, Any]:
    meta = announcement or {}
    return {"filename": path.name, "url": meta.get("url"), "title": meta.get("title")}


def _announced_ticker(announcement: dict[str, Any] | None) -> str | None:
    ticker = str((announcement or {}).get("ticker") or "").strip().upper()
    return ticker or None
