"""Fixtures for the parse stage: the bundled company map, the real records as forms, a bomb."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from handlers.adapters.company_map import BUNDLED_DIR, MAP_NAME
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
