"""The text layer of a PDF as pages of runs with their boxes, with pypdfium2.

The form reader works from geometry, so each page comes back as `layout.Page`: runs of
characters with their boxes in points (top-left origin) and their font size. A run is a stretch
of characters that touch each other on one line; any gap, however small, ends it, so deciding
what is a word break (a space, a kerning gap) is left to the reader. Spaces are not kept: a
space is a gap to the reader, and PDFium makes spaces up where it guesses a word ends. Files
that are not PDFs, are truncated, encrypted or corrupt raise `pdf_unreadable`.

Speed: one ctypes call per character (its loose box, uniform in height for a font and size),
one more per space (made up or not) and two per run (its pen position and font size); the text
of the page comes in one call. PDFium is not thread-safe (two threads calling it at once
corrupt its heap), so a process reads from one thread at a time: the daemon never calls it in
its own process, each child of `parse_pool` runs one file at a time.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from daemon.errors import RejectedInput
from handlers.domain.ksei.layout import Method, Page, Run

PDF_MAGIC = b"%PDF-"
# Writers put "%%EOF" at the very end; some append a little padding after it.
EOF_MARKER, EOF_WINDOW_BYTES = b"%%EOF", 2048
# Two characters whose boxes are this close (a share of the box height) touch: one run.
TOUCH_SHARE = 0.02
SOFT_HYPHEN_MARK = "\ufffe"
# FS_RECTF as PDFium fills it: left, top, right, bottom, read in one call rather than four.
_RECT = struct.Struct("4f")

# Called as plain C functions on addresses, declared without argument types: ctypes then
# checks and converts nothing (typed arguments cost a check and a conversion each, three times
# the call itself), and these run for every character of every page. So each argument must be
# one ctypes passes as it is: the text page as a `c_void_p` (a bare int would be cut to a C
# int), an index as an int, a buffer by `byref`. They keep the interpreter lock (PYFUNCTYPE):
# each returns within a microsecond, so releasing and taking the lock back at every call only
# costs (about 500 against 420 ns a call here), and no other thread of the process can call
# PDFium in between.


def _plain(function: Any, restype: type = ctypes.c_int) -> Callable[..., Any]:
    address = ctypes.cast(function, ctypes.c_void_p).value or 0
    return ctypes.PYFUNCTYPE(restype)(address)


_loose_box = _plain(pdfium_c.FPDFText_GetLooseCharBox)
_font_size = _plain(pdfium_c.FPDFText_GetFontSize, ctypes.c_double)
_origin = _plain(pdfium_c.FPDFText_GetCharOrigin)
_generated = _plain(pdfium_c.FPDFText_IsGenerated)
_unicode = _plain(pdfium_c.FPDFText_GetUnicode, ctypes.c_uint)

# Told (pages read, pages in all): once when the document is open, then after each page.
Progress = Callable[[int, int], None]


def ignore_progress(done: int, total: int) -> None:
    pass


def open_document(path: Path) -> pdfium.PdfDocument:
    """The document at `path` after the container checks; `pdf_unreadable` when it is none."""
    check_container(path)
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as error:
        raise unreadable(path, f"PDFium cannot open it: {error}") from None


def text_pages(path: Path, document: pdfium.PdfDocument) -> Iterator[Page]:
    """Every page of `document` from its text layer (a page without one has no runs)."""
    try:
        for index in range(len(document)):
            page = document[index]
            try:
                yield read_page(page, index + 1)
            finally:
                page.close()
    except pdfium.PdfiumError as error:
        raise unreadable(path, f"PDFium cannot read a page: {error}") from None


def read_page(page: pdfium.PdfPage, number: int) -> Page:
    width, height = page.get_size()
    textpage = page.get_textpage()
    try:
        runs = tuple(_runs(textpage, height))
    finally:
        textpage.close()
    return Page(number=number, width=width, height=height, method=Method.TEXT, runs=runs)


def _runs(textpage: pdfium.PdfTextPage, page_height: float) -> Iterator[Run]:
    count = textpage.count_chars()
    text = textpage.get_text_range() if count else ""
    handle = ctypes.cast(textpage.raw, ctypes.c_void_p)
    if len(text) != count:  # characters outside the BMP shift the indices: ask one by one
        text = "".join(chr(_unicode(handle, index)) for index in range(count))
    # PDFium marks a hyphen it takes for a word broken at the end of a line ("01-Jan-" then
    # "2000" drawn as another object) as U+FFFE: the writer printed a hyphen.
    text = text.replace(SOFT_HYPHEN_MARK, "-")
    box = pdfium_c.FS_RECTF()
    ref, read_box = ctypes.byref(box), _RECT.unpack_from
    origin_x, origin_y = ctypes.c_double(), ctypes.c_double()
    origin = ctypes.byref(origin_x), ctypes.byref(origin_y)
    chars: list[str] = []
    x0 = top = x1 = bottom = size = 0.0
    raw_top = raw_bottom = touch = 0.0
    for index, char in enumerate(text):
        if char == " ":
            if _generated(handle, index) != 0:
                continue  # a space PDFium made up
        elif char.isspace():
            continue  # a line break
        if not _loose_box(handle, index, ref):
            continue
        left, box_top, right, box_bottom = read_box(box)
        if box_top == raw_top and box_bottom == raw_bottom and chars and \
                -touch <= left - x1 <= touch and chars[-1] != " ":
            chars.append(char)  # the common case: the next character of the same run
            x1 = right
            continue
        if char == " ":  # a space the writer put there: the reader's word break
            if chars and box_top == raw_top and -touch <= left - x1 <= touch:
                chars.append(" ")
            else:  # drawn apart from the run before (content order is not reading order)
                yield Run(" ", left, page_height - box_top, max(left, right),
                          page_height - box_bottom, box_top - box_bottom)
            continue
        if chars:
            yield Run("".join(chars), x0, top, x1, bottom, size)
        raw_top, raw_bottom = box_top, box_bottom
        top, bottom = page_height - raw_top, page_height - raw_bottom
        touch = TOUCH_SHARE * (bottom - top)
        # A run starts at its pen position: a glyph reaching left of it (a "j") must not
        # shrink the gap to the run before, which would hide a space.
        _origin(handle, index, *origin)
        chars, x1 = [char], right
        x0 = max(left, origin_x.value)
        size = _font_size(handle, index)
    if chars:
        yield Run("".join(chars), x0, top, x1, bottom, size)


def check_container(path: Path) -> None:
    """Cheap checks PDFium would paper over: empty, not a PDF, cut short."""
    size = path.stat().st_size
    if size == 0:
        raise unreadable(path, "the file is empty (zero bytes)")
    with path.open("rb") as handle:
        head = handle.read(1024)
        handle.seek(max(0, size - EOF_WINDOW_BYTES))
        tail = handle.read()
    if PDF_MAGIC not in head:
        raise unreadable(path, "the file is not a PDF (no %PDF- header)")
    if EOF_MARKER not in tail:
        # PDFium repairs a truncated file silently and would hand us part of a form.
        raise unreadable(path, "the file is truncated (no %%EOF at its end)")


def unreadable(path: Path, reason: str) -> RejectedInput:
    return RejectedInput("pdf_unreadable", f"{path.name} cannot be read: {reason}",
                         {"reason": reason})
