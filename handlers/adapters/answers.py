"""What an answer from the exchange or its file host means, decided in one place.

The exchange sits behind a CDN that answers datacenter clients with 403 and, now and then, with
an HTML challenge page in place of the PDF or JSON asked for; a retry minutes later usually
passes. So an answer is one of three things: what was asked for; `Unavailable`, a transient
failure the retry policy tries again (connection errors, timeouts, 403/408/425/429/5xx, a body
that is not what was asked for but looks like a web page, a body that cannot be decoded or is
cut short); or permanent, which is alerted once: `Refused` (off the allow-list, over the size
cap, a bad URL, a real document of another kind) and `Missing` (404/410, permanent only once it
has persisted; the caller keeps the horizon).
"""

from __future__ import annotations

import httpx

from daemon.errors import TransientError

PDF_SIGNATURE = b"%PDF-"
ZIP_SIGNATURE = b"PK\x03\x04"
MISSING_STATUSES = frozenset({404, 410})
TRANSIENT_STATUSES = frozenset({403, 408, 425, 429})
WEB_PAGE_MARKS = (b"<!doctype", b"<html", b"<head", b"<body", b"<?xml", b"<!--")


class Unavailable(TransientError):
    """Worth another try later: the answer says nothing about the document itself.
    `refusal` marks the CDN's way of turning a client away (403, a challenge page)."""

    def __init__(self, message: str, *, refusal: bool = False):
        super().__init__(message)
        self.refusal = refusal


class Refused(Exception):
    """The document is unacceptable; `code` is the alert code, `reason` a short stable word."""

    def __init__(self, code: str, reason: str, message: str):
        super().__init__(message)
        self.code, self.reason = code, reason


class Missing(Exception):
    """The server says the document is not there (404/410)."""

    def __init__(self, status: int):
        super().__init__(f"HTTP {status}")
        self.status = status


def is_transient_status(status: int) -> bool:
    return status in TRANSIENT_STATUSES or status >= 500


def check_status(status: int) -> None:
    """Raise what a non-200 status means; a 200 passes."""
    if status == 200:
        return
    if is_transient_status(status):
        raise Unavailable(f"HTTP {status}", refusal=status == 403)
    if status in MISSING_STATUSES:
        raise Missing(status)
    raise Refused("download_failed", "http_status", f"HTTP {status}")


def check_pdf(head: bytes) -> None:
    """A body asked for as a PDF: a PDF passes; a web page or nothing is a challenge, transient;
    anything else is a real document of another kind, refused by its content."""
    if head.startswith(PDF_SIGNATURE):
        return
    if looks_like_web_page(head):
        raise Unavailable("the host answered a web page (a challenge?) instead of the PDF",
                          refusal=True)
    raise Refused("unsupported_format", "not_a_pdf",
                  "the body does not start with the %PDF- signature")


def check_spreadsheet(head: bytes) -> None:
    """A body asked for as an `.xlsx` (a zip): the same rules as `check_pdf`."""
    if head.startswith(ZIP_SIGNATURE):
        return
    if looks_like_web_page(head):
        raise Unavailable("the host answered a web page (a challenge?) instead of the "
                          "spreadsheet", refusal=True)
    raise Refused("unsupported_format", "not_a_spreadsheet",
                  "the body is not an .xlsx workbook (a zip)")


def looks_like_web_page(head: bytes) -> bool:
    text = head.lstrip()[:512].lower()
    return not text or any(text.startswith(mark) for mark in WEB_PAGE_MARKS) or b"<html" in text


def transport_failure(error: httpx.HTTPError | httpx.InvalidURL) -> Exception:
    """An error httpx raised, as one of ours: a bad URL is refused, the rest is transient."""
    if isinstance(error, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return Refused("download_refused", "bad_url", f"{type(error).__name__}: {error}")
    return Unavailable(f"{type(error).__name__}: {error}")
