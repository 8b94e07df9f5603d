"""`idxd tail`: JSON lines become the lines the console log shows (structlog's
ConsoleRenderer), filters keep what was asked for, anything that is not JSON passes through
unchanged when no filter is asked for, the source read is named on stderr, and colour appears
only when wanted."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ESC = "\033["
COLOUR_CODE = re.compile(r"\033\[[0-9;]*m")

EVENTS = [
    {"event": "daemon.started", "level": "info", "timestamp": "2026-11-27T17:04:05.401083Z",
     "root": "/var/lib/idxd", "pid": 35},
    {"event": "file.processed", "level": "info", "timestamp": "2026-11-27T17:04:13.582987Z",
     "stage": "download", "path": "data/announcements/batch-1.json", "sha256": "5891b5b522d5df08",
     "duration_ms": 1.53, "outputs": ["downloads/idx-format/a.pdf"]},
    {"event": "file.retrying", "level": "warning", "timestamp": "2026-11-27T17:04:14.000001Z",
     "stage": "parse", "path": "downloads/idx-format/a.pdf", "attempt": 2,
     "error": "database busy"},
    {"event": "file.quarantined", "level": "error", "timestamp": "2026-11-27T17:04:15.000001Z",
     "stage": "parse", "path": "downloads/idx-format/b.pdf", "code": "label_missing"},
    {"event": "window.closed", "level": "info", "timestamp": "2026-11-27T18:15:00.000001Z",
     "window": "20261127_1600_20261127_1800", "alerts": 2},
]
NOT_JSON = "Traceback (most recent call last): something printed by a library"
NAMES = [event["event"] for event in EVENTS]
# Logs one event through the daemon's own logging set-up, in the format given as argv[1].
LOG_AN_EVENT = ("import sys, structlog; from daemon.logs import configure_logging; "
                "configure_logging('info', sys.argv[1]); structlog.get_logger().warning("
                "'file.retrying', stage='parse', path='downloads/idx-format/a.pdf', attempt=2, "
                "error='database busy')")


def tail(*args: str, stdin: str = "") -> list[str]:
    result = subprocess.run([sys.executable, "-m", "daemon", "tail", *args], cwd=REPO,
                            input=stdin, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def tail_to_a_terminal(*args: str) -> str:
    """What `idxd tail` writes when its standard output is a terminal."""
    primary, secondary = pty.openpty()
    try:
        subprocess.run([sys.executable, "-m", "daemon", "tail", *args], cwd=REPO,
                       stdin=subprocess.DEVNULL, stdout=secondary, check=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
        os.close(secondary)
        return read_all(primary)
    finally:
        os.close(primary)


def read_all(primary: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the writer has gone and everything it wrote was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def shows(line: str, event: dict[str, object]) -> bool:
    """The line carries the event's name, level, time, and every other key as key=value."""
    facts = [str(event["event"]), f"[{event['level']}", str(event["timestamp"])]
    facts += [f"{key}=" for key in event if key not in ("event", "level", "timestamp")]
    return all(fact in line for fact in facts)


