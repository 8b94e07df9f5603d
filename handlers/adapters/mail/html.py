"""The HTML part of the alert email: a heading, a summary line and one table row per alert.

Every value is escaped, and only web addresses become links, so an alert's text (which comes
from PDFs and the exchange) can never inject markup into the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from handlers.adapters.mail.text import alert_fields, count_by, late_lines, pending_lines

if TYPE_CHECKING:
    from handlers.adapters.mail.message import AlertFile, Digest

COLUMNS = ("Time", "Stage", "Category", "Code", "Problem", "Action", "Symbol", "Holder",
           "Value", "Doc", "Announcement", "Reason")
CELL = 'style="border:1px solid #ccc;padding:4px;vertical-align:top"'


def html_body(digest: Digest, attached: Sequence[AlertFile],
              left_out: Sequence[AlertFile]) -> str:
    alerts = [item.alert for item in digest.alerts]
    window = digest.mail_window.window
    parts = [f"<h2>IDX Alerts — {len(alerts)} alert(s)</h2>",
             f"<p>Window {window.start:%Y-%m-%d %H:%M} to {window.end:%Y-%m-%d %H:%M} WIB. "
             f"Stages: {escape(count_by(alerts, 'stage'))}. "
             f"Severity: {escape(count_by(alerts, 'severity'))}.</p>"]
    if alerts:
        parts.append(_table(alerts))
    else:
        parts.append("<p>No alerts in this window.</p>")
    parts += _list("Attached files", [item.path.name for item in attached])
    parts += _list("Not attached (over the attachment budget; see the artifacts zip)",
                   [f"{item.path.name} ({item.size} bytes)" for item in left_out])
    if digest.artifact:
        parts.append(f"<p>Artifacts: {escape(digest.artifact)}</p>")
    parts += [f"<p><b>{escape(line)}</b></p>" for line in digest.sources]
    late = late_lines(digest.late)
    if late:
        parts += _list(late[0], [line.removeprefix("- ") for line in late[1:]])
    pending = pending_lines(digest.pending)
    if pending:
        parts += _list(pending[0], [line.removeprefix("- ") for line in pending[1:]])
    return "<html><body>\n" + "\n".join(parts) + "\n</body></html>\n"


def _table(alerts: list[dict[str, Any]]) -> str:
    head = "".join(f"<th {CELL}>{name}</th>" for name in COLUMNS)
    rows = "\n".join(_row(alert) for alert in alerts)
    return f'<table style="border-collapse:collapse">\n<tr>{head}</tr>\n{rows}\n</table>'


def _row(alert: dict[str, Any]) -> str:
    f = alert_fields(alert)
    cells = [escape(f[key]) for key in ("time", "stage", "category", "code", "problem",
                                         "action", "symbol", "holder")]
    cells.append(f'<span style="float:right">{escape(f["value"])}</span>')
    cells.append(_link(f["doc"], f["doc_name"]))
    cells.append(_link(f["announcement"], "announcement"))
    cells.append("<br>".join(escape(reason) for reason in f["reasons"]) or "-")
    return "<tr>" + "".join(f"<td {CELL}>{cell}</td>" for cell in cells) + "</tr>"


def _link(url: str | None, label: str) -> str:
    if not url:
        return escape(label) if label != "announcement" else "-"
    return f'<a href="{escape(url, quote=True)}">{escape(label)}</a>'


def _list(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    entries = "".join(f"<li>{escape(item)}</li>" for item in items)
    return [f"<p>{escape(title)}</p><ul>{entries}</ul>"]
