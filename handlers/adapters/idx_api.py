"""Asking the exchange for the ownership announcements of a window, page by page.

One query per WIB calendar day of the window (the exchange was seen to clip multi-day ranges),
paginated until a short or empty page. Timeouts, network errors and the statuses `answers`
calls transient (403, 429, 5xx, …) raise `TransientError`, which the caller's retry policy (the
engine's, with the ingest budget) retries; a polite pause separates every request. Exhausted
retries re-raise `TransientError`; any other 4xx raises `ExchangeRefused`, and either way the
caller leaves the ingest state where it was.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import httpx
from tenacity import Retrying

from daemon.errors import TransientError
from daemon.logs import get_logger
from handlers.adapters.answers import Unavailable, is_transient_status
from handlers.adapters.host_health import HostHealth
from handlers.domain.windows import WIB, Window, to_wib

if TYPE_CHECKING:
    from handlers.settings import IngestSettings

Pause = Callable[[float], None]
log = get_logger()


class ExchangeRefused(Exception):
    """The exchange refused a query outright (a 4xx that is not transient): not worth retrying."""

    def __init__(self, status: int, day: date, page: int):
        super().__init__(f"the exchange answered HTTP {status} for {day} page {page}")
        self.status, self.day, self.page = status, day, page


def fetch_window(http: httpx.Client, settings: IngestSettings, window: Window,
                 retrying: Retrying, pause: Pause, health: HostHealth) -> list[dict[str, Any]]:
    """Every item the exchange lists for the window's days (not yet filtered by time)."""
    items: list[dict[str, Any]] = []
    for index, day in enumerate(window.days()):
        if index:
            pause(settings.pause_s)
        items += fetch_day(http, settings, day, retrying, pause, health, since=window.start)
    return items


def fetch_day(http: httpx.Client, settings: IngestSettings, day: date, retrying: Retrying,
              pause: Pause, health: HostHealth, *,
              since: datetime | None = None) -> list[dict[str, Any]]:
    """The day's items, page by page; the listing is newest first (as recorded in
    `fixtures/idx/`), so paging stops at a short page or at one that reaches before `since`:
    a poll every 30 s costs one request, not the whole day's listing."""
    items: list[dict[str, Any]] = []
    for page in range(1, settings.max_pages + 1):
        if page > 1:
            pause(settings.pause_s)
        batch: list[dict[str, Any]] = retrying(_watched_page, http, settings, day, page,
                                               health)
        items += batch
        if len(batch) < settings.page_size or _reaches_before(batch, since):
            return items
    log.warning("ingest.page_limit_reached", day=day.isoformat(), pages=settings.max_pages)
    return items


def _reaches_before(batch: list[dict[str, Any]], since: datetime | None) -> bool:
    if since is None:
        return False
    for item in batch:
        try:
            published = datetime.fromisoformat(str(item.get("PublishDate")))
        except ValueError:
            continue
        if to_wib(published if published.tzinfo else published.replace(tzinfo=WIB)) < since:
            return True
    return False


def query_params(settings: IngestSettings, day: date, page: int) -> dict[str, str | int]:
    stamp = day.strftime("%Y%m%d")
    return {"keywords": settings.keywords, "pageNumber": page, "pageSize": settings.page_size,
            "dateFrom": stamp, "dateTo": stamp, "lang": "en"}


def fetch_page(http: httpx.Client, settings: IngestSettings, day: date, page: int,
               health: HostHealth) -> list[dict[str, Any]]:
    """One page of a day's listing, once, without retries: for a caller that paces its own
    requests (the backfill) and tries again at its next tick."""
    return _watched_page(http, settings, day, page, health)


def _watched_page(http: httpx.Client, settings: IngestSettings, day: date, page: int,
                  health: HostHealth) -> list[dict[str, Any]]:
    """One page, skipped while the exchange rests, its answer told to the host's health."""
    health.check(settings.api_url)
    try:
        items = _request_page(http, settings, day, page)
    except Unavailable as error:
        if error.refusal:
            health.refused(settings.api_url)
        raise
    health.answered(settings.api_url)
    return items


def _request_page(http: httpx.Client, settings: IngestSettings, day: date,
                  page: int) -> list[dict[str, Any]]:
    try:
        response = http.get(settings.api_url, params=query_params(settings, day, page))
    except httpx.TransportError as error:
        raise TransientError(f"{type(error).__name__}: {error}") from error
    if is_transient_status(response.status_code):  # 403 too: the CDN's refusal passes later
        raise Unavailable(f"the exchange answered HTTP {response.status_code}",
                          refusal=response.status_code == 403)
    if response.status_code != 200:
        raise ExchangeRefused(response.status_code, day, page)
    return _items_of(response)


def _items_of(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        # A CDN challenge page arrives as HTML with 200; it usually passes on a later try.
        raise Unavailable("the exchange answered something that is not JSON",
                          refusal=True) from None
    items = body.get("Items") if isinstance(body, dict) else None
    if items is None:
        return []
    if not isinstance(items, list):
        raise TransientError("the exchange's Items is not a list")
    return [item for item in items if isinstance(item, dict)]
