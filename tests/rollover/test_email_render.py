"""The HTML part as a mail client shows it: rendered by a real headless Chromium.

The email of a busy window is received through a real SMTP server, its HTML part rendered to a
PNG kept under the test's directory (its path is printed, to look at) and its DOM read back
from the browser: the filings table has its columns and one row per filing with the values an
analyst reads, and every link of the email is a real anchor to the exchange's PDF. The
window's ingest failed, so the page starts by saying so.
"""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from handlers.adapters.mail.filings import COLUMNS
from tests.conftest import skip_or_fail
from tests.rollover.analyst_window import BYAN_PDF, ESSA_PDF, SRTG_PDF
from tests.rollover.test_window_email import parts, received

WIDTH, HEIGHT = 1280, 1700


class Tables(HTMLParser):
    """The text of every table cell, by table and row, and every anchor's address."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.links: list[tuple[str, str]] = []
        self._cell: list[str] | None = None
        self.text: list[str] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a":
            self._href = dict(attrs).get("href")
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._href is not None:
            self.links.append((self._href, data))
            self._href = None


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        skip_or_fail("chromium is not installed (tests/install-services.sh installs it)")
    return subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", "--no-first-run", *args],
                          capture_output=True, text=True, timeout=90, check=True)


@pytest.fixture
def rendered(smtp, window_files, tmp_path: Path) -> tuple[Path, Tables]:
    page = tmp_path / "email.html"
    page.write_text(parts(received(smtp, window_files, ingest_failed=True))[1], encoding="utf-8")
    png, profile = tmp_path / "email.png", f"--user-data-dir={tmp_path / 'profile'}"
    chromium(profile, f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={png}", page.as_uri())
    dom = Tables()
    dom.feed(chromium(profile, "--dump-dom", page.as_uri()).stdout)
    print(f"rendered email: {png}")
    return png, dom


def test_the_email_renders_with_its_filings_table_and_links(rendered):
    png, dom = rendered
    text = " ".join(" ".join(dom.text).split())
    assert text.index("INGEST FAILED in this window") < text.index("Filings inserted (2)") < \
        text.index("Needs a person (3)")
    filings = next(table for table in dom.tables if table[0] == list(COLUMNS))
    assert len(filings) == 3  # the header and one row per filing
    srtg = next(row for row in filings if "SRTG.JK" in row)
    assert srtg == ["2026-04-24 17:03 WIB", "SRTG.JK", "Unitras Pertama", "Direktur Utama",
                    "Sell", "920,000,000", "IDR 1,770", "IDR 1,628,400,000,000",
                    "4,289,610,000 (31.623%) → 3,369,610,000 (24.841%)", "PDF"]
    assert (SRTG_PDF, "PDF") in dom.links and (BYAN_PDF, "PDF") in dom.links
    assert (ESSA_PDF, "Open the PDF") in dom.links
    assert all(href.startswith("https://") for href, _ in dom.links)
    with Image.open(png) as image:
        assert image.size == (WIDTH, HEIGHT)
        # A real page, not a blank one: many colours (text, table shading, links).
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 16) or []) > 50
    assert png.stat().st_size > 30_000
