"""A local stand-in for the exchange: the announcement API and its PDF files, over real HTTP.

A threaded `http.server` (pytest-httpserver answers one request at a time, and the daemon's
ingest and download run together). Announcements become visible once their publish time has
passed, as on the real site, so a test can let them appear while the daemon runs. Every path can
be given faults to answer first (an HTTP status, or `"timeout"`: no answer for a while), and the
server also acts as an HTTP proxy: a request for an absolute URL is served as its path, and the
`Proxy-Authorization` header it carried is recorded.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import defaultdict
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from handlers.domain.windows import WIB

API_PATH = "/primary/NewsAnnouncement/GetAllAnnouncement"
FILES_PATH = "/files/"
# An HTTP status, or "timeout"; for a file also what the CDN does: "challenge" (its HTML page
# served as the PDF), "bad_gzip" (a body that claims gzip and is not), "short" (a body that
# ends before its Content-Length).
Fault = int | str
CHALLENGE = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head></html>"


class Exchange:
    def __init__(self, timeout_hang_s: float = 3.0) -> None:
        self.items: list[dict[str, Any]] = []
        # path -> body, an HTTP status, or "redirect:<location>"
        self.files: dict[str, bytes | int | str] = {}
        self.faults: dict[str, list[Fault]] = defaultdict(list)
        self.requests: list[tuple[float, str]] = []
        self.listings: list[tuple[str, int]] = []  # (dateFrom, pageNumber) of each API query
        self.proxy_auth: list[str] = []
        self.timeout_hang_s = timeout_hang_s
        self.blocked: tuple[float, float] | None = None  # epoch seconds: every answer is 403
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.server.handle_error = lambda *_: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.origin + API_PATH

    def __enter__(self) -> Exchange:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def publish(self, item: dict[str, Any]) -> None:
        with self._lock:
            self.items.append(item)

    def fail(self, path: str, *faults: Fault) -> None:
        with self._lock:
            self.faults[path].extend(faults)

    def count(self, prefix: str) -> int:
        with self._lock:
            return sum(1 for _, path in self.requests if path.startswith(prefix))

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, bytes, str]:
        with self._lock:
            self.requests.append((time.time(), path))
            if path == API_PATH and "dateFrom" in query:
                self.listings.append((query["dateFrom"][0], int(query["pageNumber"][0])))
            fault = self.faults[path].pop(0) if self.faults.get(path) else None
        if self.blocked and self.blocked[0] <= time.time() < self.blocked[1]:
            return 403, b"blocked", "text/plain"  # the CDN turning every client away
        if fault == "timeout":
            time.sleep(self.timeout_hang_s)
            return 504, b"too late", "text/plain"
        if fault == "challenge":
            return 200, CHALLENGE, "application/pdf"
        if fault in ("bad_gzip", "short"):
            body = self.files.get(path)
            return 200, body if isinstance(body, bytes) else b"", f"application/pdf;{fault}"
        if fault is not None:
            return int(fault), b"busy", "text/plain"
        if path == API_PATH:
            return 200, self._page(query), "application/json"
        body = self.files.get(path, 404)
        if isinstance(body, int):
            return body, b"no such file", "text/plain"
        if isinstance(body, str):
            return 302, body.removeprefix("redirect:").encode(), "text/plain"
        return 200, body, "application/pdf"

    def _page(self, query: dict[str, list[str]]) -> bytes:
        day = query["dateFrom"][0]
        size, page = int(query["pageSize"][0]), int(query["pageNumber"][0])
        now = datetime.now(WIB).replace(tzinfo=None).isoformat(timespec="seconds")
        with self._lock:
            visible = [item for item in self.items if item["PublishDate"] <= now
                       and item["PublishDate"][:10].replace("-", "") == day]
        visible.sort(key=lambda item: item["PublishDate"], reverse=True)  # newest first
        chunk = visible[(page - 1) * size: page * size]
        return json.dumps({"Items": chunk, "ResultCount": len(visible)}).encode()


def _handler_for(exchange: Exchange) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: with Nagle's algorithm on, a kept-alive
        # client waits for the delayed ACK (~40 ms) before each body.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            target = urlsplit(self.path)  # absolute when we are used as a proxy
            auth = self.headers.get("Proxy-Authorization")
            if auth:
                exchange.proxy_auth.append(auth)
            status, body, kind = exchange.answer(target.path, parse_qs(target.query))
            kind, _, fault = kind.partition(";")
            self.send_response(status)
            if status == 302:
                self.send_header("Location", body.decode())
            self.send_header("Content-Type", kind)
            if fault == "bad_gzip":
                self.send_header("Content-Encoding", "gzip")
            declared = len(body) + (1000 if fault == "short" else 0)
            self.send_header("Content-Length", str(declared))
            self.end_headers()
            with contextlib.suppress(ConnectionError):  # a client that stopped reading
                self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    return Handler


def ksei_item(number: int, published: datetime, url: str, *, code: str = "SRTG",
              original: str | None = None) -> dict[str, Any]:
    """An exchange item for a KSEI form at `url`, published at `published` (aware, any zone)."""
    naive = published.astimezone(WIB).replace(tzinfo=None).isoformat(timespec="seconds")
    stamp = published.astimezone(WIB).strftime("%d%m%Y")
    name = original or f"LK-{stamp}-{number:04d}-00.pdf"
    return {"Id": f"{naive}-LK/{stamp}/{number:04d}_en-us", "PublishDate": naive,
            "AnnouncementNo": f"LK/{stamp}/{number:04d}", "Code": code.ljust(8),
            "Title": "REPORT OF OWNERSHIP OR ANY CHANGES IN SHARE OWNERSHIP OF PUBLIC COMPANIES",
            "AnnouncementType": "LKS",
            "Attachments": [{"FullSavePath": url, "OriginalFilename": name, "IsAttachment": 0,
                             "PDFFilename": name.removesuffix(".pdf")}]}
