"""The HTML part of the window email: the text part's content as tables an analyst can scan.

Styles are inline (mail clients drop style sheets). Every value is escaped once, here and only
here, and only web addresses become links, so an alert's text (which comes from PDFs and the
exchange) can never inject markup into the message, and no entity is escaped twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape as escape_html
from typing import TYPE_CHECKING

from handlers.adapters.mail import format as fmt
from handlers.adapters.mail import text
from handlers.adapters.mail.filings import COLUMNS as FILING_COLUMNS
from handlers.adapters.mail.filings import FilingLine
from handlers.adapters.mail.findings import Findings, Task

if TYPE_CHECKING:
    from handlers.adapters.mail.message import Digest, Enclosures

FONT = "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
BODY = f"{FONT};font-size:14px;color:#1d2733;margin:0;padding:16px;background:#f4f6f9"
CARD = "background:#ffffff;border:1px solid #dde3ea;border-radius:6px;padding:16px;" \
       "margin:0 0 16px 0"
TABLE = "border-collapse:collapse;width:100%;font-size:13px"
TH = "text-align:left;background:#eef2f7;color:#44546a;padding:6px 8px;" \
     "border-bottom:2px solid #cfd8e3;white-space:nowrap"
TD = "padding:6px 8px;border-bottom:1px solid #e6eaf0;vertical-align:top"
NUMBER = f"{TD};text-align:right;white-space:nowrap"
BANNER = "background:#fdecea;border:1px solid #f5c2c0;border-left:6px solid #c62828;" \
         "color:#8e1c1c;padding:12px 16px;margin:0 0 16px 0;border-radius:4px"
H2 = "margin:0 0 12px 0;font-size:16px;color:#1f3a5f"
NUMERIC_COLUMNS = frozenset({"Shares", "Price", "Value"})
KIND_COLOURS = {"Buy": "#1b7f3b", "Sell": "#b3261e"}


def escape(value: str) -> str:
    """Text content escaped once; quotes need escaping only inside attributes."""
    return escape_html(value, quote=False)


def html_body(digest: Digest, findings: Findings, enclosures: Enclosures) -> str:
    parts = [f'<h1 style="{FONT};font-size:20px;margin:0 0 4px 0;color:#1f3a5f">'
             f"{escape(text.title(digest))}</h1>",
             f'<p style="margin:0 0 16px 0;color:#44546a">'
             f"{escape(text.summary(digest, findings))}</p>"]
    if findings.ingest_failures:
        parts.append(_banner(findings.ingest_failures))
    parts.append(_card(f"Filings inserted ({len(digest.inserted)})",
                       _filings_table(digest.inserted) if digest.inserted else
                       _para("No filing was inserted in this window.")))
    for heading, lines in (("Corrections", findings.corrections),
                           ("Holding chain breaks", findings.chain_breaks),
                           ("Source health", list(digest.sources))):
        if lines:
            parts.append(_card(heading, _list(lines)))
    parts.append(_card(f"Needs a person ({len(findings.tasks)})",
                       _tasks_table(findings.tasks) if findings.tasks else
                       _para("Nothing needs a person in this window.")))
    for extra in (text.pending_lines(digest.pending), text.late_lines(digest.late),
                  text.enclosure_lines(enclosures)):
        if extra:
            items = [line.removeprefix("- ") for line in extra[1:]]
            parts.append(_card(extra[0].rstrip(":"), _list(items)))
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            f"<title>{escape(text.title(digest))}</title></head>\n"
            f'<body style="{BODY}"><div style="max-width:1200px;margin:0 auto">\n'
            + "\n".join(parts) + "\n</div></body></html>\n")


def _filings_table(filings: Sequence[FilingLine]) -> str:
    head = "".join(f'<th style="{TH}">{escape(name)}</th>' for name in FILING_COLUMNS)
    rows = []
    for filing in filings:
        cells = [_cell(value, column) for column, value in zip(FILING_COLUMNS, filing.cells(),
                                                                strict=False)]
        cells.append(f'<td style="{TD};white-space:nowrap">{escape(filing.before)}<br>'
                     f"→ {escape(filing.after)}</td>")
        cells.append(f'<td style="{TD}">{_link(filing.pdf_url, "PDF")}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table style="{TABLE}"><tr>{head}</tr>\n' + "\n".join(rows) + "</table>"


def _cell(value: str, column: str) -> str:
    if column in NUMERIC_COLUMNS:
        return f'<td style="{NUMBER}">{escape(value)}</td>'
    if column == "Type" and value in KIND_COLOURS:
        return f'<td style="{TD};color:{KIND_COLOURS[value]};font-weight:600">{escape(value)}</td>'
    if column == "Ticker":
        return f'<td style="{TD};font-weight:600;white-space:nowrap">{escape(value)}</td>'
    if column == "Published":
        return f'<td style="{TD};white-space:nowrap">{escape(value)}</td>'
    return f'<td style="{TD};min-width:110px">{escape(value)}</td>'


def _tasks_table(tasks: Sequence[Task]) -> str:
    head = "".join(f'<th style="{TH}">{name}</th>'
                   for name in ("Published", "Ticker", "Holder", "Problem", "Action"))
    rows = []
    for item in tasks:
        problem = (f'{escape(item.problem)}<br><span style="color:#7a8796;font-size:12px">'
                   f"{escape(item.code)}</span>")
        action = f"{escape(item.action)}<br>{_link(item.link, 'Open the ' + item.link_label)}"
        cells = [f'<td style="{TD};white-space:nowrap">{escape(fmt.wib(item.published))}</td>',
                 f'<td style="{TD};font-weight:600">{escape(item.ticker)}</td>',
                 f'<td style="{TD}">{escape(item.holder)}</td>',
                 f'<td style="{TD}">{problem}</td>', f'<td style="{TD}">{action}</td>']
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table style="{TABLE}"><tr>{head}</tr>\n' + "\n".join(rows) + "</table>"


def _link(url: str | None, label: str) -> str:
    if not url:
        return '<span style="color:#7a8796">no address of the document is known</span>'
    return f'<a href="{escape_html(url, quote=True)}" style="color:#1a5fb4">{escape(label)}</a>'


def _banner(lines: Sequence[str]) -> str:
    said = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return (f'<div style="{BANNER}"><b>{escape(text.ingest_banner())}</b>'
            f'<ul style="margin:8px 0 0 0">{said}</ul></div>')


def _card(heading: str, content: str) -> str:
    return f'<div style="{CARD}"><h2 style="{H2}">{escape(heading)}</h2>{content}</div>'


def _para(line: str) -> str:
    return f'<p style="margin:0;color:#44546a">{escape(line)}</p>'


def _list(lines: Sequence[str]) -> str:
    items = "".join(f'<li style="margin:0 0 4px 0">{escape(line)}</li>' for line in lines)
    return f'<ul style="margin:0;padding-left:20px">{items}</ul>'
