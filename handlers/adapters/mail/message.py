"""The consolidated email of one window: subject, text part, HTML part, attachments.

One message covers the window: the filings it inserted first, then corrections, chain breaks and
source health, then what needs a person (see `findings.py`); a failed ingest is said at the top.
The text and HTML parts carry the same content. The artifacts zip is attached when it fits the
byte budget, then the alert files smallest first while they fit what is left; what is left out
is named with its size and where it is on the server. The `Message-ID` depends only on the root
and the window, so a resend of the same window carries the same identity and mail systems can
drop the duplicate.
"""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from daemon.scrub import scrub
from handlers.adapters.mail import format as fmt
from handlers.adapters.mail import html as mail_html
from handlers.adapters.mail.filings import FilingLine
from handlers.adapters.mail.findings import sort_alerts
from handlers.adapters.mail.text import text_body
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
    inserted: Sequence[FilingLine] = ()  # the filings the window inserted, oldest first


@dataclass(frozen=True)
class Enclosures:
    """What the message attaches, what it leaves out, and where the artifacts zip is."""

    attached: Sequence[AlertFile] = ()
    left_out: Sequence[AlertFile] = ()
    zip_path: Path | None = None  # attached when set
    artifact_note: str | None = None


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


def enclose(digest: Digest, root: Path, budget_bytes: int) -> Enclosures:
    """The zip first when it fits the budget (it holds everything), then alert files."""
    zip_path = root / digest.artifact if digest.artifact else None
    zip_size = zip_path.stat().st_size if zip_path and zip_path.is_file() else None
    if zip_path is None or zip_size is None:
        attached, left_out = split_attachments(digest.alerts, budget_bytes)
        return Enclosures(attached, left_out)
    fits = zip_size <= budget_bytes
    attached, left_out = split_attachments(digest.alerts, budget_bytes - (zip_size if fits else 0))
    if fits:
        note = f"attached: {zip_path.name} ({fmt.size(zip_size)}), the window's artifacts"
    else:
        note = (f"not attached: {zip_path.name} ({fmt.size(zip_size)}) is over the "
                f"{fmt.size(budget_bytes)} attachment budget; it is on {socket.gethostname()} "
                f"at {zip_path.resolve()}")
    return Enclosures(attached, left_out, zip_path if fits else None, note)


def build_message(digest: Digest, settings: MailSettings, *, root: Path, created_at: datetime,
                  budget_bytes: int) -> EmailMessage:
    enclosures = enclose(digest, root, budget_bytes)
    findings = sort_alerts([item.alert for item in digest.alerts], root)
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
    message.set_content(scrub(text_body(digest, findings, enclosures)))
    message.add_alternative(scrub(mail_html.html_body(digest, findings, enclosures)),
                            subtype="html")
    if enclosures.zip_path is not None:  # built scrubbed (see artifacts.py)
        message.add_attachment(enclosures.zip_path.read_bytes(), maintype="application",
                               subtype="zip", filename=enclosures.zip_path.name)
    for item in enclosures.attached:
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
