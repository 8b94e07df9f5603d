"""Fixtures for the parse stage: the bundled company map, the real records as forms, a bomb,
parse pools for the tests that OCR."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from handlers.adapters.company_map import BUNDLED_DIR, MAP_NAME
from handlers.adapters.ocr import OcrOptions
from handlers.adapters.parse_pool import MIB, Limits, ParsePool
from handlers.domain.ksei.records import ParsedForm
from tests.conftest import FIXTURES
from tests.parse.bomb import write_flate_bomb
from tests.pdfform import example_forms


@pytest.fixture(scope="session")
def companies() -> dict[str, dict[str, Any]]:
    return json.loads((BUNDLED_DIR / MAP_NAME).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def examples() -> dict[str, ParsedForm]:
    return example_forms(FIXTURES / "parsed_examples.json")


@pytest.fixture
def pdf_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "pdfs"
    directory.mkdir()
    return directory


@pytest.fixture(scope="session")
def flate_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1.5 MB PDF inflating to 1.5 GB, built once (deflating that much takes seconds)."""
    return write_flate_bomb(tmp_path_factory.mktemp("bomb") / "LK-bomb.pdf")


@pytest.fixture(scope="session")
def ocr_pool() -> Iterator[ParsePool]:
    """Forms read in parse children, as the daemon reads them. Tests that OCR go through it,
    which keeps Tesseract's models (and their memory) out of the test process."""
    pool = ParsePool(2, Limits(384 * MIB, 60.0), threading.Event())
    yield pool
    pool.close()


@pytest.fixture
def pool_with() -> Iterator[Callable[[OcrOptions], ParsePool]]:
    """A one-child pool whose children read with other OCR options."""
    made: list[ParsePool] = []

    def build(ocr: OcrOptions) -> ParsePool:
        made.append(ParsePool(1, Limits(384 * MIB, 60.0, ocr), threading.Event()))
        return made[-1]

    yield build
    for pool in made:
        pool.close()
