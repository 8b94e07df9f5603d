"""Render a KSEI ownership form (the IDX-standard "LK-…" PDF) from a `ParsedForm`, for tests.

No original PDF can be shipped, so tests build equivalent ones: the labels, the colon column,
the transaction table with one cell per column and its text wrapped inside the cell.
`FormLayout` switches on the variations real forms show: values on the next line or on the
label's line as one string, English labels beside or between the Indonesian label and its value,
English statements, values drawn in kerned pieces and text objects in shuffled order
(`pdfcanvas`), values a little below their labels, percentages with or without a space, dates
split over lines, English month names, fonts and sizes, the position and personal fields "Tidak
ditampilkan", a table that continues on further pages under a header repeated in Indonesian or
English, with a row cut mid-cell by the page break. `build_form_pdf` is the one entry point:

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
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from handlers.domain.ksei.numbers import MONTH_ABBR_EN, MONTH_ABBR_ID, format_decimal
from handlers.domain.ksei.records import BUY, SELL, ParsedForm, TransactionRow
from tests.pdfcanvas import FormCanvas, Ink

LEFT, TOP, BOTTOM = 36, 800, 60
COLON_X, VALUE_X = 200, 208
TITLE = "LAPORAN KEPEMILIKAN ATAU SETIAP PERUBAHAN KEPEMILIKAN SAHAM PERUSAHAAN TERBUKA"
PREAMBLE = ("Report of ownership or any changes in share ownership of public companies",)
# (header, English header, width in points) of each table column, in the order drawn.
COLUMNS = (("Jenis Transaksi", "Type of Transaction", 62), ("Pengendali", "Controlling", 44),
           ("Status Kepemilikan", "Ownership Status", 50),
           ("Jumlah Saham", "Number of Shares", 80),
           ("Klasifikasi Saham", "Share Classification", 44),
           ("Harga Transaksi", "Transaction Price", 58),
           ("Tanggal Transaksi", "Transaction Date", 60),
           ("Tujuan Transaksi", "Purpose of Transaction", 125))
FOOTER = ("Saya bertanggung jawab penuh atas kebenaran informasi yang disampaikan dalam",
          "laporan ini.", "Keterangan", "Pemberi Informasi", "Informasi ini dihasilkan oleh "
          "sistem KSEI.")
STATEMENTS = ("I shall be fully responsible for the truthfulness of the information in this "
              "report.", "KSEI shall not be responsible or liable for the content of this report.")
ENGLISH = {"Kepada": "To", "Nama (sesuai SID)": "Name (as per SID)",
           "Jabatan": "Position",
           "Anggota Direksi/Dewan Komisaris":
               "Member of the Board of Directors/Board of Commissioners",
           "Pemegang Saham Pengendali": "Controlling Shareholder",
           "Klasifikasi Pemegang Saham": "Classification of Shareholder",
           "Kewarganegaraan": "Citizenship", "Alamat": "Address", "Telepon": "Telephone",
           "Nama Perusahaan Tbk": "Name of Public Company",
           "Jumlah Saham Sebelum Transaksi": "Number of shares before the transaction",
           "Jumlah Saham Setelah Transaksi": "Number of shares after the transaction",
           "Hak Suara Sebelum Transaksi": "Voting rights before the transaction",
           "Hak Suara Setelah Transaksi": "Voting rights after the transaction"}
NOT_SHOWN = "Tidak ditampilkan"


@dataclass(frozen=True)
class FormLayout:
    value_next_line: bool = False  # "Label :" on one line, the value on the line below
    one_line: bool = False  # "Label : value" drawn as one string
    # English labels: "below" the Indonesian label's row, or "between" it and the value (the
    # English label's row carries the colon and the value).
    bilingual: str = ""
    statements: bool = False  # the English preamble and statements
    value_drop: float = 0.0  # values this many points below their labels' baseline
    percent_space: bool = True  # "31,62 %" rather than "31,62%"
    personal: bool = False  # address, telephone, e-mail printed "Tidak ditampilkan"
    font: str = "Helvetica"
    size: float = 8
    kerning: float = 0.0  # strings drawn in pieces, gaps up to this share of the size
    pieces: tuple[tuple[str, tuple[str, ...]], ...] = ()  # these strings in these pieces
    shuffle: bool = False  # text objects written in random order
    seed: int = 0
    date_style: str = "split"  # "split": 24 - / Apr - / 2026; "inline": 24-Apr-2026; "words"
    english_months: bool = False  # May/Aug/Oct/Dec instead of Mei/Agu/Okt/Des
    # Start a new page (header repeated) after this many rows; a full page breaks anyway.
    rows_per_page: int | None = None
    split_row: bool = False  # the page break falls inside a row: each cell's first line before
    repeated_header: str = "id"  # the header on later pages: "id" or "en"
    amount_decimals: bool = True  # "920.000.000,00" rather than "920.000.000"
    control: str = "Tidak"  # the Ya/Tidak cell
    page_numbers: bool = True  # "Halaman 1 dari 2" at the foot of each page
    english_page_numbers: bool = False  # "Page 1 of 2"
    encrypt: str | None = None  # a user password: the PDF cannot be opened without it
    # Printed lines swapped for others ("4.289.610.000" -> "4,289,610,000"): a damaged form.
    replace_text: tuple[tuple[str, str], ...] = ()

    @property
    def leading(self) -> float:
        return self.size * 1.25


def build_form_pdf(form: ParsedForm, path: Path, *, layout: FormLayout | None = None) -> Path:
    """Write `form` as a KSEI form PDF at `path` and return `path`."""
    layout = layout or FormLayout()
    path.parent.mkdir(parents=True, exist_ok=True)
    ink = Ink(kerning=layout.kerning, shuffle=layout.shuffle, seed=layout.seed,
              pieces=layout.pieces)
    canvas = FormCanvas(str(path), dict(layout.replace_text), ink, pagesize=A4,
                        encrypt=layout.encrypt, invariant=True)
    canvas.setFont(layout.font, layout.size)
    y = _draw_fields(canvas, form, layout)
    pages = _fit_pages(_paginate(form.rows, layout), y, layout)
    for number, page in enumerate(pages, start=1):
        if number > 1:
            canvas.showPage()
            canvas.setFont(layout.font, layout.size)
            y = float(TOP)
        y = _draw_table_page(canvas, page, layout, y, english=number > 1 and
                             layout.repeated_header == "en")
        if number == len(pages):
            _draw_lines(canvas, LEFT, y - layout.leading, _footer(layout), layout)
        if layout.page_numbers:
            text = f"Page {number} of {len(pages)}" if layout.english_page_numbers else \
                f"Halaman {number} dari {len(pages)}"
            canvas.setFont(layout.font, layout.size)
            canvas.drawString(LEFT, BOTTOM - 20, text)
    canvas.save()
    return path


def _footer(layout: FormLayout) -> tuple[str, ...]:
    return FOOTER + STATEMENTS if layout.statements else FOOTER


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
    cells = [_wrap(text, width, layout) for text, (_, _, width) in zip(texts, COLUMNS,
                                                                       strict=False)]
    cells.append(_date_lines(date.fromisoformat(row.date), layout))
    cells.append(_wrap(row.purpose, COLUMNS[-1][2], layout))
    return cells


def _paginate(rows: tuple[TransactionRow, ...], layout: FormLayout) -> list[list[list[list[str]]]]:
    """Rows (as cells) grouped by page; with `split_row`, the page break falls inside a row:
    each cell's first line ends one page and the rest of the cell opens the next."""
    cells = [row_cells(row, layout) for row in rows]
    size = layout.rows_per_page or max(1, len(cells))
    pages = [cells[start:start + size] for start in range(0, len(cells), size)] or [[]]
    if layout.split_row:
        for page, following in itertools.pairwise(pages):
            last = page[-1]
            page[-1] = [cell[:1] for cell in last]
            if any(len(cell) > 1 for cell in last):
                following.insert(0, [cell[1:] for cell in last])
    return pages


