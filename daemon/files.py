"""File helpers shared by the engine and handlers: atomic hand-off, hashing, temp-name rules.

Every output is written under a temporary name in its target directory, fsynced, then renamed
into place, so a watcher never sees a half-written file and a crash leaves either the old file
or the new one, never a torn one. A worker may ask to hear of each hand-off its thread makes
(`reporting_hand_offs`): that is how the ledger knows a handler was still producing output.
The dispatcher takes each hand-off of a run to its next stage itself (`routing_hand_offs`);
such a hand-off's temporary name says so (`ROUTED_SUFFIX`, with the process's id), so that the
watcher does not report its arrival a second time.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

TEMP_SUFFIXES = (".tmp", ".part", "~")
OWN_TEMP_SUFFIX = ".idxd.tmp"  # only files with this suffix are ours to clean up after a crash
ROUTED_SUFFIX = ".routed" + OWN_TEMP_SUFFIX  # a hand-off the dispatcher routes itself
KEPT_INPUT_BYTES = 1 << 20  # an input up to this size is read once, for its hash and handler
READ_CHUNK = 1 << 16
_listener = threading.local()  # per worker thread: who hears of this thread's hand-offs
_temporary_numbers = itertools.count()


def reporting_hand_offs(callback: Callable[[], None]) -> contextlib.AbstractContextManager[None]:
    """Call `callback` after each hand-off this thread completes, inside the block."""
    return _for_this_thread("callback", callback)


def routing_hand_offs(route: Callable[[Path], None]) -> contextlib.AbstractContextManager[None]:
    """Give `route` the path of each hand-off this thread completes inside the block, and name
    its temporary file so that a watcher can tell it is taken care of."""
    return _for_this_thread("route", route)


def handling_input(path: Path, sha256: str, content: bytes | None = None
                   ) -> contextlib.AbstractContextManager[None]:
    """Inside the block, in this thread, `input_sha256(path)` is `sha256` and `input_content(
    path)` is `content` when given: what the engine read and claimed before the handler was
    given the file, which the handler need not read again."""
    return _for_this_thread("input", (os.fspath(path), sha256, content))


@contextlib.contextmanager
def _for_this_thread(name: str, value: Any) -> Iterator[None]:
    """`value` as this thread's `name` inside the block, the one before it after."""
    previous = getattr(_listener, name, None)
    setattr(_listener, name, value)
    try:
        yield
    finally:
        setattr(_listener, name, previous)


def input_sha256(path: Path) -> str | None:
    """The sha256 of `path` as the engine claimed it in the ledger, if `path` is the input this
    thread's handler was given; else None (a caller outside a stage run hashes it itself)."""
    given = getattr(_listener, "input", None)
    return given[1] if given is not None and given[0] == os.fspath(path) else None


def input_content(path: Path) -> bytes:
    """The content of `path`: as the engine read it to claim it, if `path` is the input this
    thread's handler was given and no larger than `KEPT_INPUT_BYTES`; else read now. The kept
    content is exactly what the ledger's sha256 says, whatever happened to the file since."""
    given = getattr(_listener, "input", None)
    kept: bytes | None = given[2] if given is not None and given[0] == os.fspath(path) else None
    if kept is not None:
        return kept
    return Path(path).read_bytes()


def is_temporary_name(name: str) -> bool:
    """Names a writer uses while a file is incomplete: never processed."""
    return name.startswith(".") or name.endswith(TEMP_SUFFIXES)


def printable_name(name: str) -> str:
    """`name` with undecodable bytes and control characters spelled out as `\\xNN`.

    File names arrive as bytes; one that is not UTF-8 or carries control characters cannot be
    stored, logged or shown safely as it is.
    """
    if name.isascii() and name.isprintable():  # nearly every name: nothing to spell out
        return name
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(f"\\x{ord(char):02x}" if ord(char) < 32 or ord(char) == 127 else char
                   for char in text)


