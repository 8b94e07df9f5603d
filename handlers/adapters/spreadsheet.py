"""The text of a spreadsheet attachment (`.xlsx`), read with python-calamine.

Some announcements carry their numbers as a spreadsheet instead of a KSEI form. Nobody parses
those into filings, but the manual-review alert carries their text, sheet by sheet and row by
row, so a person sees the numbers without opening the file. The text is bounded; a workbook
that cannot be read says so instead.
"""

from __future__ import annotations

import io

from python_calamine import CalamineError, CalamineWorkbook

MAX_CHARS = 4000
MAX_ROWS_PER_SHEET = 200


def sheet_text(data: bytes, max_chars: int = MAX_CHARS) -> str:
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        lines = [line for name in workbook.sheet_names for line in _sheet_lines(workbook, name)]
    except (CalamineError, ValueError, OSError) as error:
        return f"(the spreadsheet could not be read: {type(error).__name__}: {error})"
    text = "\n".join(lines)
    return text if len(text) <= max_chars else text[:max_chars] + "\n… (cut)"


def _sheet_lines(workbook: CalamineWorkbook, name: str) -> list[str]:
    rows = workbook.get_sheet_by_name(name).to_python(nrows=MAX_ROWS_PER_SHEET)
    cells = [" | ".join(_cell(value) for value in row) for row in rows]
    return [f"[{name}]", *(line for line in cells if line.strip(" |"))]


def _cell(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a share count, not 4289610000.0
    return "" if value is None else str(value)
