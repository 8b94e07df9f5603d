"""A small stand-in for PostgREST behind pytest-httpserver: keeps rows, answers inserts with
`resolution=ignore-duplicates` and paginated selects as PostgREST does, refuses a column its
table lacks (PGRST204), and can be told to fail; and one that refuses everything, echoing the
key it was given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from werkzeug import Request, Response


@dataclass
class Seen:
    method: str
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakePostgrest:
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    failures: list[tuple[int, str, str]] = field(default_factory=list)  # status, type, body
    # The table's columns, when it is not the shipped schema's: a payload naming another one
    # is refused as PostgREST refuses it (PGRST204, from its schema cache).
    columns: set[str] | None = None

    def __call__(self, request: Request) -> Response:
        body = json.loads(request.get_data() or b"null")
        self.seen.append(Seen(request.method, request.path, dict(request.args),
                              dict(request.headers), body))
        if self.failures:
            status, content_type, text = self.failures.pop(0)
            return Response(text, status=status, content_type=content_type)
        if request.method == "POST":
            unknown = self._unknown_column(body, request.args.get("columns", ""))
            if unknown:
                return _json({"code": "PGRST204", "details": None, "hint": None,
                              "message": f"Could not find the '{unknown}' column of "
                                         f"'idx_filings' in the schema cache"}, 400)
            return self._insert(body, request.headers.get("Prefer", ""))
        return self._select(dict(request.args))

    def _unknown_column(self, rows: list[dict[str, Any]], listed: str) -> str | None:
        if self.columns is None:
            return None
        named = {c.strip('"') for c in listed.split(",") if c} or {k for r in rows for k in r}
        return min(named - self.columns, default=None)

    def _insert(self, rows: list[dict[str, Any]], prefer: str) -> Response:
        assert "resolution=ignore-duplicates" in prefer
        new = [row for row in rows if row["dedup_key"] not in self.rows]
        for row in new:
            self.rows[row["dedup_key"]] = {"id": len(self.rows) + 1, **row}
        return _json([{"dedup_key": row["dedup_key"]} for row in new], 201)

    def _select(self, args: dict[str, str]) -> Response:
        matching = sorted(self.rows.values(), key=lambda row: row["id"])
        wanted = args.get("dedup_key", "")
        if wanted.startswith("in.("):
            keys = set(wanted[4:-1].split(","))
            matching = [row for row in matching if row["dedup_key"] in keys]
        offset, limit = int(args.get("offset", 0)), int(args.get("limit", 10**9))
        page = matching[offset:offset + limit]
        columns = args.get("select", "*")
        if columns != "*":
            page = [{c: row.get(c) for c in columns.split(",")} for row in page]
        end = offset + len(page) - 1
        content_range = f"{offset}-{end}/{len(matching)}" if page else f"*/{len(matching)}"
        return _json(page, 200, {"Content-Range": content_range})


def _json(payload: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload), status=status, headers=headers or {},
                    content_type="application/json")


@dataclass
class EchoingPostgrest:
    """A PostgREST that refuses every request with a 401 whose body repeats the `apikey` and
    the `Authorization` header it was sent, as some misconfigured gateways do."""

    seen: int = 0

    def __call__(self, request: Request) -> Response:
        self.seen += 1
        echoed = (f"Invalid API key {request.headers.get('apikey', '')} "
                  f"(Authorization: {request.headers.get('Authorization', '')})")
        return _json({"code": "PGRST301", "message": echoed, "details": None, "hint": None},
                     401)
