"""The consolidated alert email of one window: subject, text part, HTML table, attachments.

One message covers both buckets (inserted and not inserted). Its subject names the alert count
and the WIB window; the text part has one line per alert with the suggested action and links to
the document and announcement; the HTML part is the same as a table, every value escaped. The
alert files are attached smallest first while they fit the byte budget, and the ones left out
are named in both parts. The `Message-ID` depends only on the root and the window, so a resend
of the same window carries the same identity and mail systems can drop the duplicate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from daemon.scrub import scrub
from handlers.adapters.mail import html as mail_html
from handlers.adapters.mail.text import alert_lines, header_lines, late_lines, pending_lines
from handlers.domain.window_members import MailWindow
from handlers.settings import MailSettings


@dataclass(frozen=True)
class AlertFile:
    path: Path
    alert: dict[str, Any]
    size: int

    @classmethod
    def read(cls, path: Path) -> AlertFile:
        data = path.read_bytes()
        try:
            alert = json.loads(data)
        except ValueError:
            alert = {}
        return cls(path, alert if isinstance(alert, dict) else {}, len(data))


@dataclass(frozen=True)
class Digest:
    """Everything the email says about one window."""

    mail_window: MailWindow
    alerts: Sequence[AlertFile]
    artifact: str | None = None  # root-relative path of the zip
    pending: Sequence[str] = ()  # files still not final when the window closed
    filings: dict[str, int] = field(default_factory=dict)  # outcome -> count
    late: Sequence[str] = ()  # alerts whose own window had closed already (root-relative)
    sources: Sequence[str] = ()  # sources that refused us during the window, in words


def message_id(root: Path, mail_window: MailWindow, sender: str) -> str:
    kind = "once" if mail_window.inclusive else "window"
    digest = hashlib.sha256(f"{root.resolve()}\n{kind}\n{mail_window.stub}".encode())
    domain = sender.rpartition("@")[2] or "idxd.local"
    return f"<idxd.{kind}.{mail_window.stub}.{digest.hexdigest()[:16]}@{domain}>"


def subject(digest: Digest) -> str:
    window = digest.mail_window.window
    start, end = window.start, window.end
    end_text = end.strftime("%H:%M") if end.date() == start.date() or end.strftime(
        "%H:%M") == "00:00" else end.strftime("%Y-%m-%d %H:%M")
    return (f"[IDX Alerts] {len(digest.alerts)} alert(s) — "
            f"{start:%Y-%m-%d %H:%M}–{end_text} WIB")


def split_attachments(alerts: Sequence[AlertFile], budget_bytes: int
                      ) -> tuple[list[AlertFile], list[AlertFile]]:
    """(attached, left out): smallest first while the total stays within the budget."""
    attached, left_out, total = [], [], 0
    for item in sorted(alerts, key=lambda a: (a.size, a.path.name)):
        if total + item.size <= budget_bytes:
            attached.append(item)
            total += item.size
        else:
            left_out.append(item)
    return attached, left_out


def build_message(digest: Digest, settings: MailSettings, *, root: Path, created_at: datetime,
                  budget_bytes: int) -> EmailMessage:
    attached, left_out = split_attachments(digest.alerts, budget_bytes)
    message = EmailMessage()
    # Alerts quote error texts, and an alert dropped by hand was never scrubbed: the message
    # is scrubbed as it is built, before any encoding can hide a secret from the scrubber.
    message["Subject"] = scrub(subject(digest))
    message["From"] = settings.sender
    if settings.to:
        message["To"] = ", ".join(settings.to)
    if settings.cc:
        message["Cc"] = ", ".join(settings.cc)
    message["Date"] = format_datetime(created_at)
    message["Message-ID"] = message_id(root, digest.mail_window, settings.sender)
    message["X-IDXD-Window"] = digest.mail_window.stub
    message.set_content(scrub(text_body(digest, attached, left_out)))
    message.add_alternative(scrub(mail_html.html_body(digest, attached, left_out)),
                            subtype="html")
    for item in attached:
        message.add_attachment(scrub_bytes(item.path.read_bytes()), maintype="application",
                               subtype="json", filename=item.path.name)
    return message


def scrub_bytes(data: bytes) -> bytes:
    """An alert file's bytes, scrubbed (alerts are UTF-8 JSON; others pass unchanged)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    return scrub(text).encode("utf-8")


def text_body(digest: Digest, attached: Sequence[AlertFile],
              left_out: Sequence[AlertFile]) -> str:
    alerts = [item.alert for item in digest.alerts]
    lines = header_lines(digest.mail_window, alerts, digest.filings)
    lines += ["-" * 60]
    for item in digest.alerts:
        lines += alert_lines(item.alert)
    if not digest.alerts:
        lines.append("No alerts in this window.")
    lines += ["", *footer_lines(digest, attached, left_out)]
    return "\n".join(lines) + "\n"


def footer_lines(digest: Digest, attached: Sequence[AlertFile],
                 left_out: Sequence[AlertFile]) -> list[str]:
    lines = []
    if attached:
        lines += ["Attached files:", *(f"- {item.path.name}" for item in attached)]
    if left_out:
        lines += ["Not attached (over the attachment budget; see the artifacts zip):",
                  *(f"- {item.path.name} ({item.size} bytes)" for item in left_out)]
    if digest.artifact:
        lines.append(f"Artifacts: {digest.artifact}")
    lines += list(digest.sources)
    lines += late_lines(digest.late)
    lines += pending_lines(digest.pending)
    return lines