def _fit_pages(pages: list[list[list[list[str]]]], top: float,
               layout: FormLayout) -> list[list[list[list[str]]]]:
    """Break pages further where rows would run past the bottom margin (footer kept clear)."""
    header = _row_height(_header_cells(layout, english=True), layout)
    reserve = BOTTOM + layout.leading * (len(_footer(layout)) + 1)
    fitted = []
    for page in pages:
        current: list[list[list[str]]] = []
        y = top - header
        for cells in page:
            if current and y - _row_height(cells, layout) < reserve:
                fitted.append(current)
                current, y = [], TOP - header
            current.append(cells)
            y -= _row_height(cells, layout)
        fitted.append(current)
        top = TOP
    return fitted


def _row_height(cells: list[list[str]], layout: FormLayout) -> float:
    return max((len(lines) for lines in cells), default=0) * layout.leading + 6


def _header_cells(layout: FormLayout, *, english: bool = False) -> list[list[str]]:
    if english:  # smaller, so the long English words fit their columns
        return [simpleSplit(text, layout.font, layout.size * 0.75, width - 4)
                for _, text, width in COLUMNS]
    return [header.split() for header, _, _ in COLUMNS]


def _fields(form: ParsedForm, layout: FormLayout) -> list[tuple[str, str]]:
    ticker = form.symbol.removesuffix(".JK")
    percent = " %" if layout.percent_space else "%"
    fields = [("Kepada", "Direksi PT Bursa Efek Indonesia"),
              ("Nama (sesuai SID)", form.holder_name.upper())]
    if form.position is not None:
        fields.append(("Jabatan", form.position))
    if form.board_member is not None:
        fields.append(("Anggota Direksi/Dewan Komisaris", form.board_member))
    if form.controlling_shareholder is not None:
        fields.append(("Pemegang Saham Pengendali",
                       "Ya" if form.controlling_shareholder else "Tidak"))
    if form.holder_category is not None:
        fields.append(("Klasifikasi Pemegang Saham", form.holder_category))
    fields.append(("Kewarganegaraan", "Indonesia"))
    if layout.personal:
        fields += [("Alamat", NOT_SHOWN), ("Telepon", NOT_SHOWN), ("Email", NOT_SHOWN)]
    return [
        *fields, ("Nama Perusahaan Tbk", f"{ticker} - {form.company_name}"),
        ("Jumlah Saham Sebelum Transaksi", format_decimal(form.holding_before)),
        ("Jumlah Saham Setelah Transaksi", format_decimal(form.holding_after)),
        ("Hak Suara Sebelum Transaksi", format_decimal(form.percentage_before) + percent),
        ("Hak Suara Setelah Transaksi", format_decimal(form.percentage_after) + percent)]


