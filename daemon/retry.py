"""The one retry policy of the program: exponential backoff with jitter, only for
`TransientError`, with waits that a stop interrupts.

The engine wraps every handler call in it; an application's timer jobs build the same policy
(through their context) for their own network calls, with a budget of their own where theirs
differs. A file whose retries run out is marked failed and given another round every
`failed_retry_s` by the rescan; no other retry loop exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from daemon.config import EngineSettings
from daemon.errors import TransientError


class Interrupted(Exception):
    """The daemon is stopping; the work stays pending for the next start."""


class StopEvent(Protocol):
    """What a wait needs of a stop signal: a `threading.Event`, or a test's stand-in."""

    def wait(self, timeout: float | None = None) -> bool: ...

    def is_set(self) -> bool: ...


def interruptible_wait(stopping: StopEvent) -> Callable[[float], None]:
    """A sleep that ends early, raising `Interrupted`, once `stopping` is set."""
    def wait(seconds: float) -> None:
        if stopping.wait(seconds):
            raise Interrupted

    return wait


def build_retrying(settings: EngineSettings, stopping: StopEvent,
                   on_retry: Callable[[RetryCallState], None] | None = None, *,
                   attempts: int | None = None, initial_s: float | None = None) -> Retrying:
    """The policy from the engine's settings; `attempts` and `initial_s` override its budget."""
    initial = settings.retry_initial_s if initial_s is None else initial_s
    return Retrying(
        stop=stop_after_attempt(attempts or settings.retry_attempts),
        wait=wait_exponential_jitter(multiplier=initial, max=settings.retry_max_s,
                                     jitter=initial),
        retry=retry_if_exception_type(TransientError),
        before_sleep=on_retry,
        sleep=interruptible_wait(stopping),
        reraise=True,
    )
