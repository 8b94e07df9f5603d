"""The download stage against a local server standing in for the exchange's file host."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from werkzeug import Response

from daemon.errors import RejectedInput, TransientError
from daemon.retry import Interrupted
from handlers.adapters.mail.text import alert_lines
from handlers.domain.announcements import normalize_item
from handlers.stages.download import handle, retry_attempts
from tests.download.xlsx import xlsx_bytes
from tests.ingest.exchange import localized, minimal_pdf, multi_attachment_items, raw_items

ALLOW_LOCAL = {"download": {"allowed_hosts": ["127.0.0.1", "localhost"], "attempts": 3}}


def url_path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def serve_pdfs(httpserver, items: list[dict[str, Any]]) -> list[str]:
    """Serve a small, distinct PDF at every attachment URL; returns the URL paths."""
    paths = sorted({url_path(a["url"]) for item in items
                    for a in normalize_item(item)["attachments"]})
    for path in paths:
        httpserver.expect_request(path).respond_with_data(
            minimal_pdf(path), content_type="application/pdf")
    return paths


def write_batch(root: Path, items: list[dict[str, Any]], name: str = "batch.json") -> Path:
    path = root / "data" / "announcements" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"announcements": [normalize_item(i) for i in items],
                                "window": {"stub": "20260724_1600_20260724_1900"}}))
    return path


def pdfs(root: Path, kind: str) -> list[Path]:
    return sorted((root / "downloads" / kind).glob("*.pdf"))


def alert_codes(root: Path) -> list[str]:
    return sorted(json.loads(p.read_text())["code"] for p in (root / "alerts").glob("*.json"))


def test_every_attachment_lands_under_a_safe_unique_name(make_ctx, httpserver) -> None:
    items = localized(multi_attachment_items(), httpserver.url_for("/"))
    paths = serve_pdfs(httpserver, items)
    ctx = make_ctx(ALLOW_LOCAL)

    outputs = handle(write_batch(ctx.root, items), ctx)

    saved = pdfs(ctx.root, "non-idx-format")
    assert len(saved) == len(paths) == 13
    assert all("/" not in p.name and ".." not in p.name and len(p.name) < 130 for p in saved)
    assert set(outputs) >= set(saved)
    toto = next(p for p in saved if p.name.startswith("TOTO_") and "lamp1" in p.name)
    meta = json.loads((toto.parent / (toto.name + ".meta.json")).read_text())
    assert meta["original_name"].endswith("Pemegang Efek/Perubahan Struktur Pemegang Saham_"
                                          "32114742_lamp1.pdf")
    assert meta["ticker"] == "TOTO" and meta["window"] == "20260724_1600_20260724_1900"
    assert meta["published_at"] == "2026-07-24T18:53:35+07:00" and not meta["is_main"]
    assert toto.read_bytes() == minimal_pdf(url_path(meta["url"]))
    # none of the six has a KSEI form: each is flagged for manual review
    assert alert_codes(ctx.root) == ["non_idx_document"] * 6


def test_ksei_forms_go_to_the_parser_inbox_without_alerts(make_ctx, httpserver) -> None:
    items = localized(raw_items(), httpserver.url_for("/"))
    serve_pdfs(httpserver, items)
    ctx = make_ctx(ALLOW_LOCAL)

    handle(write_batch(ctx.root, items), ctx)

    names = [p.name for p in pdfs(ctx.root, "idx-format")]
    assert len(names) == 5 and names[0].startswith("BYAN_LK-24042026-")
    assert pdfs(ctx.root, "non-idx-format") == [] and alert_codes(ctx.root) == []


def test_nothing_is_downloaded_twice_after_a_restart(make_ctx, httpserver) -> None:
    items = localized(raw_items()[:2], httpserver.url_for("/"))
    serve_pdfs(httpserver, items)
    root = make_ctx(ALLOW_LOCAL).root
    batch = write_batch(root, items)
    first = handle(batch, make_ctx(ALLOW_LOCAL, root=root))
    requests_after_first = len(httpserver.log)

    second = handle(batch, make_ctx(ALLOW_LOCAL, root=root))

    assert len(httpserver.log) == requests_after_first == 2
    assert second == first


@pytest.mark.parametrize(("setup", "code", "reason"), [
    ("off_list_redirect", "download_refused", "host_not_allowed"),
    ("spreadsheet_body", "unsupported_format", "not_a_pdf"),
    ("oversized", "download_refused", "too_large"),
    ("tab_in_url", "download_refused", "bad_url"),
])
def test_a_bad_attachment_gives_its_alert_and_no_file(make_ctx, httpserver, setup: str,
                                                      code: str, reason: str) -> None:
    good, bad = localized(raw_items()[:2], httpserver.url_for("/"))
    serve_pdfs(httpserver, [good])
    bad_path = url_path(normalize_item(bad)["attachments"][0]["url"])
    if setup == "tab_in_url":  # every link of the announcement carries the tab
        bad = json.loads(json.dumps(bad).replace("LK-24042026-9589", "LK\\t-24042026-9589"))
    else:
        serve_bad(httpserver, bad_path, setup)
    ctx = make_ctx({"download": {**ALLOW_LOCAL["download"], "max_mb": 0.01}})

    handle(write_batch(ctx.root, [good, bad]), ctx)

    saved = pdfs(ctx.root, "idx-format")
    assert [p.name[:5] for p in saved] == ["SRTG_"]  # the good one still arrives
    [alert_file] = (ctx.root / "alerts").glob("*.json")
    alert = json.loads(alert_file.read_text())
    assert alert["code"] == code and alert["reasons"][-1]["details"]["reason"] == reason
    assert alert["context"]["announcement"]["ticker"] == "BYAN"
    assert not list((ctx.root / "downloads").rglob("BYAN*"))


def serve_bad(httpserver, path: str, setup: str, once: bool = False) -> None:
    expect = (httpserver.expect_oneshot_request if once else httpserver.expect_request)(path)
    if setup == "off_list_redirect":
        expect.respond_with_response(Response(status=302, headers={
            "Location": "https://files.example.com/LK.pdf"}))
    elif setup == "html_body":
        expect.respond_with_data(b"<html>Just a moment...</html>", content_type="application/pdf")
    elif setup == "spreadsheet_body":  # a real document of another kind
        expect.respond_with_data(b"PK\x03\x04" + b"\x00" * 64, content_type="application/pdf")
    elif setup == "oversized":
        expect.respond_with_data(minimal_pdf("x" * 20_000), content_type="application/pdf")
    elif setup == "forbidden":
        expect.respond_with_data(b"denied", status=403)
    elif setup == "lying_gzip":
        expect.respond_with_data(b"%PDF-1.4 not gzip at all", content_type="application/pdf",
                                 headers={"Content-Encoding": "gzip"})
    elif setup == "cut_short":  # the connection ends before the declared length
        expect.respond_with_response(Response(iter([b"%PDF-1.4 half"]),
                                              content_type="application/pdf",
                                              headers={"Content-Length": "4000"}))
    else:
        expect.respond_with_data(b"gone", status=404)


@pytest.mark.parametrize("setup", ["html_body", "forbidden", "lying_gzip", "cut_short"])
def test_a_transient_answer_leaves_the_attachment_to_retry_and_it_arrives_later(
        make_ctx, httpserver, setup: str) -> None:
    good, flaky = localized(raw_items()[:2], httpserver.url_for("/"))
    serve_pdfs(httpserver, [good])
    flaky_path = url_path(normalize_item(flaky)["attachments"][0]["url"])
    serve_bad(httpserver, flaky_path, setup, once=True)
    ctx = make_ctx(ALLOW_LOCAL)
    batch = write_batch(ctx.root, [good, flaky])

    with pytest.raises(TransientError, match="1 attachment"):
        handle(batch, ctx)
    assert [p.name[:5] for p in pdfs(ctx.root, "idx-format")] == ["SRTG_"]
    assert alert_codes(ctx.root) == []  # a challenge or a refusal is not the document's fault
    serve_pdfs(httpserver, [flaky])  # the next answer is the real PDF
    handle(batch, ctx)
    assert sorted(p.name[:5] for p in pdfs(ctx.root, "idx-format")) == ["BYAN_", "SRTG_"]


def test_a_404_is_retried_until_it_has_persisted_then_alerted_once(make_ctx, httpserver) -> None:
    good, gone = localized(raw_items()[:2], httpserver.url_for("/"))
    serve_pdfs(httpserver, [good])
    serve_bad(httpserver, url_path(normalize_item(gone)["attachments"][0]["url"]), "not_found")
    root = make_ctx().root
    batch = write_batch(root, [good, gone])
    waiting = make_ctx({"download": {**ALLOW_LOCAL["download"], "missing_horizon_s": 3600}},
                       root=root)
    with pytest.raises(TransientError):
        handle(batch, waiting)  # a CDN may not have the file yet
    assert alert_codes(root) == []
    waiting.close()

    persisted = make_ctx({"download": {**ALLOW_LOCAL["download"], "missing_horizon_s": 0}},
                         root=root)
    first = handle(batch, persisted)
    again = handle(batch, persisted)  # given up: not asked again, not alerted again
    assert alert_codes(root) == ["download_failed"]
    # Each run names the alert among its outputs: a backfill's summary waits for it.
    [alert] = [path for path in first if path.parent.name == "alerts"]
    assert alert in again
    gone_requests = [e for e, _ in httpserver.log if "9589" in e.path]
    assert len(gone_requests) == 2


def test_a_host_trickling_bytes_is_cut_off_and_tried_again(make_ctx, httpserver) -> None:
    item = localized(raw_items()[:1], httpserver.url_for("/"))[0]
    path = url_path(normalize_item(item)["attachments"][0]["url"])

    def trickle(_request):
        def body():
            for _ in range(40):
                yield b"%"
                time.sleep(0.05)  # the slow peer this test plays, not a wait
        return Response(body(), content_type="application/pdf")

    httpserver.expect_request(path).respond_with_handler(trickle)
    ctx = make_ctx({"download": {**ALLOW_LOCAL["download"], "deadline_s": 0.5}})
    with pytest.raises(TransientError, match="1 attachment"):
        handle(write_batch(ctx.root, [item]), ctx)
    assert pdfs(ctx.root, "idx-format") == [] and alert_codes(ctx.root) == []


def test_a_redirect_inside_the_allow_list_is_followed(make_ctx, httpserver) -> None:
    [item] = localized(raw_items()[:1], httpserver.url_for("/"))
    path = url_path(normalize_item(item)["attachments"][0]["url"])
    httpserver.expect_request(path).respond_with_response(
        Response(status=301, headers={"Location": "/moved/form.pdf"}))
    httpserver.expect_request("/moved/form.pdf").respond_with_data(minimal_pdf("moved"))
    ctx = make_ctx(ALLOW_LOCAL)

    handle(write_batch(ctx.root, [item]), ctx)

    [saved] = pdfs(ctx.root, "idx-format")
    assert saved.read_bytes() == minimal_pdf("moved")


def test_a_busy_server_leaves_the_batch_to_retry_and_loses_no_attachment(
        make_ctx, httpserver) -> None:
    good, busy = localized(raw_items()[:2], httpserver.url_for("/"))
    serve_pdfs(httpserver, [good])
    busy_path = url_path(normalize_item(busy)["attachments"][0]["url"])
    httpserver.expect_oneshot_request(busy_path).respond_with_data(b"busy", status=503)
    httpserver.expect_oneshot_request(busy_path).respond_with_data(b"busy", status=503)
    ctx = make_ctx(ALLOW_LOCAL)
    batch = write_batch(ctx.root, [good, busy])

    for _ in range(2):  # every call while the server is busy asks the engine to retry
        with pytest.raises(TransientError, match="1 attachment"):
            handle(batch, ctx)
    assert alert_codes(ctx.root) == []  # nothing is given up: no download_failed
    serve_pdfs(httpserver, [busy])  # the server is back
    handle(batch, ctx)

    assert len(pdfs(ctx.root, "idx-format")) == 2
    good_requests = [e for e, _ in httpserver.log if "7431" in e.path]
    assert len(good_requests) == 1  # the good one was not fetched again by the retries


def test_the_download_stage_retries_with_its_own_budget(make_ctx) -> None:
    assert retry_attempts(make_ctx(ALLOW_LOCAL)) == 3
    assert retry_attempts(make_ctx()) == 5


def test_an_unreadable_batch_is_rejected(make_ctx, tmp_path) -> None:
    ctx = make_ctx(ALLOW_LOCAL)
    path = ctx.root / "data" / "announcements" / "broken.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(RejectedInput) as raised:
        handle(path, ctx)
    assert raised.value.code == "invalid_announcements"


def test_a_raw_list_dropped_by_hand_is_accepted(make_ctx, httpserver) -> None:
    items = localized(raw_items()[:1], httpserver.url_for("/"))
    serve_pdfs(httpserver, items)
    ctx = make_ctx(ALLOW_LOCAL)
    path = ctx.root / "data" / "announcements" / "by-hand.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(items))

    handle(path, ctx)

    [saved] = pdfs(ctx.root, "idx-format")
    meta = json.loads(saved.with_name(saved.name + ".meta.json").read_text())
    assert meta["window"] is None and meta["ticker"] == "SRTG"


def test_a_stop_ends_a_download_at_once_and_leaves_it_pending(make_ctx, httpserver) -> None:
    item = localized(raw_items()[:1], httpserver.url_for("/"))[0]
    path = url_path(normalize_item(item)["attachments"][0]["url"])
    stopping = threading.Event()
    sent = []

    def trickle(_request):
        def body():
            yield b"%PDF-"
            stopping.set()  # the daemon is told to stop while the body is still coming
            for _ in range(100):
                sent.append(1)
                yield b" "
                time.sleep(0.05)  # the slow peer this test plays, not a wait
        return Response(body(), content_type="application/pdf")

    httpserver.expect_request(path).respond_with_handler(trickle)
    ctx = make_ctx(ALLOW_LOCAL, stopping=stopping)
    with pytest.raises(Interrupted):
        handle(write_batch(ctx.root, [item]), ctx)
    assert len(sent) < 100  # it did not read the rest of the body first
    assert pdfs(ctx.root, "idx-format") == [] and alert_codes(ctx.root) == []


def test_a_spreadsheet_attachment_is_kept_and_its_numbers_go_into_the_review_alert(
        make_ctx, httpserver) -> None:
    item = localized(raw_items()[:1], httpserver.url_for("/"))[0]
    item = json.loads(json.dumps(item).replace("LK-24042026-7431-00.pdf", "Kepemilikan.xlsx"))
    attachment = normalize_item(item)["attachments"][0]
    workbook = xlsx_bytes("Kepemilikan", [["Nama", "Jumlah Saham"], ["PT Sinar Mas", 4289610000]])
    httpserver.expect_request(url_path(attachment["url"])).respond_with_data(
        workbook, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    ctx = make_ctx(ALLOW_LOCAL)

    handle(write_batch(ctx.root, [item]), ctx)

    [saved] = (ctx.root / "downloads" / "non-idx-format").glob("*.xlsx")
    assert saved.read_bytes() == workbook  # kept for a person, never given to the parser
    [alert_file] = (ctx.root / "alerts").glob("*.json")
    alert = json.loads(alert_file.read_text())
    assert alert["code"] == "non_idx_document"
    [sheet] = alert["reasons"][-1]["details"]["spreadsheets"]
    assert sheet["text"] == "[Kepemilikan]\nNama | Jumlah Saham\nPT Sinar Mas | 4289610000"
    text = "\n".join(alert_lines(alert))
    assert "    PT Sinar Mas | 4289610000" in text  # what the email's text part shows
