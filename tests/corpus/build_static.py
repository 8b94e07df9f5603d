"""Rebuild the small static files of the bad-input corpus: `python -m tests.corpus.build_static`.

The files are committed; this script says how each was made, so a case can be changed and the
file made again. PDFs come from the KSEI form builder (`tests/pdfform.py`) and reportlab;
announcement batches are raw exchange items whose URLs point at the placeholder host `EXCHANGE`,
which the corpus test replaces with its local stand-in for the exchange. The awkward cases
(symlinks, FIFOs, odd names, huge files) are not here: `tests/corpus/makers.py` makes them at
test time.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from PIL import Image
from reportlab.pdfgen.canvas import Canvas

from tests.conftest import FIXTURES
from tests.parse.forms import form, row
from tests.pdfform import FormLayout, build_form_pdf, example_forms

FILES = Path(__file__).resolve().parent / "files"
ORIGIN = "http://EXCHANGE"


def item(case: str, *attachments: dict[str, Any], code: str = "SRTG",
         published: str = "2026-04-24T17:03:00") -> dict[str, Any]:
    return {"Id": f"corpus-{case}", "PublishDate": published, "Code": code,
            "Title": "REPORT OF OWNERSHIP OR ANY CHANGES IN SHARE OWNERSHIP OF PUBLIC COMPANIES",
            "AnnouncementType": "LKS", "Attachments": list(attachments)}


def attachment(url: str, original: Any) -> dict[str, Any]:
    return {"FullSavePath": url, "OriginalFilename": original, "IsAttachment": 0,
            "PDFFilename": None}


def announcement_files() -> dict[str, Any]:
    """name -> JSON value (bytes for the ones that are not JSON at all)."""
    served = f"{ORIGIN}/files"
    return {
        "not-json.json": b"{\"Items\": [ {\"Id\": 1, ",
        "zero-byte.json": b"",
        "a-number.json": 42,
        "a-string.json": "ownership",
        "items-not-a-list.json": {"Items": "none today"},
        "announcements-null.json": {"announcements": None},
        "records-not-objects.json": {"announcements": [1, "x", None]},
        "missing-publishdate.json": [{"Id": "corpus-missing-publishdate", "Code": "SRTG"}],
        "bad-publishdate.json": [dict(item("bad-publishdate"), PublishDate="yesterday")],
        "utf16.json": json.dumps([item("utf16")]).encode("utf-16"),
        "deep-nesting.json": b"[" * 200_000 + b"]" * 200_000,
        "off-allow-list.json": [item("off-allow-list", attachment(
            "https://files.example.com/LK-24042026-0001-00.pdf", "LK-24042026-0001-00.pdf"))],
        "file-scheme.json": [item("file-scheme", attachment("file:///etc/passwd",
                                                            "LK-24042026-0002-00.pdf"))],
        "dotdot-original-name.json": [item("dotdot", attachment(
            f"{served}/dotdot.pdf", "../../../../etc/cron.d/idxd.pdf"), code="DOTS")],
        "slash-original-name.json": [item("slash", attachment(
            f"{served}/slash.pdf", "Pemegang Efek/../LK-24042026-0003-00.pdf"))],
        "control-chars-name.json": [item("control", attachment(
            f"{served}/control.pdf", "LK-24042026-0004-00\u0000\u001b[2J\r\n.pdf"))],
        "long-original-name.json": [item("long", attachment(
            f"{served}/long.pdf", "LK-24042026-0005-00-" + "x" * 5000 + ".pdf"))],
        "html-served-as-pdf.json": [item("html", attachment(
            f"{served}/challenge.pdf", "LK-24042026-0006-00.pdf"), code="HTML")],
        "truncated-pdf-served.json": [item("truncated", attachment(
            f"{served}/truncated.pdf", "LK-24042026-0007-00.pdf"), code="TRNC")],
        "not-found.json": [item("not-found", attachment(
            f"{served}/missing.pdf", "LK-24042026-0008-00.pdf"), code="GONE")],
        "redirect-off-list.json": [item("redirect", attachment(
            f"{served}/redirect.pdf", "LK-24042026-0009-00.pdf"), code="RDIR")],
        "too-large.json": [item("too-large", attachment(
            f"{served}/big.pdf", "LK-24042026-0010-00.pdf"), code="HUGE")],
        "no-attachments.json": [item("no-attachments", code="NONE")],
        "ticker-traversal.json": [item("ticker", attachment(
            f"{served}/ticker.pdf", "Lampiran.pdf"), code="../../../tmp/x")],
        "all-null-fields.json": [{"Id": "corpus-all-null", "PublishDate": "2026-04-24T17:03:00",
                                  "Code": None, "Title": None, "Attachments": None,
                                  "PdfPath": None}],
        "pdfpath-garbage.json": [dict(item("pdfpath"), PdfPath="[{\"FullSavePath\": 7}")],
    }


def parsed_files() -> dict[str, Any]:
    srtg = json.loads(json.dumps(_srtg_record()))
    wrong_types = dict(srtg, holding_before="four billion")
    huge = dict(srtg, holding_before=10**40, holding_after=10**40 - 920_000_000)
    return {
        "parsed-not-json.json": b"\x00\x01 not json",
        "parsed-empty-object.json": {},
        "parsed-a-list.json": [],
        "parsed-wrong-types.json": wrong_types,
        "parsed-rows-not-a-list.json": dict(srtg, rows="many"),
        "parsed-huge-numbers.json": huge,
        "parsed-unknown-symbol.json": dict(srtg, symbol="ZZZZ.JK"),
    }


def _srtg_record() -> dict[str, Any]:
    forms = example_forms(FIXTURES / "parsed_examples.json")
    return forms["SRTG.JK"].to_json()


def alert_files() -> dict[str, Any]:
    base = {"timestamp": "2026-04-24T10:05:00+00:00", "category": "inserted",
            "stage": "filings", "code": "price_deviation_vs_market", "message": "x",
            "reasons": [], "context": {}, "severity": "warning", "needs_review": True}
    return {
        "alert-not-json.json": b"<html>not an alert</html>",
        "alert-a-list.json": [base],
        "alert-unknown-category.json": dict(base, category="maybe"),
        "alert-bad-timestamp.json": dict(base, timestamp="tomorrow at noon"),
        "alert-no-timestamp.json": {k: v for k, v in base.items() if k != "timestamp"},
        "alert-context-a-list.json": dict(base, context=[1, 2]),
        "alert-announcement-a-string.json": dict(base, context={"announcement": "SRTG"}),
    }


def write_json_files(directory: Path, files: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, value in files.items():
        data = value if isinstance(value, bytes) else json.dumps(value, indent=1).encode()
        (directory / name).write_bytes(data)


def build_pdfs(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    forms = example_forms(FIXTURES / "parsed_examples.json")
    good = build_form_pdf(forms["SRTG.JK"], directory / "good-srtg.pdf").read_bytes()
    build_form_pdf(forms["BYAN.JK"], directory / "good-byan.pdf")
    (directory / "truncated.pdf").write_bytes(good[: len(good) // 2])
    (directory / "corrupt-middle.pdf").write_bytes(good[:9] + bytes(range(256)) * 8
                                                   + b"\n%%EOF\n")
    (directory / "html-named-pdf.pdf").write_bytes(b"<html><body>Just a moment...</body></html>")
    (directory / "zero-byte.pdf").write_bytes(b"")
    (directory / "no-pages.pdf").write_bytes(
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    build_form_pdf(forms["SRTG.JK"], directory / "encrypted.pdf",
                   layout=FormLayout(encrypt="secret"))
    build_form_pdf(forms["SRTG.JK"], directory / "bad-number.pdf", layout=FormLayout(
        replace_text=(("4.289.610.000", "4,289,610,000"),)))
    build_form_pdf(forms["SRTG.JK"], directory / "bad-month.pdf",
                   layout=FormLayout(replace_text=(("Apr -", "Avr -"),)))
    build_form_pdf(form((row(),), symbol="SRTX.JK", company_name="Saratoga Investama Tbk"),
                   directory / "unknown-ticker.pdf")
    _image_only(directory / "image-only.pdf")
    _letter(directory / "a-letter.pdf")


def _image_only(path: Path) -> None:
    scan = io.BytesIO()
    Image.new("L", (120, 160), color=200).save(scan, format="PNG")
    scan.seek(0)
    from reportlab.lib.utils import ImageReader

    canvas = Canvas(str(path), invariant=True)
    canvas.drawImage(ImageReader(scan), 36, 36, width=500, height=700)
    canvas.save()


def _letter(path: Path) -> None:
    canvas = Canvas(str(path), invariant=True)
    canvas.drawString(40, 800, "Kepada Yth. Direksi PT Bursa Efek Indonesia")
    canvas.drawString(40, 788, "Perihal: Penyampaian Laporan Keuangan Tahunan")
    canvas.save()


def main() -> None:
    write_json_files(FILES / "announcements", announcement_files())
    write_json_files(FILES / "parsed", parsed_files())
    write_json_files(FILES / "alerts", alert_files())
    build_pdfs(FILES / "pdf")


if __name__ == "__main__":
    main()
