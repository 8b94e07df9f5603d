"""Through a real local HTTP proxy that insists on its credentials: a password holding "/",
"@" and "%" works as the operator typed it, and a proxy URL no client could use is a
configuration error in one sentence that does not show the password."""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from handlers.domain.announcements import normalize_item
from handlers.stages.download import handle
from tests.download.test_download import pdfs, serve_pdfs, url_path, write_batch
from tests.ingest.exchange import localized, minimal_pdf, raw_items

USER, PASSWORD = "idx/ops", "pa/ss@w%rd"


class Proxy(BaseHTTPRequestHandler):
    """Forwards absolute-form GETs, after checking Proxy-Authorization."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Proxy-Authorization") != expected:
            self.send_response(407)
            self.send_header("Proxy-Authenticate", 'Basic realm="test"')
            self.end_headers()
            return
        Proxy.seen.append(self.path)
        with urllib.request.urlopen(self.path, timeout=10) as upstream:
            body = upstream.read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Proxy.seen = []
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_download_goes_through_a_proxy_whose_password_holds_odd_characters(
        make_ctx, httpserver, proxy: int) -> None:
    items = localized(raw_items()[:1], httpserver.url_for("/"))
    serve_pdfs(httpserver, items)
    ctx = make_ctx({"download": {"allowed_hosts": ["localhost", "127.0.0.1"]}},
                   {"PROXY": f"http://{USER}:{PASSWORD}@127.0.0.1:{proxy}"})

    handle(write_batch(ctx.root, items), ctx)

    [saved] = pdfs(ctx.root, "idx-format")
    path = url_path(normalize_item(items[0])["attachments"][0]["url"])
    assert saved.read_bytes() == minimal_pdf(path)
    assert [url_path(seen) for seen in Proxy.seen] == [path]  # it went through the proxy


@pytest.mark.parametrize("proxy_url", [f"http://{USER}:{PASSWORD}@127.0.0.1:port",
                                       f"ftp://{USER}:{PASSWORD}@127.0.0.1:21",
                                       f"{USER}:{PASSWORD}@127.0.0.1:3128"])
def test_an_unusable_proxy_is_one_sentence_and_exit_2_without_the_password(
        tmp_path, proxy_url: str) -> None:
    done = subprocess.run([sys.executable, "-m", "daemon", "check-config", "--root",
                           str(tmp_path)], env={"PROXY": proxy_url, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "PROXY" in done.stderr and "proxy URL" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "pa/ss" not in done.stderr + done.stdout and "w%rd" not in done.stderr + done.stdout
