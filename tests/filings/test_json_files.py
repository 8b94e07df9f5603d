"""The stages' JSON files: the same bytes `write_json_atomic` writes, and with a registered
secret anywhere in the data (a value, a key, a text JSON has to escape, a mapping that is not a
dict) the secret is masked exactly as `scrub_data` masks it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon import scrub
from daemon.files import write_json_atomic
from handlers.adapters import json_files

SECRET = "db-secret-Dv55DatabasePass"
QUOTED_SECRET = 'pa"ss\\w0rd\nSecret'  # every character JSON escapes


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    scrub.clear()
    yield
    scrub.clear()


def standard(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=2, default=str)


leaves = (st.none() | st.booleans() | st.integers() | st.floats() | st.text()
          | st.decimals(allow_nan=False) | st.just(Path("/srv/idxd/a.pdf")))
keys = st.text() | st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False)
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4)
                      | st.tuples(inner, inner)
                      | st.dictionaries(keys, inner, max_size=4), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(values)
def test_the_text_is_the_standard_encoders(payload: Any) -> None:
    assert json_files.dumps(payload) == standard(payload)


@settings(max_examples=200, deadline=None)
@given(values, st.sampled_from([SECRET, QUOTED_SECRET]))
def test_scrubbed_text_is_the_standard_text_of_the_scrubbed_data(payload: Any,
                                                                 secret: str) -> None:
    scrub.register([secret])
    carrying = {"error": f"refused: {secret}", secret: [payload, secret], "payload": payload,
                quote(secret, safe=""): "a second key that masks to the first one"}
    for data in (payload, carrying):
        assert json_files.dumps_scrubbed(data) == standard(scrub.scrub_data(data))
    assert secret not in json.loads(json_files.dumps_scrubbed(carrying))["error"]


@pytest.mark.parametrize("secret", [SECRET, QUOTED_SECRET])
def test_a_secret_in_any_string_is_masked_in_the_file(tmp_path: Path, secret: str) -> None:
    scrub.register([secret])
    record = {"filings": [{"outcome": "error", "error": f"IntegrityError: {secret}",
                           "row": {"holder_name": "PT Unitras", "price": Decimal("1770.000")}}],
              "provenance": {"holder_name": {"text": f"quoted {secret} in the form"}},
              secret: "a key too"}
    ours = json_files.write_scrubbed_json(tmp_path / "ours.json", record, durable=False)
    theirs = write_json_atomic(tmp_path / "theirs.json", scrub.scrub_data(record), durable=False)
    assert ours.read_bytes() == theirs.read_bytes()
    assert secret not in ours.read_text(encoding="utf-8")
    assert json.dumps(secret)[1:-1] not in ours.read_text(encoding="utf-8")
    assert json.loads(ours.read_text(encoding="utf-8"))["filings"][0]["error"] == \
        f"IntegrityError: {scrub.MASK}"


def test_data_without_a_secret_is_written_as_it_is(tmp_path: Path) -> None:
    scrub.register([SECRET])
    record = {"symbol": "SRTG.JK", "rows": ({"amount": 920_000_000, "price": Decimal("1.5")},),
              "empty": {}, "none": [], "ratio": 0.1, "name": "Ünïcode Tbk"}
    assert json_files.dumps_scrubbed(record) == standard(record)
    ours = json_files.write_json(tmp_path / "ours.json", record, durable=False)
    theirs = write_json_atomic(tmp_path / "theirs.json", record, durable=False)
    assert ours.read_bytes() == theirs.read_bytes()


def test_a_mapping_that_is_no_dict_is_scrubbed_into_one() -> None:
    scrub.register([SECRET])
    record = {"context": MappingProxyType({"title": f"plain, then {SECRET}"})}
    text = json_files.dumps_scrubbed(record)
    assert text == standard(scrub.scrub_data(record))
    assert json.loads(text) == {"context": {"title": f"plain, then {scrub.MASK}"}}
