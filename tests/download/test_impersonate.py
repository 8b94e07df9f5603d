"""The browser-grade transport ([http] impersonate, through curl_cffi) against a local server:
the PDFs and the exchange API arrive the same way, and its answers are judged the same way.
(The real CDN cannot be reached from here; the README says so.)"""

from __future__ import annotations

from datetime import date

import pytest

from daemon.errors import ConfigError, TransientError
from handlers import settings as pipeline_settings
from handlers.domain import windows
from handlers.domain.announcements import normalize_item
from handlers.jobs.ingest import ingest_window
from handlers.settings import load_pipeline_settings
from handlers.stages.download import handle
from tests.download.test_download import (
    ALLOW_LOCAL,
    pdfs,
    serve_bad,
    serve_pdfs,
    url_path,
    write_batch,
)
from tests.ingest.exchange import (
    FakeExchange,
    SleepRecorder,
    ingest_document,
    localized,
    minimal_pdf,
    raw_items,
)

IMPERSONATE = {"impersonate": "chrome"}


def test_a_pdf_arrives_through_the_impersonating_transport_looking_like_a_browser(
        make_ctx, httpserver) -> None:
    items = localized(raw_items()[:1], httpserver.url_for("/"))
    serve_pdfs(httpserver, items)
    ctx = make_ctx({**ALLOW_LOCAL, "http": IMPERSONATE})

    handle(write_batch(ctx.root, items), ctx)

    [saved] = pdfs(ctx.root, "idx-format")
    path = url_path(normalize_item(items[0])["attachments"][0]["url"])
    assert saved.read_bytes() == minimal_pdf(path)
    [(request, _)] = httpserver.log
    assert "Chrome/" in request.headers["User-Agent"]  # the browser's, not ours or curl's


@pytest.mark.parametrize("setup", ["html_body", "forbidden", "cut_short"])
def test_its_transient_answers_are_judged_as_with_httpx(make_ctx, httpserver, setup: str) -> None:
    item = localized(raw_items()[:1], httpserver.url_for("/"))[0]
    serve_bad(httpserver, url_path(normalize_item(item)["attachments"][0]["url"]), setup)
    ctx = make_ctx({**ALLOW_LOCAL, "http": IMPERSONATE})
    with pytest.raises(TransientError, match="1 attachment"):
        handle(write_batch(ctx.root, [item]), ctx)
    assert pdfs(ctx.root, "idx-format") == []


def test_the_exchange_api_answers_through_it(make_ctx, httpserver) -> None:
    exchange = FakeExchange(httpserver, raw_items())
    document = ingest_document(exchange.url)
    ctx = make_ctx({**document, "http": IMPERSONATE}, stopping=SleepRecorder())
    _, count = ingest_window(ctx, windows.whole_days(date(2026, 4, 24), date(2026, 4, 24)))
    assert count == 5


def test_impersonation_without_the_extra_installed_is_a_configuration_error(
        monkeypatch) -> None:
    monkeypatch.setattr(pipeline_settings.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"impersonate .* with idxd\[cdn\] installed"):
        load_pipeline_settings({"http": IMPERSONATE}, {})