def _draw_fields(canvas: Canvas, form: ParsedForm, layout: FormLayout) -> float:
    canvas.drawString(LEFT, TOP, TITLE)
    y: float = TOP - 2 * layout.leading
    if layout.statements:
        y = _draw_lines(canvas, LEFT, y, PREAMBLE, layout) - layout.leading
    for label, value in _fields(form, layout):
        y = _draw_field(canvas, label, value, y, layout) - 4
    return y - layout.leading


def _draw_field(canvas: Canvas, label: str, value: str, y: float, layout: FormLayout) -> float:
    # A narrow value column, so long names wrap as on the real form.
    lines = _wrap(value, 140, layout)
    english = ENGLISH.get(label) if layout.bilingual else None
    if layout.value_next_line:
        canvas.drawString(LEFT, y, f"{label} :")
        if english:
            y = _draw_english(canvas, english, y - layout.leading, layout)
        return _draw_lines(canvas, LEFT + 10, y - layout.leading - layout.value_drop, lines,
                           layout) + layout.value_drop
    if english and layout.bilingual == "between":
        canvas.drawString(LEFT, y, label)
        y -= layout.leading
        _draw_english(canvas, english, y, layout)
        return _draw_value(canvas, "", None, lines, y, layout)
    return _draw_value(canvas, label, english, lines, y, layout)


