"""One parse child: a process that reads KSEI form PDFs, one at a time, under a memory cap.

`parse_pool` starts it as `python -m handlers.adapters.parse_child MEMORY_LIMIT_BYTES TIME_LIMIT_S
OCR_OPTIONS_JSON PROGRESS_FD`. It caps its own address space first (before PDFium is even
loaded), says it is ready, then reads one JSON request per line on stdin (`{"path": …}`). It
keeps the file's progress (pages read, pages in all) on the `parse_progress` board the pool
handed it, and answers on stdout with one JSON line, exactly one of
`result` (the form's fields, read whole here: text layer or OCR, labels, table, provenance),
`rejected` (a `RejectedInput`: code, message, details), `memory` (Python ran out
of memory; the child exits after saying so) or `error` (anything else). A PDFium crash or a
failed allocation inside PDFium ends the process without a word: the pool sees the pipe close
and reads why from the exit status. End of stdin ends the child.
"""

from __future__ import annotations

import json
import math
import os
import resource
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from daemon.errors import RejectedInput
from handlers.adapters.ocr import OcrOptions
from handlers.adapters.parse_progress import ProgressBoard
from handlers.adapters.pdf_form import read_pdf
from handlers.adapters.pdf_text import Progress
from handlers.domain.ksei.form import FormFields

Read = Callable[[Path, Progress, OcrOptions], FormFields]
Send = Callable[[dict[str, Any]], None]
MEMORY_EXIT = 3  # the exit status after a MemoryError: the heap may be in a poor state
ALARM_GRACE_S = 5


def main(argv: list[str], read: Read = read_pdf) -> int:
    """Serve requests until stdin ends; `read` is replaceable so tests can add faults."""
    # The daemon's stop signals reach its whole process group (a terminal's Ctrl-C, systemd's
    # SIGTERM to the cgroup): the daemon drains and then ends its children itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    limit_bytes, time_limit_s = int(argv[0]), float(argv[1])
    ocr, board = OcrOptions(**json.loads(argv[2])), ProgressBoard(int(argv[3]))
    # One thread for Tesseract: the children already share the cores between them, and every
    # OpenMP thread's stack would count against the address-space cap.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    # resource.prlimit always issues prlimit64, which the shipped unit allows; its system call
    # filter forbids the setrlimit call (the @resources group).
    resource.prlimit(0, resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    send = _sender(_protocol_stream())
    # The memory high-water mark this process started with: Linux carries the parent's
    # across fork and exec, so the pool can tell the child's own growth from it.
    inherited_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    send({"event": "ready", "pid": os.getpid(), "inherited_rss_kib": inherited_kib})
    for line in sys.stdin.buffer:
        request = json.loads(line)
        # The pool kills a file's child at the time limit; should the daemon itself be gone,
        # SIGALRM (its default action ends the process) still ends the child soon after.
        signal.alarm(math.ceil(time_limit_s) + ALARM_GRACE_S)
        carry_on = serve(Path(request["path"]), read, ocr, send, board)
        signal.alarm(0)
        if not carry_on:
            return MEMORY_EXIT
    return 0


def serve(path: Path, read: Read, ocr: OcrOptions, send: Send, board: ProgressBoard) -> bool:
    """Answer one request; False when the child must end (it ran out of memory)."""
    try:
        fields = read(path, board.write, ocr)
    except RejectedInput as error:
        send({"event": "rejected", "code": error.code, "message": error.message,
              "details": error.details})
    except MemoryError:
        send({"event": "memory"})
        return False
    except Exception as error:
        send({"event": "error", "type": type(error).__name__, "message": str(error)})
    else:
        send({"event": "result", "form": fields.to_json()})
    return True


def _protocol_stream() -> IO[bytes]:
    """stdout for the answers alone: anything else printed in this process goes to stderr."""
    stream = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return stream


def _sender(stream: IO[bytes]) -> Send:
    def send(message: dict[str, Any]) -> None:
        stream.write(json.dumps(message, ensure_ascii=False, default=str).encode() + b"\n")
        stream.flush()

    return send


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
