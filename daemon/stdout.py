"""Standard output that survives its reader going away (`idxd status --json | head -1`).

Once the pipe is closed, further output is sent to /dev/null instead of raising
`BrokenPipeError` from whatever line happened to print; the command finishes and returns its
own exit code.
"""

from __future__ import annotations

import os
from typing import Any, TextIO


class ReaderGone:
    def __init__(self, stream: TextIO):
        self._stream = stream
        self.closed_by_reader = False

    def write(self, text: str) -> int:
        if not self.closed_by_reader:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._discard()
        return len(text)

    def flush(self) -> None:
        if not self.closed_by_reader:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._discard()

    def _discard(self) -> None:
        """From now on the process's stdout is /dev/null, so that even the interpreter's
        final flush of what is still buffered finds a reader."""
        self.closed_by_reader = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass  # not a real file (a test's capture): nothing is buffered below us

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