def _draw_value(canvas: Canvas, label: str, english: str | None, lines: list[str], y: float,
                layout: FormLayout) -> float:
    if layout.one_line and label:
        text = f"{label} : "
        canvas.drawString(LEFT, y, text + lines[0])
        value_x = LEFT + stringWidth(text, layout.font, layout.size)
        lines = ["", *lines[1:]]
    else:
        if label:
            canvas.drawString(LEFT, y, label)
        canvas.drawString(COLON_X, y, ":")
        value_x = VALUE_X
    if english:
        _draw_english(canvas, english, y - layout.leading, layout)
    end = _draw_lines(canvas, value_x, y - layout.value_drop, lines, layout) + layout.value_drop
    return min(end, y - layout.leading) if not english else min(end, y - 2 * layout.leading)


def _draw_english(canvas: Canvas, text: str, y: float, layout: FormLayout) -> float:
    """An English label under its Indonesian one, a little smaller, as the bilingual form has,
    and never running into the colon column."""
    room = COLON_X - LEFT - 6
    canvas.setFont(layout.font, min(layout.size * 0.85,
                                    layout.size * room / stringWidth(text, layout.font,
                                                                     layout.size)))
    canvas.drawString(LEFT, y, text)
    canvas.setFont(layout.font, layout.size)
    return y


def _draw_table_page(canvas: FormCanvas, rows: list[list[list[str]]], layout: FormLayout,
                     y: float, *, english: bool) -> float:
    # Header words never run into the next column, as on a real form: smaller where needed.
    canvas.setFont(layout.font, layout.size * 0.75 if english else min(layout.size, 8))
    canvas.kerned = False
    y = _draw_row(canvas, _header_cells(layout, english=english), y, layout)
    canvas.kerned = True
    canvas.setFont(layout.font, layout.size)
    for cells in rows:
        y = _draw_row(canvas, cells, y, layout)
    return y


def _draw_row(canvas: Canvas, cells: list[list[str]], y: float, layout: FormLayout) -> float:
    """Each cell top-aligned in its column, drawn whole before the next (reading order)."""
    x, bottom = LEFT, y
    for lines, (_, _, width) in zip(cells, COLUMNS, strict=True):
        bottom = min(bottom, _draw_lines(canvas, x + 2, y, lines, layout))
        x += width
    # The rule clear of the descenders above and the capitals below, as on a real form.
    canvas.line(LEFT, bottom + 2, LEFT + sum(width for _, _, width in COLUMNS), bottom + 2)
    return bottom - 6


def _draw_lines(canvas: Canvas, x: float, y: float, lines: list[str] | tuple[str, ...],
                layout: FormLayout) -> float:
    """Draw `lines` downwards from `y`; return the baseline below the last one."""
    for line in lines:
        if line:
            canvas.drawString(x, y, line)
        y -= layout.leading
    return y


def _wrap(text: str, width: float, layout: FormLayout) -> list[str]:
    return simpleSplit(text, layout.font, layout.size, width - 4) if text else []


def _date_lines(day: date, layout: FormLayout) -> list[str]:
    month = (MONTH_ABBR_EN if layout.english_months else MONTH_ABBR_ID)[day.month - 1]
    if layout.date_style == "inline":
        return [f"{day.day:02d}-{month}-{day.year}"]
    if layout.date_style == "words":
        return [f"{day.day} {month}", str(day.year)]
    return [f"{day.day:02d} -", f"{month} -", str(day.year)]
