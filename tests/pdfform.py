"""Render a KSEI ownership form (the IDX-standard "LK-…" PDF) from a `ParsedForm`, for tests.

No original PDF can be shipped, so tests build equivalent ones: the labels, the colon column,
the transaction table with one cell per column and its text wrapped inside the cell, laid out
so a text extractor sees the sequence the domain reference's Appendix describes. `FormLayout`
switches on the variations real forms show: values on the next line, dates split over lines,
English month names, a table that continues on further pages under a repeated header (even in
the middle of a row), amounts without the ",00" tail. `build_form_pdf` is the one entry point:

    build_form_pdf(form, tmp_path / "LK-24042026-7431-00.pdf", layout=FormLayout(...))
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from handlers.domain.ksei.numbers import MONTH_ABBR_EN, MONTH_ABBR_ID, format_decimal
from handlers.domain.ksei.records import BUY, SELL, ParsedForm, TransactionRow

FONT, SIZE, LEADING = "Helvetica", 8, 10
LEFT, TOP, BOTTOM = 36, 800, 60
COLON_X, VALUE_X = 200, 208
TITLE = "LAPORAN KEPEMILIKAN ATAU SETIAP PERUBAHAN KEPEMILIKAN SAHAM PERUSAHAAN TERBUKA"
# (header, width in points) of each table column, in the order the cells are drawn.
COLUMNS = (("Jenis Transaksi", 62), ("Pengendali", 44), ("Status Kepemilikan", 50),
           ("Jumlah Saham", 72), ("Klasifikasi Saham", 44), ("Harga Transaksi", 58),
           ("Tanggal Transaksi", 54), ("Tujuan Transaksi", 139))
FOOTER = ("Saya bertanggung jawab penuh atas kebenaran informasi yang disampaikan dalam",
          "laporan ini.", "Keterangan", "Pemberi Informasi", "Informasi ini dihasilkan oleh "
          "sistem KSEI.")


@dataclass(frozen=True)
class FormLayout:
    value_next_line: bool = False  # "Label :" on one line, the value on the line below
    date_style: str = "split"  # "split": 24 - / Apr - / 2026; "inline": 24-Apr-2026; "words"
    english_months: bool = False  # May/Aug/Oct/Dec instead of Mei/Agu/Okt/Des
    # Start a new page (header repeated) after this many rows; a full page breaks anyway.
    rows_per_page: int | None = None
    split_row: bool = False  # the page break falls inside a row, after its price cell
    amount_decimals: bool = True  # "920.000.000,00" rather than "920.000.000"
    control: str = "Tidak"  # the Ya/Tidak cell
    page_numbers: bool = True  # "Halaman 1 dari 2" at the foot of each page
    encrypt: str | None = None  # a user password: the PDF cannot be opened without it
    # Printed lines swapped for others ("4.289.610.000" -> "4,289,610,000"): a damaged form.
    replace_text: tuple[tuple[str, str], ...] = ()


class _FormCanvas(Canvas):
    """A canvas that prints some lines differently from the record (`replace_text`)."""

    def __init__(self, path: str, replacements: dict[str, str], **options: Any):
        super().__init__(path, **options)
        self.replacements = replacements

    def drawString(self, x: float, y: float, text: str, *args: Any, **kwargs: Any) -> None:
        super().drawString(x, y, self.replacements.get(text, text), *args, **kwargs)


def build_form_pdf(form: ParsedForm, path: Path, *, layout: FormLayout | None = None) -> Path:
    """Write `form` as a KSEI form PDF at `path` and return `path`."""
    layout = layout or FormLayout()
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas = _FormCanvas(str(path), dict(layout.replace_text), pagesize=A4,
                         encrypt=layout.encrypt, invariant=True)
    canvas.setFont(FONT, SIZE)
    y = _draw_fields(canvas, form, layout)
    pages = _fit_pages(_paginate(form.rows, layout), y)
    for number, page in enumerate(pages, start=1):
        if number > 1:
            canvas.showPage()
            canvas.setFont(FONT, SIZE)
            y = float(TOP)
        y = _draw_table_page(canvas, page, layout, y)
        if number == len(pages):
            _draw_lines(canvas, LEFT, y - LEADING, FOOTER)
        if layout.page_numbers:
            canvas.drawString(LEFT, BOTTOM - 20, f"Halaman {number} dari {len(pages)}")
    canvas.save()
    return path


def example_forms(parsed_examples: Path) -> dict[str, ParsedForm]:
    """The earlier parser's records (`fixtures/idx/parsed_examples.json`) as forms, by symbol.

    Prices get the two decimals the form prints ("1.770,00"); a row is a sale or a purchase
    in direct ownership of common shares, with the record's purpose.
    """
    records = json.loads(parsed_examples.read_text(encoding="utf-8"))
    return {record["symbol"]: form_from_example(record) for record in records}


def form_from_example(record: dict[str, Any]) -> ParsedForm:
    raw_types = {BUY: "Pembelian", SELL: "Penjualan"}
    rows = tuple(
        TransactionRow(type=row["type"], raw_type=raw_types[row["type"]],
                       share_class="Saham Biasa", amount=int(row["amount_transacted"]),
                       price=Decimal(str(row["price"])).quantize(Decimal("0.01")),
                       date=row["date"], purpose=record["purpose"], ownership="Langsung")
        for row in record["price_transaction"])
    return ParsedForm(
        document={}, announcement=None, symbol=record["symbol"],
        company_name=record["company_name"], holder_name=record["holder_name"],
        holding_before=int(record["holding_before"]), holding_after=int(record["holding_after"]),
        percentage_before=Decimal(str(record["share_percentage_before"])),
        percentage_after=Decimal(str(record["share_percentage_after"])), rows=rows)


def row_cells(row: TransactionRow, layout: FormLayout) -> list[list[str]]:
    """The lines of each cell of `row`, one list per column."""
    amount = format_decimal(row.amount) + (",00" if layout.amount_decimals else "")
    price = "-" if row.price is None else format_decimal(row.price)
    texts = (row.raw_type, layout.control, row.ownership or "Langsung", amount,
             row.share_class, price)
    cells = [_wrap(text, width) for text, (_, width) in zip(texts, COLUMNS, strict=False)]
    cells.append(_date_lines(date.fromisoformat(row.date), layout))
    cells.append(_wrap(row.purpose, COLUMNS[-1][1]))
    return cells


def _paginate(rows: tuple[TransactionRow, ...], layout: FormLayout) -> list[list[list[list[str]]]]:
    """Rows (as cells) grouped by page; with `split_row`, a row's tail opens the next page."""
    cells = [row_cells(row, layout) for row in rows]
    size = layout.rows_per_page or max(1, len(cells))
    pages = [cells[start:start + size] for start in range(0, len(cells), size)] or [[]]
    if layout.split_row:
        for page, following in itertools.pairwise(pages):
            last = page[-1]
            page[-1] = [*last[:6], [], []]
            following.insert(0, [*([] for _ in range(6)), *last[6:]])
    return pages


