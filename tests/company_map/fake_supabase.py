"""A stand-in for the Supabase REST endpoint of `idx_company_report` on a local HTTP server.

It answers the supabase client's selects with the recorded company rows, honouring
`offset`/`limit` (or a `Range` header) and `Prefer: count=exact`, and records every request.
"""

from __future__ import annotations

import json
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import FIXTURES

TABLE_PATH = "/rest/v1/idx_company_report"
SERVICE_KEY = "test-service-key-do-not-log"


def recorded_rows() -> list[dict[str, Any]]:
    """The fixture map as table rows (symbol without `.JK`), in a scrambled order."""
    data = json.loads((FIXTURES / "company" / "company_map.json").read_text())
    return [{"symbol": key.removesuffix(".JK"), **row} for key, row in reversed(data.items())]


class FakeSupabase:
    def __init__(self, server: HTTPServer, rows: list[dict[str, Any]]):
        self.rows = sorted(rows, key=lambda row: row["symbol"])
        self.requests: list[Request] = []
        self.fail_status: int | None = None
        self.url = server.url_for("/").rstrip("/")
        server.expect_request(TABLE_PATH).respond_with_handler(self.serve)

    def serve(self, request: Request) -> Response:
        self.requests.append(request)
        if request.headers.get("apikey") != SERVICE_KEY:
            return Response(json.dumps({"message": "bad key"}), status=401)
        if self.fail_status:
            return Response("<html>bad gateway</html>", status=self.fail_status)
        start, stop = self._bounds(request)
        page = self.rows[start:stop]
        headers = {"Content-Range": f"{start}-{start + len(page) - 1}/"
                   + (str(len(self.rows)) if "count=exact" in request.headers.get("Prefer", "")
                      else "*")}
        return Response(json.dumps(page), headers=headers, content_type="application/json")

    def offsets(self) -> list[int]:
        return [self._bounds(r)[0] for r in self.requests]

    @staticmethod
    def _bounds(request: Request) -> tuple[int, int]:
        if "offset" in request.args or "limit" in request.args:
            start = int(request.args.get("offset", 0))
            return start, start + int(request.args.get("limit", 10**9))
        first, _, last = request.headers.get("Range", "0-").partition("-")
        return int(first), int(last) + 1 if last else 10**9


def supabase_env(url: str) -> dict[str, str]:
    return {"SUPABASE_URL": url, "SUPABASE_KEY": SERVICE_KEY}
