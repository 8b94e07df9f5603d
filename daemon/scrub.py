"""One scrubber for every text that leaves the process or lands on disk.

The secrets are registered once at start (`register(secrets_of(settings))`: every setting
declared `secret=True`, and the password and userinfo of every setting holding a URL or DSN).
`scrub(text)` then masks each of them in every form it travels in: as typed, percent-encoded
(wholly or in part), percent-decoded, and inside base64 at any of the three byte alignments,
so `user:password` in an HTTP Basic header, `\\0user\\0password` in an SMTP AUTH PLAIN line and
a lone AUTH LOGIN password are all caught without knowing what surrounds the secret.
`scrub_data` does the same through JSON-like data. The registry is process-wide because the
texts it guards are written from everywhere: the log processors, the ledger, the quarantine
and the application's writers.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import fields, is_dataclass
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit

from daemon.declare import SPEC

MASK = "***"
# Shorter values would mask ordinary words; no real password or key is that short.
MIN_SECRET_CHARS = 4
# A base64 run this long (6 bytes) does not occur by chance in the texts we scrub.
MIN_BASE64_CHARS = 8
_DSN_PASSWORD = re.compile(r"""\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|[^\s']+)""")
_URLSAFE = str.maketrans("+/", "-_")

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def register(values: Iterable[str | None]) -> None:
    """Add secrets to mask from now on; a secret once registered stays masked."""
    global _pattern
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= MIN_SECRET_CHARS)
        forms = {form for secret in _secrets for form in forms_of(secret)}
        # The longest form wins an overlap.
        ordered = sorted(forms, key=lambda form: (-len(form[0]), form))
        _pattern = re.compile("|".join(regex for _text, regex in ordered)) if ordered else None


def clear() -> None:
    """Forget every secret (tests start each case from nothing)."""
    global _pattern
    with _lock:
        _secrets.clear()
        _pattern = None


def scrub(text: str) -> str:
    """`text` with every form of every registered secret replaced by `MASK`."""
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern is not None and text else text


def scrub_data(value: Any) -> Any:
    """JSON-like data with every string (keys included) scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {scrub_data(key): scrub_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_data(item) for item in value]
    return value


def forms_of(secret: str) -> set[tuple[str, str]]:
    """(text, regex) of each form: the secret as typed and percent-decoded, each with any of
    its characters percent-encoded, and the base64 runs of each encoding a client may send."""
    texts = {secret, unquote(secret), unquote_plus(secret)}
    forms = {(text, _percent_pattern(text)) for text in texts if len(text) >= MIN_SECRET_CHARS}
    for text in texts | {quote(text, safe="") for text in texts} | {quote_plus(secret)}:
        forms |= {(run, re.escape(run)) for run in base64_runs(text.encode())}
    return forms


def _percent_pattern(text: str) -> str:
    """Each character as itself or percent-encoded (either case): URLs encode as they like."""
    parts = []
    for char in text:
        encoded = "".join(f"%{byte:02X}" for byte in char.encode())
        alternatives = [re.escape(char), f"(?i:{re.escape(encoded)})"]
        if char == " ":
            alternatives.append(r"\+")
        parts.append(f"(?:{'|'.join(alternatives)})")
    return "".join(parts)


def base64_runs(data: bytes) -> set[str]:
    """The base64 characters that depend on `data` alone, wherever it sits in a longer input.

    Base64 works on 3-byte groups, so `data` starting at offset 0, 1 or 2 of a group encodes
    three different ways; the groups it shares with its neighbours are left out."""
    runs = set()
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + data).decode()
        run = encoded[4 if offset else 0:4 * ((offset + len(data)) // 3)]
        if len(run) >= MIN_BASE64_CHARS:
            runs |= {run, run.translate(_URLSAFE)}
    return runs


def secrets_in_url(value: str) -> list[str]:
    """The password and the whole userinfo of a URL, or the password of a `key=value` DSN."""
    found = [match.group(1).strip("'") for match in _DSN_PASSWORD.finditer(value)]
    if "://" in value:
        netloc = urlsplit(value.strip()).netloc
        userinfo, at, _host = netloc.rpartition("@")
        if at:
            _user, colon, password = userinfo.partition(":")
            found += [userinfo, password] if colon else [userinfo]
    return found


def secrets_of(settings: Any) -> list[str]:
    """Every secret a (nested) settings dataclass holds, found by its declarations."""
    return list(_walk(settings))


def _walk(settings: Any) -> Iterator[str]:
    for item in fields(settings):
        value = getattr(settings, item.name)
        if is_dataclass(value) and not isinstance(value, type):
            yield from _walk(value)
        elif isinstance(value, str):
            spec = item.metadata.get(SPEC)
            if spec is not None and spec.secret:
                yield value
            yield from secrets_in_url(value)
