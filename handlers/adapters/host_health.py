"""Source health: a host that keeps refusing us (403s, challenge pages) gets a rest.

The exchange's CDN answers a client it distrusts with 403 or an HTML challenge, and hammering
it only prolongs that. After `block_after` such answers in a row from one host, the host rests:
no request goes to it, and whatever needed it waits as a transient failure. The first rest is
`first_cooldown_s`; each further refusal after a rest doubles it, up to `cooldown_s`, so a
short block costs minutes and a long one is not hammered. The block is logged once as
`source.blocked`, its end once as `source.recovered` (at the first good answer after it), and
kept in the ledger's state so `idxd status` and the window's email can say how long the source
was blocked. Blocked is never "no filings".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from daemon.logs import get_logger
from handlers.adapters.answers import Unavailable

STATE_PREFIX = "source.health."  # + host
log = get_logger()

GetState = Callable[[str], Any]
SetState = Callable[[str, Any], None]


class HostHealth:
    def __init__(self, get_state: GetState, set_state: SetState,
                 clock: Callable[[], datetime], *, block_after: int, cooldown_s: float,
                 first_cooldown_s: float | None = None):
        self._get, self._set, self._clock = get_state, set_state, clock
        self.block_after, self.cooldown_s = block_after, cooldown_s
        self.first_cooldown_s = min(first_cooldown_s or cooldown_s, cooldown_s)
        self._lock = threading.Lock()

    def check(self, url: str) -> None:
        """Raise `Unavailable` while the URL's host is resting."""
        host = host_of(url)
        state = self._state(host)
        if self._resting(state):
            raise Unavailable(f"{host} is blocking us; it rests until {state['blocked_until']}")

    def refused(self, url: str) -> None:
        """A 403 or a challenge page from the URL's host."""
        host = host_of(url)
        with self._lock:
            state = self._state(host)
            refusals = int(state.get("refusals", 0)) + 1
            state["refusals"] = refusals
            if refusals >= self.block_after and not self._resting(state):
                self._block(host, state)
            self._set(STATE_PREFIX + host, state)

    def answered(self, url: str) -> None:
        """A good answer from the URL's host: the run of refusals is over."""
        host = host_of(url)
        with self._lock:
            state = self._state(host)
            if not state.get("refusals") and not state.get("blocked_since"):
                return
            if state.get("blocked_since"):
                self._recover(host, state)
            state["refusals"] = 0
            self._set(STATE_PREFIX + host, state)

    def _block(self, host: str, state: dict[str, Any]) -> None:
        now = self._clock()
        rests = int(state.get("rests", 0))
        rest_s = min(self.cooldown_s, self.first_cooldown_s * 2 ** rests)
        state["rests"] = rests + 1
        state["blocked_until"] = (now + timedelta(seconds=rest_s)).isoformat()
        if not state.get("blocked_since"):
            state["blocked_since"] = now.isoformat()
            log.warning("source.blocked", host=host, refusals=state["refusals"],
                        rest_s=rest_s)

    def _recover(self, host: str, state: dict[str, Any]) -> None:
        now = self._clock()
        since = datetime.fromisoformat(state.pop("blocked_since"))
        state.pop("blocked_until", None)
        state.pop("rests", None)
        blocked_s = round((now - since).total_seconds())
        state["last_block"] = {"since": since.isoformat(), "until": now.isoformat(),
                               "blocked_s": blocked_s}
        log.info("source.recovered", host=host, blocked_s=blocked_s)

    def _resting(self, state: dict[str, Any]) -> bool:
        until = state.get("blocked_until")
        return bool(until) and self._clock() < datetime.fromisoformat(str(until))

    def _state(self, host: str) -> dict[str, Any]:
        state = self._get(STATE_PREFIX + host)
        return dict(state) if isinstance(state, dict) else {}


def source_hosts(settings: Any) -> list[str]:
    """The hosts the pipeline asks: the exchange API's and the allowed file hosts."""
    return list(dict.fromkeys([host_of(settings.ingest.api_url),
                               *settings.download.allowed_hosts]))


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
