"""The stages' JSON files, byte for byte as `daemon.files.write_json_atomic` writes them, at
less of the daemon's CPU per form.

Every form writes its parsed record, its filings record and an alert, all indented for the
people who read them. Python 3.11's C encoder cannot indent, so `json.dumps(..., indent=2)`
runs the pure-Python encoder, a chain of generators that costs more than the rest of writing
the file; `dumps` below builds the same text in one recursive pass (the C encoder still quotes
every string). The scrubbed variant masks each string as it writes it, instead of copying the
whole record through `scrub_data` first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from json.encoder import INFINITY, encode_basestring
from pathlib import Path
from typing import Any

from daemon.files import write_atomic
from daemon.scrub import scrub, scrub_data

INDENT = "  "


class _NeedsWalk(Exception):
    """Data that `scrub_data` would reshape: a mapping that is not a dict (it becomes one), or
    a key that masking changes (two such keys would become one)."""


class _Encoder:
    """The text of JSON-like data; `string` is applied to every string (key or value) and
    `default` gives the text of a value JSON has no type for."""

    def __init__(self, string: Callable[[str], str], default: Callable[[Any], str]):
        self.string, self.default = string, default

    def dumps(self, payload: Any) -> str:
        parts: list[str] = []
        self._encode(payload, parts, "\n")
        return "".join(parts)

    def _encode(self, value: Any, parts: list[str], newline: str) -> None:
        """Append the JSON of `value` to `parts`; `newline` is the line break and indentation
        of the line `value` starts on. The order of the checks is the standard encoder's."""
        if isinstance(value, str):
            parts.append(encode_basestring(self.string(value)))
        elif value is None:
            parts.append("null")
        elif value is True:
            parts.append("true")
        elif value is False:
            parts.append("false")
        elif isinstance(value, int):
            parts.append(int.__repr__(value))
        elif isinstance(value, float):
            parts.append(_float(value))
        elif isinstance(value, list | tuple):
            self._encode_list(value, parts, newline)
        elif isinstance(value, dict):
            self._encode_dict(value, parts, newline)
        else:
            parts.append(encode_basestring(self.default(value)))

    def _encode_list(self, value: list[Any] | tuple[Any, ...], parts: list[str],
                     newline: str) -> None:
        if not value:
            parts.append("[]")
            return
        inner = newline + INDENT
        separator = "[" + inner
        for item in value:
            parts.append(separator)
            if type(item) is str:  # most values: no call for them
                parts.append(encode_basestring(self.string(item)))
            else:
                self._encode(item, parts, inner)
            separator = "," + inner
        parts.append(newline + "]")

    def _encode_dict(self, value: dict[Any, Any], parts: list[str], newline: str) -> None:
        if not value:
            parts.append("{}")
            return
        inner = newline + INDENT
        separator = "{" + inner
        for key, item in value.items():
            parts.append(separator)
            parts.append(encode_basestring(self._key(key)))
            parts.append(": ")
            if type(item) is str:  # most values: no call for them
                parts.append(encode_basestring(self.string(item)))
            else:
                self._encode(item, parts, inner)
            separator = "," + inner
        parts.append(newline + "}")

    def _key(self, key: Any) -> str:
        if isinstance(key, str):
            text = self.string(key)
            if text != key:
                raise _NeedsWalk
            return key
        if isinstance(key, float):
            return _float(key)
        if key is True:
            return "true"
        if key is False:
            return "false"
        if key is None:
            return "null"
        if isinstance(key, int):
            return int.__repr__(key)
        raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _unchanged(text: str) -> str:
    return text


def _text_unless_mapping(value: Any) -> str:
    # Decimals (every price and percentage) skip the slower check against the Mapping ABC.
    if type(value) is not Decimal and isinstance(value, Mapping):
        raise _NeedsWalk
    return str(value)


_PLAIN = _Encoder(_unchanged, str)
_SCRUBBED = _Encoder(scrub, _text_unless_mapping)


def dumps(payload: Any) -> str:
    """`json.dumps(payload, ensure_ascii=False, indent=2, default=str)`, the same text."""
    return _PLAIN.dumps(payload)


def dumps_scrubbed(payload: Any) -> str:
    """`dumps(scrub_data(payload))`, the same text. A value JSON has no type for is written as
    its str(), unscrubbed, as `scrub_data` leaves it."""
    try:
        return _SCRUBBED.dumps(payload)
    except _NeedsWalk:
        return dumps(scrub_data(payload))


def write_json(path: Path, payload: Any, *, durable: bool = True) -> Path:
    """`write_json_atomic(path, payload, durable=durable)`: the same bytes, atomically."""
    return _write(path, dumps(payload), durable)


def write_scrubbed_json(path: Path, payload: Any, *, durable: bool = True) -> Path:
    """`write_json_atomic(path, scrub_data(payload), durable=durable)`: the same bytes."""
    return _write(path, dumps_scrubbed(payload), durable)


def _write(path: Path, text: str, durable: bool) -> Path:
    return write_atomic(path, (text + "\n").encode("utf-8"), durable=durable)


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == INFINITY:
        return "Infinity"
    if value == -INFINITY:
        return "-Infinity"
    return float.__repr__(value)
