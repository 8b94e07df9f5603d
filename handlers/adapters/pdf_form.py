"""A KSEI form PDF read whole: its pages from the text layer, OCR for pages without one, then
the form reader (`handlers.domain.ksei.form`) over both alike.

This is what a parse child runs for each file. A page with no text at all is taken for a scan
and read by OCR (`ocr`), within its page and time bounds; a document with no text left after
that is `no_text_extracted`.
"""

from __future__ import annotations

from pathlib import Path

from daemon.errors import RejectedInput
from handlers.adapters.ocr import OcrOptions, ocr_pages
from handlers.adapters.pdf_text import Progress, ignore_progress, open_document, text_pages
from handlers.domain.ksei.form import FormFields, read_form
from handlers.domain.ksei.layout import Page


def read_pdf(path: Path, on_progress: Progress = ignore_progress,
             ocr: OcrOptions | None = None) -> FormFields:
    """The fields of the form at `path`; `RejectedInput` when it cannot be read."""
    return read_form(read_pages(path, on_progress, ocr or OcrOptions()))


def read_pages(path: Path, on_progress: Progress, ocr: OcrOptions) -> list[Page]:
    document = open_document(path)
    try:
        total = len(document)
        on_progress(0, total)
        pages: list[Page] = []
        for page in text_pages(path, document):
            pages.append(page)
            on_progress(len(pages), total)
        scanned = [page.number for page in pages if not page.runs]
        if scanned and ocr.enabled:
            pages = _merge(pages, ocr_pages(path, document, scanned, ocr))
    finally:
        document.close()
    if not any(page.runs for page in pages):
        raise RejectedInput("no_text_extracted",
                            f"{path.name} has no text ({len(pages)} page(s): no text layer"
                            f"{', and OCR read nothing' if ocr.enabled else ', OCR is off'})",
                            {"pages": len(pages), "ocr": ocr.enabled})
    return pages


def _merge(pages: list[Page], read: list[Page]) -> list[Page]:
    by_number = {page.number: page for page in read}
    return [by_number.get(page.number, page) for page in pages]
