"""A stand-in for the exchange on a local HTTP server: the announcement API and the PDFs.

It serves recorded items grouped by WIB day, in pages of the requested size, records every
request, and can be told to answer a given (day, page) with error statuses first.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import FIXTURES

API_PATH = "/primary/NewsAnnouncement/GetAllAnnouncement"
IDX_ORIGIN = "https://www.idx.co.id"


def raw_items() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "idx_announcements_raw.json").read_text())


def multi_attachment_items() -> list[dict[str, Any]]:
    data = json.loads((FIXTURES / "idx_announcements_multi_attachment.json").read_text())
    return [item for month in data.values() for item in month["items"]]


def moved(item: dict[str, Any], publish_date: str, suffix: str) -> dict[str, Any]:
    """A copy of a recorded item published at another (naive WIB) time, with its own Id."""
    copied = copy.deepcopy(item)
    copied["PublishDate"] = publish_date
    copied["Id"] = f"{item['Id']}-{suffix}"
    return copied


def localized(items: list[dict[str, Any]], base_url: str) -> list[dict[str, Any]]:
    """The items with every exchange URL (in Attachments and PdfPath) pointing at `base_url`."""
    text = json.dumps(items).replace(IDX_ORIGIN, base_url.rstrip("/"))
    return json.loads(text)


def minimal_pdf(label: str) -> bytes:
    body = f"%PDF-1.4\n% {label}\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    body += "2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    return body.encode()


class FakeExchange:
    def __init__(self, server: HTTPServer, items: list[dict[str, Any]]):
        self.by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in items:
            self.by_day[item["PublishDate"][:10].replace("-", "")].append(item)
        self.requests: list[tuple[str, int]] = []
        self.failures: dict[tuple[str, int], list[int]] = {}
        self.url = server.url_for(API_PATH)
        server.expect_request(API_PATH).respond_with_handler(self.serve)

    def fail(self, day: str, page: int, *statuses: int) -> None:
        self.failures[(day, page)] = list(statuses)

    def serve(self, request: Request) -> Response:
        day, page = request.args["dateFrom"], int(request.args["pageNumber"])
        assert request.args["dateTo"] == day and request.args["keywords"] == "ownership"
        self.requests.append((day, page))
        queued = self.failures.get((day, page))
        if queued:
            return Response("busy", status=queued.pop(0))
        size = int(request.args["pageSize"])
        items = self.by_day.get(day, [])[(page - 1) * size: page * size]
        return Response(json.dumps({"Items": items, "ResultCount": len(self.by_day.get(day, []))}),
                        content_type="application/json")


def ingest_document(exchange_url: str, **ingest: Any) -> dict[str, Any]:
    settings = {"api_url": exchange_url, "pause_s": 0.25, "backoff_s": 0.5, "page_size": 2,
                **ingest}
    return {"ingest": settings, "download": {"allowed_hosts": ["127.0.0.1", "localhost"]}}


class SleepRecorder:
    """Stands in for the engine's stop signal: records every wait instead of waiting."""

    def __init__(self) -> None:
        self.pauses_s: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.pauses_s.append(timeout or 0.0)
        return False  # never stopping

    def is_set(self) -> bool:
        return False
