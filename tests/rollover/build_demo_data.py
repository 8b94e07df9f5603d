"""Rebuild `handlers/data/demo/` from the real records in `tests/fixtures/idx/`.

The demo ships the exchange's items for the two announcements whose parsed records are known
(SRTG and BYAN) and a KSEI form PDF for each, drawn by `tests/pdfform.py`, so the installed
package needs no reportlab. Run from the repository root:
`python -m tests.rollover.build_demo_data`.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import FIXTURES
from tests.pdfform import build_form_pdf, example_forms

DEMO_DIR = Path(__file__).resolve().parents[2] / "handlers" / "data" / "demo"
SYMBOLS = ("SRTG", "BYAN")


def main() -> None:
    items = json.loads((FIXTURES / "idx_announcements_raw.json").read_text(encoding="utf-8"))
    chosen = [item for item in items if item["Code"].strip() in SYMBOLS]
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    (DEMO_DIR / "announcements.json").write_text(
        json.dumps(chosen, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    forms = example_forms(FIXTURES / "parsed_examples.json")
    for item in chosen:
        attachment = item["Attachments"][0]
        build_form_pdf(forms[f"{item['Code'].strip()}.JK"],
                       DEMO_DIR / attachment["OriginalFilename"])


if __name__ == "__main__":
    main()
