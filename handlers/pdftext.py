"""The text of a PDF as lines per page, with pypdfium2, and a precise reason when there is none.

PDFium joins text that shares a baseline into one line, which would glue the cells of a table
row together ("Penjualan Tidak Langsung 920.000.000,00 Saham"). The form parser needs each
cell's lines on their own, as a block-oriented extractor sees them, so we read the page by its
text runs instead: PDFium reports one rectangle per run of characters drawn by one text object
on one line, and we take the text inside each rectangle. Files that are not PDFs, are
truncated, encrypted or corrupt raise `pdf_unreadable`; a PDF with no text at all (a scan)
raises `no_text_extracted`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium

from daemon.errors import RejectedInput

PDF_MAGIC = b"%PDF-"
# Writers put "%%EOF" at the very end; some append a little padding after it.
EOF_MARKER, EOF_WINDOW_BYTES = b"%%EOF", 2048


@dataclass(frozen=True)
class PdfText:
    pages: tuple[tuple[str, ...], ...]  # stripped, non-empty lines of each page

    @property
    def page_count(self) -> int:
        return len(self.pages)

    def lines(self) -> list[str]:
        return [line for page in self.pages for line in page]


def extract_text(path: Path) -> PdfText:
    """The lines of every page of `path`; raises `RejectedInput` when there are none."""
    check_container(path)
    try:
        document = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as error:
        raise _unreadable(path, f"PDFium cannot open it: {error}") from None
    try:
        pages = tuple(_page_lines(document[index]) for index in range(len(document)))
    except pdfium.PdfiumError as error:
        raise _unreadable(path, f"PDFium cannot read a page: {error}") from None
    finally:
        document.close()
    if not any(pages):
        raise RejectedInput("no_text_extracted",
                            f"{path.name} has no text layer ({len(pages)} page(s), "
                            "an image-only scan or an empty document)",
                            {"pages": len(pages)})
    return PdfText(pages=pages)


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
        lines: list[str] = []
        for index in range(textpage.count_rects()):
            text = textpage.get_text_bounded(*textpage.get_rect(index))
            lines.extend(part.strip() for part in text.splitlines())
        return tuple(line for line in lines if line)
    finally:
        textpage.close()
        page.close()


def _unreadable(path: Path, reason: str) -> RejectedInput:
    return RejectedInput("pdf_unreadable", f"{path.name} cannot be read: {reason}",
                         {"reason": reason})