def fit_name(name: str, max_bytes: int) -> str:
    """Shorten `name` to at most `max_bytes` bytes, keeping its extension."""
    if len(os.fsencode(name)) <= max_bytes:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension) > 16:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    budget = max_bytes - len(os.fsencode(suffix))
    shortened = os.fsencode(stem)[:budget].decode("utf-8", "ignore")
    return shortened + suffix


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> Path:
    """Write `data` to `path` through a temporary sibling and an atomic rename."""
    route = getattr(_listener, "route", None)
    fd, tmp_name = _create_temporary(path, ROUTED_SUFFIX if route else OWN_TEMP_SUFFIX)
    try:
        try:
            _write_all(fd, data)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp_name, path)
    except BaseException:
        _remove_quietly(Path(tmp_name))
        raise
    if route is not None:
        route(path)
    callback = getattr(_listener, "callback", None)
    if callback is not None:
        callback()
    if durable:
        fsync_directory(path.parent)
    return path


def _create_temporary(path: Path, suffix: str) -> tuple[int, str]:
    """A new temporary sibling of `path`, open for writing, creating its directory if need be.

    The name is unique by process, thread and a counter (`O_EXCL` refuses a leftover of a
    process that had the same pid), and fits the filesystem's limit even when the final name
    nearly does."""
    directory = os.fspath(path.parent)
    while True:
        name = (f"{directory}/.{fit_name(path.name, 100)}.{os.getpid()}-"
                f"{threading.get_native_id()}-{next(_temporary_numbers)}{suffix}")
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), name
        except FileExistsError:
            continue
        except FileNotFoundError:
            os.makedirs(directory, exist_ok=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_json_atomic(path: Path, payload: Any, *, durable: bool = True) -> Path:
    """Write `payload` as indented UTF-8 JSON, atomically. Keys keep their order."""
    text = json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n"
    return write_atomic(path, text.encode("utf-8"), durable=durable)


def copy_atomic(source: Path, target: Path, *, durable: bool = True) -> Path:
    """Copy `source` to `target` so that `target` appears whole or not at all."""
    return write_atomic(target, source.read_bytes(), durable=durable)


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in `path`, or an empty dict when it is missing, unreadable or not an
    object: for optional files (sidecars, metas) whose absence is not an error."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def hash_and_keep(path: Path, size: int) -> tuple[str, bytes | None]:
    """The sha256 of the file at `path`, and its content when it is at most `KEPT_INPUT_BYTES`
    (`size` is its size at the last look): one read serves the hash and the handler."""
    if size > KEPT_INPUT_BYTES:
        return sha256_file(path), None
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        # A regular file's read returns all it has up to the count: one read for all of it,
        # unless it grew since it was looked at.
        content = os.read(fd, size + 1)
        if len(content) > size:
            chunks = [content]
            while chunk := os.read(fd, READ_CHUNK):
                chunks.append(chunk)
            content = b"".join(chunks)
    finally:
        os.close(fd)
    if len(content) > KEPT_INPUT_BYTES:
        return hashlib.sha256(content).hexdigest(), None
    return hashlib.sha256(content).hexdigest(), content


def unique_path(path: Path) -> Path:
    """`path`, or `name-2.ext`, `name-3.ext`, … when it already exists."""
    candidate, counter = path, 1
    while candidate.exists():
        counter += 1
        candidate = path.with_name(f"{path.stem}-{counter}{path.suffix}")
    return candidate


def iter_files(directory: Path) -> Iterator[os.DirEntry[str]]:
    """Regular, non-temporary files directly inside `directory` (symlinks are not followed)."""
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False) and not is_temporary_name(entry.name):
                    yield entry
    except FileNotFoundError:
        return


def remove_stale_temp_files(root: Path) -> int:
    """Delete the temporary files a killed writer of ours left behind; returns how many.

    Only called while holding the root's lock, so no writer of ours is still at work.
    """
    removed = 0
    for directory, _subdirs, names in os.walk(root):
        for name in names:
            if name.startswith(".") and name.endswith(OWN_TEMP_SUFFIX):
                _remove_quietly(Path(directory) / name)
                removed += 1
    return removed


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
