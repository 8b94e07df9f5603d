"""A small stand-in for PostgREST behind pytest-httpserver: keeps the rows of the filings table and
of its history table, answers inserts with `resolution=ignore-duplicates` (on each table's
unique key), filtered and paginated selects (`eq`, `in`, `or=(…)`), PATCH and DELETE by filter
as PostgREST does, refuses a column its filings table lacks (PGRST204), and can be told to fail;
and one that refuses everything, echoing the key it was given. Every request is recorded
(`seen`) for the contract tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug import Request, Response

FILINGS, HISTORY = "idx_filings", "idx_filings_history"
UNIQUE = {FILINGS: "dedup_key", HISTORY: "history_key"}
NOT_FILTERS = {"select", "order", "offset", "limit", "on_conflict", "columns"}


@dataclass
class Seen:
    method: str
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    body: Any

    @property
    def table(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass
class FakePostgrest:
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # the filings, by dedup_key
    history: dict[str, dict[str, Any]] = field(default_factory=dict)  # by history_key
    seen: list[Seen] = field(default_factory=list)
    failures: list[tuple[int, str, str]] = field(default_factory=list)  # status, type, body
    missing_tables: set[str] = field(default_factory=set)  # answered as PostgREST does: 404
    # Called with each request before it is answered (a test's fault injection).
    before: Callable[[Seen], None] | None = None
    _ids: dict[str, int] = field(default_factory=dict)
    # The filings table's columns, when it is not the shipped schema's: a payload naming
    # another one is refused as PostgREST refuses it (PGRST204, from its schema cache).
    columns: set[str] | None = None

    def __call__(self, request: Request) -> Response:
        body = json.loads(request.get_data() or b"null")
        seen = Seen(request.method, request.path, dict(request.args), dict(request.headers),
                    body)
        self.seen.append(seen)
        if self.before is not None:
            self.before(seen)
        if self.failures:
            status, content_type, text = self.failures.pop(0)
            return Response(text, status=status, content_type=content_type)
        table = seen.table
        if table in self.missing_tables:
            return _json({"code": "PGRST205", "message": f"Could not find the table "
                          f"'public.{table}' in the schema cache", "details": None,
                          "hint": None}, 404)
        if request.method in ("POST", "PATCH") and table != HISTORY:
            unknown = self._unknown_column(body, request.args.get("columns", ""))
            if unknown:
                return _json({"code": "PGRST204", "details": None, "hint": None,
                              "message": f"Could not find the '{unknown}' column of "
                                         f"'{table}' in the schema cache"}, 400)
        answer = {"POST": self._insert, "PATCH": self._update, "DELETE": self._delete}.get(
            request.method, self._select)
        return answer(table, seen)

    def _unknown_column(self, body: Any, listed: str) -> str | None:
        if self.columns is None:
            return None
        rows = body if isinstance(body, list) else [body]
        named = {c.strip('"') for c in listed.split(",") if c} or {k for r in rows for k in r}
        return min(named - self.columns, default=None)

    def table(self, name: str) -> dict[str, dict[str, Any]]:
        return self.history if name == HISTORY else self.rows

    def _insert(self, table: str, seen: Seen) -> Response:
        prefer = seen.headers.get("Prefer", "")
        assert "resolution=ignore-duplicates" in prefer
        key, stored = UNIQUE[table], self.table(table)
        rows = seen.body if isinstance(seen.body, list) else [seen.body]
        new = [row for row in rows if row[key] not in stored]
        for row in new:
            self._ids[table] = self._ids.get(table, 0) + 1
            stored[row[key]] = {"id": self._ids[table], **row}
        if "return=minimal" in prefer:
            return Response(status=201)
        return _json([{key: row[key]} for row in new], 201)

    def _update(self, table: str, seen: Seen) -> Response:
        key, stored = UNIQUE[table], self.table(table)
        changed = []
        for row in self._matching(table, seen.args):
            new_key = seen.body.get(key, row[key])
            if new_key != row[key] and new_key in stored:
                return _json({"code": "23505", "message": "duplicate key value", "details": None,
                              "hint": None}, 409)
            del stored[row[key]]
            row.update(seen.body)
            stored[row[key]] = row
            changed.append(row)
        return _json(changed, 200)

    def _delete(self, table: str, seen: Seen) -> Response:
        key, stored = UNIQUE[table], self.table(table)
        gone = self._matching(table, seen.args)
        for row in gone:
            del stored[row[key]]
        return _json(gone, 200)

    def _select(self, table: str, seen: Seen) -> Response:
        args = seen.args
        matching = self._matching(table, args)
        offset, limit = int(args.get("offset", 0)), int(args.get("limit", 10**9))
        page = matching[offset:offset + limit]
        columns = args.get("select", "*")
        if columns != "*":
            page = [{c: row.get(c) for c in columns.split(",")} for row in page]
        end = offset + len(page) - 1
        content_range = f"{offset}-{end}/{len(matching)}" if page else f"*/{len(matching)}"
        return _json(page, 200, {"Content-Range": content_range})

    def _matching(self, table: str, args: dict[str, str]) -> list[dict[str, Any]]:
        rows = sorted(self.table(table).values(), key=lambda row: row["id"])
        for name, condition in args.items():
            if name in NOT_FILTERS:
                continue
            if name == "or":
                rows = [r for r in rows if _any_holds(r, condition)]
            else:
                operator, _, value = condition.partition(".")
                rows = [r for r in rows if _holds(r, name, operator, value)]
        return rows


def _split(text: str) -> list[str]:
    """`a.eq."x,y",and(b.eq.z,c.eq.w)` -> its terms, commas inside quotes and parentheses
    kept."""
    parts, current, quoted, depth = [], "", False, 0
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
        if char == "," and not quoted and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def _any_holds(row: dict[str, Any], group: str) -> bool:
    """`(a.eq.x,and(b.eq.y,c.ilike.*z*))`: any of the terms, a nested `and(…)` all of its."""
    return any(_term_holds(row, term) for term in _split(group.strip()[1:-1]))


def _term_holds(row: dict[str, Any], term: str) -> bool:
    if term.startswith("and("):
        return all(_term_holds(row, t) for t in _split(term[3:].strip()[1:-1]))
    column, operator, value = term.split(".", 2)
    return _holds(row, column, operator, value)


def _holds(row: dict[str, Any], column: str, operator: str, value: str) -> bool:
    if operator == "eq":
        return str(row.get(column)) == _unquote(value)
    if operator == "ilike":  # PostgREST's `*` is SQL's `%`
        pattern = ".*".join(re.escape(part) for part in _unquote(value).lower().split("*"))
        return re.fullmatch(pattern, str(row.get(column) or "").lower()) is not None
    if operator == "in":
        return str(row.get(column)) in {_unquote(v) for v in _split(value.strip()[1:-1])}
    raise AssertionError(f"the stand-in does not know the operator {operator!r}")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


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
