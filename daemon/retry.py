"""The one retry policy around every handler call: exponential backoff with jitter, only for
`TransientError`. Waiting is interruptible, so a shutdown never sits out a long backoff.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

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
    """The daemon is stopping; the file stays pending for the next start."""


def build_retrying(settings: EngineSettings, stopping: threading.Event,
                   on_retry: Callable[[RetryCallState], None]) -> Retrying:
    def interruptible_sleep(seconds: float) -> None:
        if stopping.wait(seconds):
            raise Interrupted

    return Retrying(
        stop=stop_after_attempt(settings.retry_attempts),
        wait=wait_exponential_jitter(multiplier=settings.retry_initial_s, max=settings.retry_max_s,
                                     jitter=settings.retry_initial_s),
        retry=retry_if_exception_type(TransientError),
        before_sleep=on_retry,
        sleep=interruptible_sleep,
        reraise=True,
    )

