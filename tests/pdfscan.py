"""Scanned renderings of a PDF: every page drawn to an image and put back as an image-only PDF.

Some attachments are scans with no text layer at all. `scan_pdf(source, target, dpi=…)` makes
one from any PDF the form builder drew: each page rendered by PDFium in grey at `dpi`, then
placed full-page on a page of the same size, so the result has pixels and no characters.
"""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2 as pdfium
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas


def scan_pdf(source: Path, target: Path, *, dpi: int = 200) -> Path:
    document = pdfium.PdfDocument(source)
    canvas: Canvas | None = None
    try:
        for page in document:
            width, height = page.get_size()
            image = page.render(scale=dpi / 72, grayscale=True).to_pil()
            if canvas is None:
                canvas = Canvas(str(target), pagesize=(width, height), invariant=True)
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            canvas.setPageSize((width, height))
            canvas.drawImage(ImageReader(io.BytesIO(buffer.getvalue())), 0, 0, width, height)
            canvas.showPage()
    finally:
        document.close()
    assert canvas is not None, f"{source} has no pages"
    canvas.save()
    return target
