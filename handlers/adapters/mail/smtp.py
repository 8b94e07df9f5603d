"""Delivering the alert email: the `outbox/` copy first, then SMTP when a host is configured.

Every message is written to `outbox/<name>.eml` before any delivery, and that file is what gets
sent (again, after an outage or a crash), so a resend is byte for byte the same message with the
same `Message-ID`. SMTP speaks STARTTLS, implicit TLS or plain, and logs in when a user is set.
Any refusal or network failure is `MailUnavailable`: the window stays unsent and the rollover
tries again at its next tick. Neither the password nor the message body is ever logged.
"""

from __future__ import annotations

import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from pathlib import Path

from daemon.files import write_atomic
from daemon.logs import get_logger
from daemon.scrub import scrub
from handlers import paths
from handlers.settings import MailSettings

log = get_logger()


class MailUnavailable(Exception):
    """The SMTP server could not be reached or refused the message; worth another try later."""


def outbox_path(root: Path, name: str) -> Path:
    return root / paths.OUTBOX / f"{name}.eml"


def write_outbox(path: Path, message: EmailMessage, *, durable: bool = True) -> Path:
    return write_atomic(path, message.as_bytes(policy=policy.SMTP), durable=durable)


def deliver(settings: MailSettings, eml: Path) -> str:
    """Send the stored message; returns the transport used ("smtp" or "outbox")."""
    if not settings.smtp_host:
        return "outbox"
    recipients = settings.envelope_recipients
    if not recipients:
        log.warning("email.no_recipients", path=str(eml), action="kept in the outbox only; "
                    "set ALERT_TO_EMAIL")
        return "outbox"
    raw = eml.read_bytes()
    try:
        with _connect(settings) as server:
            server.sendmail(settings.sender, recipients, raw)
    except (OSError, smtplib.SMTPException) as error:
        raise MailUnavailable(_describe(settings, error)) from None
    return "smtp"


def _connect(settings: MailSettings) -> smtplib.SMTP:
    host, port, timeout = settings.smtp_host or "", settings.smtp_port, settings.timeout_s
    if settings.security == "tls":
        server: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout,
                                                context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if settings.security == "starttls":
            server.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            server.login(settings.smtp_user, settings.smtp_password or "")
    except BaseException:
        server.close()
        raise
    return server


def _describe(settings: MailSettings, error: BaseException) -> str:
    # The exception's text quotes the server's answer, which a misbehaving server fills with
    # what we sent it (the AUTH line, base64 and all): every secret is cut out.
    text = scrub(f"{type(error).__name__}: {error}")
    if settings.smtp_password:
        text = text.replace(settings.smtp_password, "***")
    return f"SMTP {settings.smtp_host}:{settings.smtp_port} ({settings.security}): {text}"
