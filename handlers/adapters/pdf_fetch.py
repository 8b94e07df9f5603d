"""Fetching one PDF attachment safely: allowed hosts only, bounded size, a real PDF body.

Redirects are followed by hand so that every hop's host is checked against the allow-list; the
body is streamed and abandoned as soon as it passes the size cap; and it must start with the
`%PDF-` signature (a CDN challenge page served as a PDF is the usual impostor). The outcome is
either the bytes or one of three errors: `FetchRefused` (the attachment itself is unacceptable),
`FetchMissing` (the server says no: 4xx), `FetchUnavailable` (worth trying again later).
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urljoin, urlsplit

import httpx

PDF_SIGNATURE = b"%PDF-"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class FetchRefused(Exception):
    """The attachment is refused; `code` is the alert code, `reason` a short stable word."""

    def __init__(self, code: str, reason: str, message: str):
        super().__init__(message)
        self.code, self.reason = code, reason


class FetchMissing(Exception):
    def __init__(self, status: int):
        super().__init__(f"HTTP {status}")
        self.status = status


class FetchUnavailable(Exception):
    """Network error, timeout, 429 or 5xx."""


def fetch_pdf(http: httpx.Client, url: str, *, allowed_hosts: Collection[str],
              max_bytes: int, max_redirects: int = 5) -> bytes:
    for _ in range(max_redirects + 1):
        check_host(url, allowed_hosts)
        try:
            with http.stream("GET", url) as response:
                if response.status_code not in REDIRECT_STATUSES:
                    return _read_body(response, max_bytes)
                url = urljoin(url, response.headers.get("location", ""))
        except httpx.TransportError as error:
            raise FetchUnavailable(f"{type(error).__name__}: {error}") from error
    raise FetchRefused("download_refused", "too_many_redirects",
                       f"more than {max_redirects} redirects")


def check_host(url: str, allowed_hosts: Collection[str]) -> None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or host not in allowed_hosts:
        raise FetchRefused("download_refused", "host_not_allowed",
                           f"{parts.scheme}://{host} is not an allowed host")


def _read_body(response: httpx.Response, max_bytes: int) -> bytes:
    status = response.status_code
    if status == 429 or status >= 500:
        raise FetchUnavailable(f"HTTP {status}")
    if status != 200:
        raise FetchMissing(status)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise _too_large(max_bytes)
    if not body.startswith(PDF_SIGNATURE):
        raise FetchRefused("unsupported_format", "not_a_pdf",
                           "the body does not start with the %PDF- signature")
    return bytes(body)


def _too_large(max_bytes: int) -> FetchRefused:
    return FetchRefused("download_refused", "too_large", f"larger than {max_bytes} bytes")
