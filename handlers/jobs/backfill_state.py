"""A backfill's durable state: what was asked, how far it got, what it still waits for.

`idxd backfill` writes a request (`backfill.request` in the ledger's key-value table), and
`idxd backfill --cancel` a cancellation (`backfill.cancel`); the backfill timer job takes them
up and from then on owns `backfill.state`, the one record of the run: the days asked for, the
newest day not handed to the pipeline yet and the listing pages read of it so far, the batch
files still in the pipeline, the days gathered for the next summary email, and the earliest
moment the next request to the exchange may go out. It is rewritten after every request and
every hand-over, so a stopped or killed process resumes where it was and asks the exchange for
nothing it had already been given.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from daemon.ledger import Ledger

REQUEST_KEY = "backfill.request"
STATE_KEY = "backfill.state"
CANCEL_KEY = "backfill.cancel"
RUNNING, FINISHED, CANCELLED = "running", "finished", "cancelled"


def request_id(first: date, last: date) -> str:
    return f"{first:%Y%m%d}-{last:%Y%m%d}"


@dataclass
class Chunk:
    """Days handed over together, closed by one summary email once all of them are final."""

    newest: str  # ISO days, the chunk's bounds
    oldest: str
    days: int = 0
    trading_days: int = 0  # days on which the exchange listed anything
    announcements: int = 0
    forms: int = 0
    skipped: list[str] = field(default_factory=list)  # days the exchange refused outright

    @property
    def name(self) -> str:
        return f"backfill-{self.oldest.replace('-', '')}-{self.newest.replace('-', '')}"

    def add_day(self, day: date, announcements: int, forms: int) -> None:
        self.oldest = day.isoformat()
        self.days += 1
        self.trading_days += announcements > 0
        self.announcements += announcements
        self.forms += forms


@dataclass
class Progress:
    id: str
    first: str  # the oldest day asked for (ISO)
    last: str  # the newest day asked for
    next_day: str | None  # the newest day not handed over yet; None once every day is
    state: str = RUNNING
    page: int = 1  # the next listing page of next_day
    items: list[dict[str, Any]] = field(default_factory=list)  # next_day's items so far
    listed: bool = False  # next_day's listing is complete: `items` is the whole day
    days_done: int = 0
    trading_days: int = 0
    announcements: int = 0
    forms: int = 0
    requests: int = 0  # listing pages asked for, and attachments handed over
    in_flight: list[str] = field(default_factory=list)  # batch files not final yet
    chunk: Chunk | None = None  # days gathered for the next summary
    sealed: list[Chunk] = field(default_factory=list)  # chunks waiting for their files
    summaries: list[str] = field(default_factory=list)  # summaries built, in order
    not_before: float = 0.0  # epoch seconds: the polite rate's next slot
    failures: int = 0  # transient failures in a row
    paused: str | None = None  # why the last tick did not go on, in words
    requested_at: str = ""  # the latest request this run answers (a resume asks again)
    cancelled_at: str | None = None  # no day is read after this; what was handed over ends
    started_at: str | None = None
    updated_at: str | None = None
    finished_at: str | None = None

    @classmethod
    def start(cls, first: date, last: date, now: datetime, requested_at: str = "") -> Progress:
        return cls(id=request_id(first, last), first=first.isoformat(), last=last.isoformat(),
                   next_day=last.isoformat(), requested_at=requested_at,
                   started_at=now.isoformat(), updated_at=now.isoformat())

    @property
    def days_total(self) -> int:
        return (date.fromisoformat(self.last) - date.fromisoformat(self.first)).days + 1

    @property
    def day(self) -> date | None:
        return date.fromisoformat(self.next_day) if self.next_day else None

    @property
    def cancelling(self) -> bool:
        """Cancelled, with batches or summaries of the days handed over still to finish."""
        return self.state == RUNNING and self.cancelled_at is not None

    def cancel(self, now: datetime) -> None:
        """Read no more days; the days handed over already go on to their summary. Where it
        stopped (the day, the pages of it read) is kept, for a request of the same range."""
        self.cancelled_at, self.paused = now.isoformat(), None
        if self.chunk is not None and self.chunk.days:
            self.sealed.append(self.chunk)
        self.chunk = None

    def resume(self, requested_at: str) -> None:
        """A cancelled run asked for again: it goes on from where it stopped."""
        self.state, self.cancelled_at, self.finished_at = RUNNING, None, None
        self.requested_at = requested_at

    def advance(self) -> None:
        """next_day is handed over: the one before it is next, or none is left."""
        day = self.day
        before = day - timedelta(days=1) if day else None
        self.next_day = before.isoformat() if before and before.isoformat() >= self.first \
            else None
        self.page, self.items, self.listed = 1, [], False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Progress:
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["chunk"] = Chunk(**data["chunk"]) if data.get("chunk") else None
        values["sealed"] = [Chunk(**chunk) for chunk in data.get("sealed") or []]
        return cls(**values)


def load(ledger: Ledger) -> Progress | None:
    data = ledger.get_state(STATE_KEY)
    return Progress.from_json(data) if isinstance(data, dict) and data.get("id") else None


def save(ledger: Ledger, progress: Progress, now: datetime) -> None:
    progress.updated_at = now.isoformat()
    ledger.set_state(STATE_KEY, progress.to_json())


@dataclass(frozen=True)
class Request:
    first: date
    last: date
    requested_at: str
    again: bool = False  # read the range anew, not on from where a cancelled run stopped

    @property
    def id(self) -> str:
        return request_id(self.first, self.last)


def write_request(ledger: Ledger, first: date, last: date, now: datetime, *,
                  again: bool = False) -> Request:
    """What `idxd backfill` asks the timer job for."""
    request = Request(first, last, now.isoformat(), again)
    ledger.set_state(REQUEST_KEY, {"id": request.id, "from": first.isoformat(),
                                   "to": last.isoformat(), "requested_at": request.requested_at,
                                   "again": again})
    return request


def read_request(ledger: Ledger) -> Request | None:
    data = ledger.get_state(REQUEST_KEY)
    if not isinstance(data, dict):
        return None
    try:
        return Request(date.fromisoformat(str(data["from"])), date.fromisoformat(str(data["to"])),
                       str(data["requested_at"]), bool(data.get("again")))
    except (KeyError, ValueError):
        return None


def write_cancel(ledger: Ledger, now: datetime) -> str:
    """What `idxd backfill --cancel` asks the timer job for: every request up to now is off."""
    ledger.set_state(CANCEL_KEY, {"requested_at": now.isoformat()})
    return now.isoformat()


def read_cancel(ledger: Ledger) -> str:
    """When the latest cancellation was asked for ("" when none ever was)."""
    data = ledger.get_state(CANCEL_KEY)
    return str(data.get("requested_at") or "") if isinstance(data, dict) else ""


def asked_again(request: Request, progress: Progress) -> bool:
    """Another range, or the same one asked for again after its run ended (`idxd backfill
    --again`); a request a run answers already (it started it, or came while it ran) is not."""
    return request.id != progress.id or request.requested_at > progress.requested_at


class Follower:
    """Tells, from the states read one after the other, when the run a request asked for is
    over: a run of its range seen running, or one started after the request, has ended. (A run
    of the same range that ended before the request, when `--again` asks for another, is not
    it; a run still going when a restart asked again is.)"""

    def __init__(self, request: Request):
        self.request = request
        self.seen_running = False

    def ended(self, progress: Progress | None) -> bool:
        if progress is None or progress.id != self.request.id:
            return False
        self.seen_running |= progress.state == RUNNING
        ours = self.seen_running or (progress.started_at or "") >= self.request.requested_at
        return ours and progress.state != RUNNING


def eta_s(progress: Progress, now: datetime) -> float | None:
    """Seconds left at the pace so far (None before the first day is done)."""
    if not progress.days_done or not progress.started_at:
        return None
    elapsed_s = (now - datetime.fromisoformat(progress.started_at)).total_seconds()
    left = progress.days_total - progress.days_done
    return round(max(0.0, elapsed_s) / progress.days_done * left, 1)


def status_fact(data: Any, request: Any, now: datetime, cancel: Any = None
                ) -> dict[str, Any] | None:
    """The `backfill` line of `idxd status`, from the stored state, request and cancellation
    (None: no backfill was ever asked for)."""
    asked = request if isinstance(request, dict) and request.get("id") else None
    if asked and (not isinstance(data, dict) or data.get("id") != asked["id"]):
        cancelled = isinstance(cancel, dict) and \
            str(cancel.get("requested_at") or "") >= str(asked.get("requested_at") or "")
        return {"at": asked.get("requested_at"),
                "state": "cancelled" if cancelled else "requested",
                "range": f"{asked.get('from')}..{asked.get('to')}"}
    if not isinstance(data, dict) or not data.get("id"):
        return None
    progress = Progress.from_json(data)
    paused = progress.state == RUNNING and progress.paused
    state = "cancelling" if progress.cancelling else "paused" if paused else progress.state
    return {"at": progress.updated_at, "state": state,
            "range": f"{progress.first}..{progress.last}",
            "days": f"{progress.days_done}/{progress.days_total}",
            "next_day": progress.next_day, "forms": progress.forms,
            "in_pipeline": len(progress.in_flight), "paused": progress.paused,
            "eta_s": eta_s(progress, now) if progress.state == RUNNING else None,
            "summaries": len(progress.summaries)}
