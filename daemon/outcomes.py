"""What became of one ready file once the engine was done with it, and which outcomes count
as success. The values are stable strings: logs, metrics labels and `done`, `failed` and
`quarantined` (which are ledger states too) use them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OutcomeState(StrEnum):
    """What became of one ready file; `done`, `failed` and `quarantined` are ledger states too."""

    DONE = "done"
    SKIPPED = "skipped"
    GONE = "gone"
    FAILED = "failed"
    QUARANTINED = "quarantined"
    INTERRUPTED = "interrupted"
    CRASHED = "crashed"


# Nothing went wrong: the content is processed, was already, or left before it was read (a
# late event for a file a stage has moved on). Anything else, present or future, is a failure.
SUCCESSES = frozenset({OutcomeState.DONE, OutcomeState.SKIPPED, OutcomeState.GONE})


@dataclass(frozen=True)
class Outcome:
    state: OutcomeState
    outputs: tuple[str, ...] = ()  # root-relative, for `done` and `quarantined`
    no_space: str = ""  # the error when a full disk stopped it: tried again once there is room
