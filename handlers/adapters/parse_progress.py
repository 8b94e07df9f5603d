"""How far a parse child got with its file: pages read and pages in all, in a small shared
memory file (a memfd) that the child writes after each page and the pool reads only when it
must say how far a file got (its child died, or its time ran out).

A message per page on the answer pipe would wake the pool's waiting thread at every page, and
each wake-up waits for the daemon's interpreter lock while other stages hold it: a two-page
form's answer came after four such waits instead of one. The board costs a `pwrite` per page
and no wake-up at all.
"""

from __future__ import annotations

import os
import struct

_LAYOUT = struct.Struct("=qq")  # pages read, pages in all (-1: not counted yet)
_NOT_COUNTED = -1


class ProgressBoard:
    """The two numbers, on the file descriptor `fd` (the pool's, or the child's inherited copy)."""

    def __init__(self, fd: int):
        self.fd = fd

    @classmethod
    def create(cls) -> ProgressBoard:
        """A new board; a child gets it through `pass_fds` (no other child inherits it)."""
        fd = os.memfd_create("idxd-parse-progress")
        os.ftruncate(fd, _LAYOUT.size)
        board = cls(fd)
        board.clear()
        return board

    def clear(self) -> None:
        """Nothing read yet: before a new file is handed over."""
        self.write(0, _NOT_COUNTED)

    def write(self, done: int, pages: int) -> None:
        os.pwrite(self.fd, _LAYOUT.pack(done, pages), 0)

    def read(self) -> tuple[int, int | None]:
        """(pages read, pages in all or None before the document was opened)."""
        done, pages = _LAYOUT.unpack(os.pread(self.fd, _LAYOUT.size, 0))
        return done, None if pages == _NOT_COUNTED else pages

    def close(self) -> None:
        os.close(self.fd)