def _fit_pages(pages: list[list[list[list[str]]]], top: float) -> list[list[list[list[str]]]]:
    """Break pages further where rows would run past the bottom margin (footer kept clear)."""
    header, reserve = _row_height(_header_cells()), BOTTOM + LEADING * (len(FOOTER) + 1)
    fitted = []
    for page in pages:
        current: list[list[list[str]]] = []
        y = top - header
        for cells in page:
            if current and y - _row_height(cells) < reserve:
                fitted.append(current)
                current, y = [], TOP - header
            current.append(cells)
            y -= _row_height(cells)
        fitted.append(current)
        top = TOP
    return fitted


def _row_height(cells: list[list[str]]) -> float:
    return max((len(lines) for lines in cells), default=0) * LEADING + 4


def _header_cells() -> list[list[str]]:
    return [header.split() for header, _ in COLUMNS]


def _draw_fields(canvas: Canvas, form: ParsedForm, layout: FormLayout) -> float:
    canvas.drawString(LEFT, TOP, TITLE)
    ticker = form.symbol.removesuffix(".JK")
    fields = (("Kepada", "Direksi PT Bursa Efek Indonesia"),
              ("Nama (sesuai SID)", form.holder_name.upper()),
              ("Kewarganegaraan", "Indonesia"),
              ("Nama Perusahaan Tbk", f"{ticker} - {form.company_name}"),
              ("Jumlah Saham Sebelum Transaksi", format_decimal(form.holding_before)),
              ("Jumlah Saham Setelah Transaksi", format_decimal(form.holding_after)),
              ("Hak Suara Sebelum Transaksi", format_decimal(form.percentage_before) + " %"),
              ("Hak Suara Setelah Transaksi", format_decimal(form.percentage_after) + " %"))
    y: float = TOP - 2 * LEADING
    for label, value in fields:
        y = _draw_field(canvas, label, value, y, layout) - 4
    return y - LEADING


def _draw_field(canvas: Canvas, label: str, value: str, y: float, layout: FormLayout) -> float:
    lines = _wrap(value, 140)  # a narrow value column, so long names wrap as on the real form
    if layout.value_next_line:
        canvas.drawString(LEFT, y, f"{label} :")
        return _draw_lines(canvas, LEFT + 10, y - LEADING, lines)
    canvas.drawString(LEFT, y, label)
    canvas.drawString(COLON_X, y, ":")
    return _draw_lines(canvas, VALUE_X, y, lines)


def _draw_table_page(canvas: Canvas, rows: list[list[list[str]]], layout: FormLayout,
                     y: float) -> float:
    y = _draw_row(canvas, _header_cells(), y)
    for cells in rows:
        y = _draw_row(canvas, cells, y)
    return y


def _draw_row(canvas: Canvas, cells: list[list[str]], y: float) -> float:
    """Each cell top-aligned in its column, drawn whole before the next (reading order)."""
    x, bottom = LEFT, y
    for lines, (_, width) in zip(cells, COLUMNS, strict=True):
        bottom = min(bottom, _draw_lines(canvas, x + 2, y, lines))
        x += width
    canvas.line(LEFT, bottom + 2, LEFT + sum(width for _, width in COLUMNS), bottom + 2)
    return bottom - 4


def _draw_lines(canvas: Canvas, x: float, y: float, lines: list[str] | tuple[str, ...]) -> float:
    """Draw `lines` downwards from `y`; return the baseline below the last one."""
    for line in lines:
        canvas.drawString(x, y, line)
        y -= LEADING
    return y


def _wrap(text: str, width: float) -> list[str]:
    return simpleSplit(text, FONT, SIZE, width - 4) if text else []


def _date_lines(day: date, layout: FormLayout) -> list[str]:
    month = (MONTH_ABBR_EN if layout.english_months else MONTH_ABBR_ID)[day.month - 1]
    if layout.date_style == "inline":
        return [f"{day.day:02d}-{month}-{day.year}"]
    if layout.date_style == "words":
        return [f"{day.day} {month}", str(day.year)]
    return [f"{day.day:02d} -", f"{month} -", str(day.year)]
