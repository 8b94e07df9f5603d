"""Fixtures for the parse stage: the bundled company map and the real records as forms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from handlers.adapters.company_map import BUNDLED_DIR, MAP_NAME
from handlers.domain.ksei.records import ParsedForm
from tests.conftest import FIXTURES
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
