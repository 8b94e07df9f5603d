"""The text of a PDF as lines per page, with pypdfium2, and a precise reason when there is none.

PDFium joins text that shares a baseline into one line, which would glue the cells of a table
row together ("Penjualan Tidak Langsung 920.000.000,00 Saham"). The form parser needs each
cell's lines on their own, as a block-oriented extractor sees them, so where PDFium made up a
space between two different text objects we break the line instead. Files that are not PDFs, are
truncated, encrypted or corrupt raise `pdf_unreadable`; a PDF with no text at all (a scan)
raises `no_text_extracted`.

PDFium is not thread-safe (two threads calling it at once corrupt its heap), so a process calls
`extract_text` from one thread at a time. The daemon never calls it in its own process: each
child of `parse_pool` runs one file at a time, which is also what lets two forms parse at once.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from daemon.errors import RejectedInput

PDF_MAGIC = b"%PDF-"
SPACE = re.compile(" ")
is_generated = pdfium_c.FPDFText_IsGenerated
# The object under a character, as a plain address: comparing the library's typed pointers
# costs a cast per call, and this runs for every space of every page.
_text_object = ctypes.cast(pdfium_c.FPDFText_GetTextObject,
                           ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int))
# Writers put "%%EOF" at the very end; some append a little padding after it.
EOF_MARKER, EOF_WINDOW_BYTES = b"%%EOF", 2048

# Told (pages read, pages in all): once when the document is open, then after each page.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class PdfText:
    pages: tuple[tuple[str, ...], ...]  # stripped, non-empty lines of each page

    @property
    def page_count(self) -> int:
        return len(self.pages)

    def lines(self) -> list[str]:
        return [line for page in self.pages for line in page]


def extract_text(path: Path, on_progress: Progress | None = None) -> PdfText:
    """The lines of every page of `path`; raises `RejectedInput` when there are none."""
    check_container(path)
    pages = _read_pages(path, on_progress or _ignore_progress)
    if not any(pages):
        raise RejectedInput("no_text_extracted",
                            f"{path.name} has no text layer ({len(pages)} page(s), "
                            "an image-only scan or an empty document)",
                            {"pages": len(pages)})
    return PdfText(pages=pages)


def _ignore_progress(done: int, total: int) -> None:
    pass


def _read_pages(path: Path, on_progress: Progress) -> tuple[tuple[str, ...], ...]:
    try:
        document = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as error:
        raise _unreadable(path, f"PDFium cannot open it: {error}") from None
    try:
        total = len(document)
        on_progress(0, total)
        pages = []
        for index in range(total):
            pages.append(_page_lines(document[index]))
            on_progress(index + 1, total)
        return tuple(pages)
    except pdfium.PdfiumError as error:
        raise _unreadable(path, f"PDFium cannot read a page: {error}") from None
    finally:
        document.close()


def check_container(path: Path) -> None:
    """Cheap checks PDFium would paper over: empty, not a PDF, cut short."""
    size = path.stat().st_size
    if size == 0:
        raise _unreadable(path, "the file is empty (zero bytes)")
    with path.open("rb") as handle:
        head = handle.read(1024)
        handle.seek(max(0, size - EOF_WINDOW_BYTES))
        tail = handle.read()
    if PDF_MAGIC not in head:
        raise _unreadable(path, "the file is not a PDF (no %PDF- header)")
    if EOF_MARKER not in tail:
        # PDFium repairs a truncated file silently and would hand us part of a form.
        raise _unreadable(path, "the file is truncated (no %%EOF at its end)")


def _page_lines(page: pdfium.PdfPage) -> tuple[str, ...]:
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
        if len(text) == textpage.count_chars():
            text = _split_runs(textpage, text)
        else:  # characters outside the BMP shift the indices: ask run by run (slower)
            text = "\n".join(textpage.get_text_bounded(*textpage.get_rect(index))
                             for index in range(textpage.count_rects()))
        return tuple(line for line in (part.strip() for part in text.splitlines()) if line)
    finally:
        textpage.close()
        page.close()


def _split_runs(textpage: pdfium.PdfTextPage, text: str) -> str:
    """`text` with a line break wherever PDFium joined two text objects by a space it made up.

    Asking for the text of each run separately is ten times slower: PDFium scans the whole
    page for every rectangle. Only spaces can be made up, so only they are checked.
    """
    chars = list(text)
    handle = textpage.raw
    for match in SPACE.finditer(text, 1, len(text) - 1):
        index = match.start()
        if is_generated(handle, index) and \
                _text_object(handle, index - 1) != _text_object(handle, index + 1):
            chars[index] = "\n"
    return "".join(chars)


def _unreadable(path: Path, reason: str) -> RejectedInput:
    return RejectedInput("pdf_unreadable", f"{path.name} cannot be read: {reason}",
                         {"reason": reason})
