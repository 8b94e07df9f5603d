"""The exceptions that cross the boundary between handlers and the engine, and exit codes.

Handlers raise `TransientError` for what may succeed later (network, 5xx, a busy database) and
`RejectedInput` for input that can never be processed (its `code` names the reason). Anything
else is a bug or an unexpected failure and, like `RejectedInput`, fails the file at once.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1
    BAD_CONFIG = 2
    ALREADY_RUNNING = 3
    INTERRUPTED = 130


class TransientError(Exception):
    """A failure worth retrying: the same call may succeed later."""


class RejectedInput(Exception):
    """The input itself is unusable; retrying cannot help.

    `code` is a stable, machine-readable reason (`no_text_extracted`, `unsupported_format`, …);
    `details` carries what an operator needs to understand it (never secrets).
    """

    def __init__(self, code: str, message: str, details: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: dict[str, Any] = dict(details or {})


class ConfigError(Exception):
    """A configuration value is wrong; the message is one readable sentence."""


class AlreadyRunning(Exception):
    """Another daemon holds the lock on this root."""
