"""The real parse child with faults a test asks for by the PDF's name, for the pool's tests.

`ParsePool(..., module="tests.parse.hooked_child")` runs this instead of the shipped child. It
reads forms exactly as the shipped child does, except for files whose name says otherwise:
- `kill-*`: the child SIGKILLs itself once the first page is read (a crash mid-parse);
- `hang-*`: it stops answering after the first page (a parse that never ends);
- `meet-*`: it records when it started and finished in `<name>.start`/`<name>.end` beside
  the PDF, and waits (bounded) for every other `meet-*` PDF of that directory to have started
  before it parses, so two files parse at the same time only if two children take them.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from handlers.adapters import parse_child
from handlers.adapters.ocr import OcrOptions
from handlers.adapters.pdf_form import read_pdf
from handlers.adapters.pdf_text import Progress
from handlers.domain.ksei.form import FormFields
from tests.support import wait_for

MEET_TIMEOUT_S = 20.0


def read(path: Path, on_progress: Progress, ocr: OcrOptions) -> FormFields:
    if path.name.startswith("meet-"):
        return _meet(path, on_progress, ocr)
    return read_pdf(path, _faulty(path.name, on_progress), ocr)


def _faulty(name: str, on_progress: Progress) -> Progress:
    def progress(done: int, total: int) -> None:
        on_progress(done, total)
        if done == 1 and name.startswith("kill-"):
            os.kill(os.getpid(), signal.SIGKILL)
        if done == 1 and name.startswith("hang-"):
            threading.Event().wait()

    return progress


def _meet(path: Path, on_progress: Progress, ocr: OcrOptions) -> FormFields:
    path.with_suffix(".start").write_text(str(time.monotonic_ns()))
    peers = [pdf.with_suffix(".start") for pdf in path.parent.glob("meet-*.pdf")]
    wait_for(lambda: all(peer.exists() for peer in peers), MEET_TIMEOUT_S, "every peer started")
    fields = read_pdf(path, on_progress, ocr)
    path.with_suffix(".end").write_text(str(time.monotonic_ns()))
    return fields


if __name__ == "__main__":
    raise SystemExit(parse_child.main(sys.argv[1:], read=read))