def log_an_event(fmt: str) -> str:
    result = subprocess.run([sys.executable, "-c", LOG_AN_EVENT, fmt], cwd=REPO, check=True,
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    return result.stdout.strip()


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    lines = [json.dumps(event) for event in EVENTS[:2]] + [NOT_JSON]
    lines += [json.dumps(event) for event in EVENTS[2:]]
    path = tmp_path / "idxd.log"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_each_json_line_becomes_one_readable_line(log_file: Path) -> None:
    lines = tail(str(log_file), "--color", "never")
    assert len(lines) == len(EVENTS) + 1
    processed = lines[1]
    assert shows(processed, EVENTS[1])
    assert "stage=download" in processed and "path=data/announcements/batch-1.json" in processed
    assert "duration_ms=1.53" in processed and "'downloads/idx-format/a.pdf'" in processed
    assert "{" not in lines[0] and "pid=35" in lines[0]
    assert "error='database busy'" in lines[3]
    json_lines = lines[:2] + lines[3:]
    assert all(shows(line, event) for line, event in zip(json_lines, EVENTS, strict=True))


def test_a_line_looks_as_the_console_log_shows_it() -> None:
    console = log_an_event("console")
    tailed = tail("--color", "always", stdin=log_an_event("json") + "\n")
    assert len(tailed) == 1 and "file.retrying" in console
    # The same but for the moment it was logged, which is the line's first field.
    assert tailed[0].split(" ", 1)[1] == console.split(" ", 1)[1]


def test_lines_that_are_not_json_pass_through_unchanged_unless_a_filter_is_asked_for(
        log_file: Path) -> None:
    assert NOT_JSON in tail(str(log_file))
    # A filter cannot tell what such a line is about: it keeps only what it can classify.
    assert NOT_JSON not in tail(str(log_file), "--level", "error")
    assert NOT_JSON not in tail(str(log_file), "--stage", "parse")


def test_tail_says_which_source_it_reads(log_file: Path) -> None:
    for args, source in (((str(log_file),), str(log_file)), (("-",), "standard input")):
        result = subprocess.run([sys.executable, "-m", "daemon", "tail", *args], cwd=REPO,
                                input="", capture_output=True, text=True, timeout=60,
                                env={**os.environ, "PYTHONPATH": str(REPO)})
        assert result.returncode == 0
        assert result.stderr.strip() == f"idxd tail: reading {source} (Ctrl-C to stop)"


def test_filters_keep_a_stage_a_minimum_level_a_path_and_a_window(log_file: Path) -> None:
    def events(*args: str) -> list[str]:
        return [name for line in tail(str(log_file), *args) if line != NOT_JSON
                for name in NAMES if name in line]

    assert events("--stage", "parse") == ["file.retrying", "file.quarantined"]
    assert events("--level", "warning") == ["file.retrying", "file.quarantined"]
    assert events("--file", "b.pdf") == ["file.quarantined"]
    assert events("--window", "20261127_1600") == ["window.closed"]
    assert events("--stage", "parse", "--level", "error") == ["file.quarantined"]


def test_reads_standard_input_as_journalctl_pipes_it(log_file: Path) -> None:
    text, expected = log_file.read_text(), tail(str(log_file), "--color", "never")
    assert tail("-", "--color", "never", stdin=text) == expected
    assert tail("--color", "never", stdin=text) == expected  # no argument, not a terminal


def test_colour_only_when_asked_or_on_a_terminal(log_file: Path) -> None:
    assert not any(ESC in line for line in tail(str(log_file)))  # a pipe: auto means no colour
    plain = tail(str(log_file), "--color", "never")
    coloured = tail(str(log_file), "--color", "always")
    quarantined = next(line for line in coloured if "file.quarantined" in line)
    assert ESC in quarantined and re.search(r"\033\[[0-9;]*merror", quarantined)
    assert [COLOUR_CODE.sub("", line) for line in coloured] == plain  # the same, coloured
    assert NOT_JSON in coloured  # passed through untouched, no colour added
    on_a_terminal = tail_to_a_terminal(str(log_file)).splitlines()
    assert [COLOUR_CODE.sub("", line).rstrip("\r") for line in on_a_terminal] == plain
    assert any(ESC in line for line in on_a_terminal)  # auto on a terminal: colour


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "daemon", "tail", str(tmp_path / "nope")],
                            cwd=REPO, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode != 0 and "nope" in result.stderr and "Traceback" not in result.stderr


def follow_journal(tmp_path: Path, *args: str,
                   env: dict[str, str] | None = None) -> tuple[list[str], str]:
    """Run `idxd tail` on a terminal with no file: the journalctl arguments and the output."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    journalctl = bin_dir / "journalctl"
    journalctl.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/args\n"
                          f"echo '{json.dumps(EVENTS[3])}'\n")
    journalctl.chmod(0o755)
    primary, secondary = pty.openpty()  # standard input is a terminal, as for a person typing
    try:
        result = subprocess.run([sys.executable, "-m", "daemon", "tail", "--color", "never",
                                 *args], cwd=REPO, stdin=secondary, capture_output=True,
                                text=True, timeout=60,
                                env={**os.environ, "PYTHONPATH": str(REPO),
                                     "PATH": f"{bin_dir}:{os.environ['PATH']}", **(env or {})})
    finally:
        os.close(primary)
        os.close(secondary)
    assert result.returncode == 0, result.stderr
    return (tmp_path / "args").read_text().split(), result.stdout


def test_on_a_terminal_with_no_file_it_follows_the_journal(tmp_path: Path) -> None:
    journal_args, stdout = follow_journal(tmp_path)
    assert journal_args == ["-u", "idxd", "-o", "cat", "-f"]
    assert shows(stdout, EVENTS[3]) and "[error" in stdout
    assert "stage=parse" in stdout and "path=downloads/idx-format/b.pdf" in stdout


def test_the_application_names_the_journal_unit_and_the_extra_filters(tmp_path: Path) -> None:
    other_app = {"IDXD_APP": "tests.engine.testapp:APP"}  # declares no log filters
    journal_args, stdout = follow_journal(tmp_path, env=other_app)
    assert journal_args == ["-u", "testapp", "-o", "cat", "-f"]
    assert "file.quarantined" in stdout
    result = subprocess.run([sys.executable, "-m", "daemon", "tail", "--window", "x", "-"],
                            cwd=REPO, input="", capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO), **other_app})
    assert result.returncode == 2 and "--window" in result.stderr
