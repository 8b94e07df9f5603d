"""Fetching one PDF attachment safely: allowed hosts only, bounded size, time and pace.

Redirects are followed by hand so that every hop's host is checked against the allow-list; the
body is streamed and abandoned as soon as it passes the size cap, the total deadline, or falls
under the minimum transfer rate (a server trickling bytes must not hold a download slot); a
stop ends it between two reads, leaving the attachment for the next start. What the answer
means is decided by `answers`: the bytes of a PDF, or `Unavailable` (try again later),
`Missing` (404/410) or `Refused` (alert once).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from daemon.retry import Interrupted, StopEvent
from handlers.adapters.answers import (
    Refused,
    Unavailable,
    check_pdf,
    check_status,
    transport_failure,
)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Limits:
    allowed_hosts: Collection[str]
    max_bytes: int
    max_redirects: int = 5
    deadline_s: float = 300.0  # the whole download, redirects included
    min_rate_bps: float = 0.0  # bytes per second, judged once `rate_grace_s` has passed
    rate_grace_s: float = 10.0


def fetch_pdf(http: httpx.Client, url: str, limits: Limits, stopping: StopEvent, *,
              check_body: Callable[[bytes], None] = check_pdf) -> bytes:
    """The attachment's bytes; `check_body` judges its first kilobyte (a PDF by default)."""
    started = time.monotonic()
    for _ in range(limits.max_redirects + 1):
        check_host(url, limits.allowed_hosts)
        try:
            with http.stream("GET", url) as response:
                if response.status_code not in REDIRECT_STATUSES:
                    return _read_body(response, limits, stopping, started, check_body)
                url = urljoin(url, response.headers.get("location", ""))
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise transport_failure(error) from error
    raise Refused("download_refused", "too_many_redirects",
                  f"more than {limits.max_redirects} redirects")


def check_host(url: str, allowed_hosts: Collection[str]) -> None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or host not in allowed_hosts:
        raise Refused("download_refused", "host_not_allowed",
                      f"{parts.scheme}://{host} is not an allowed host")


def _read_body(response: httpx.Response, limits: Limits, stopping: StopEvent,
               started: float, check_body: Callable[[bytes], None]) -> bytes:
    check_status(response.status_code)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise _too_large(limits.max_bytes)
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limits.max_bytes:
            raise _too_large(limits.max_bytes)
        _check_pace(len(body), time.monotonic() - started, limits, stopping)
    if declared.isdigit() and len(body) < int(declared):
        raise Unavailable(f"the body ended after {len(body)} of {declared} bytes")
    check_body(bytes(body[:1024]))
    return bytes(body)


def _check_pace(received: int, elapsed_s: float, limits: Limits, stopping: StopEvent) -> None:
    if stopping.is_set():
        raise Interrupted
    if elapsed_s > limits.deadline_s:
        raise Unavailable(f"the download passed its {limits.deadline_s:.0f} s deadline")
    if elapsed_s > limits.rate_grace_s and received / elapsed_s < limits.min_rate_bps:
        raise Unavailable(f"the host sent {received / elapsed_s:.0f} B/s, under the "
                          f"{limits.min_rate_bps:.0f} B/s minimum")


def _too_large(max_bytes: int) -> Refused:
    return Refused("download_refused", "too_large", f"larger than {max_bytes} bytes")
