"""`idxd tail`: JSON lines become readable lines, filters keep what was asked for, anything
that is not JSON passes through unchanged, and colour appears only when wanted."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ESC = "\033["

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


def tail(*args: str, stdin: str = "") -> list[str]:
    result = subprocess.run([sys.executable, "-m", "daemon", "tail", *args], cwd=REPO,
                            input=stdin, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


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
    assert processed.startswith("17:04:13.582 INFO    file.processed [download] "
                                "data/announcements/batch-1.json")
    assert "duration_ms=1.53" in processed and '["downloads/idx-format/a.pdf"]' in processed
    assert "{" not in lines[0] and "pid=35" in lines[0]
    assert 'error="database busy"' in lines[3]


def test_lines_that_are_not_json_pass_through_unchanged(log_file: Path) -> None:
    assert NOT_JSON in tail(str(log_file), "--level", "error")


def test_filters_keep_a_stage_a_minimum_level_a_path_and_a_window(log_file: Path) -> None:
    def events(*args: str) -> list[str]:
        return [line.split()[2] for line in tail(str(log_file), *args) if line != NOT_JSON]

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
    coloured = tail(str(log_file), "--color", "always")
    quarantined = next(line for line in coloured if "file.quarantined" in line)
    assert ESC + "31;1mERROR" in quarantined
    assert NOT_JSON in coloured  # passed through untouched, no colour added


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "daemon", "tail", str(tmp_path / "nope")],
                            cwd=REPO, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode != 0 and "nope" in result.stderr and "Traceback" not in result.stderr


def test_on_a_terminal_with_no_file_it_follows_the_journal(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    journalctl = bin_dir / "journalctl"
    journalctl.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/args\n"
                          f"echo '{json.dumps(EVENTS[3])}'\n")
    journalctl.chmod(0o755)
    primary, secondary = pty.openpty()  # standard input is a terminal, as for a person typing
    try:
        result = subprocess.run([sys.executable, "-m", "daemon", "tail", "--color", "never"],
                                cwd=REPO, stdin=secondary, capture_output=True, text=True,
                                timeout=60, env={**os.environ, "PYTHONPATH": str(REPO),
                                                 "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    finally:
        os.close(primary)
        os.close(secondary)
    assert (tmp_path / "args").read_text().split() == ["-u", "idxd", "-o", "cat", "-f"]
    assert "ERROR   file.quarantined [parse] downloads/idx-format/b.pdf" in result.stdout
