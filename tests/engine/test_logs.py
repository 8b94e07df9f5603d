"""A module's logger follows the configuration of the moment, though it assembles itself once."""

from __future__ import annotations

import io
import json

from structlog.testing import capture_logs

from daemon.logs import configure_logging, get_logger, set_level


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_logger_used_before_a_level_change_follows_the_new_level() -> None:
    out, log = io.StringIO(), get_logger()
    configure_logging("warning", "json", out)
    log.info("file.received", n=1)
    log.warning("disk.full", n=2)
    set_level("info")  # as SIGHUP does
    log.info("file.received", n=3)
    set_level("error")
    log.warning("disk.full", n=4)
    assert [(line["event"], line["n"]) for line in lines(out)] == [("disk.full", 2),
                                                                   ("file.received", 3)]


def test_a_logger_used_before_another_output_writes_to_the_new_one() -> None:
    first, second, log = io.StringIO(), io.StringIO(), get_logger()
    configure_logging("info", "json", first)
    log.info("file.received", n=1)
    configure_logging("info", "json", second)
    log.info("file.received", n=2)
    assert [line["n"] for line in lines(first)] == [1]
    assert [line["n"] for line in lines(second)] == [2]


def test_captured_logs_see_a_logger_used_before_and_it_writes_again_afterwards() -> None:
    out, log = io.StringIO(), get_logger()
    configure_logging("info", "json", out)
    log.info("file.received", n=1)
    with capture_logs() as captured:
        log.info("file.processed", n=2)
    log.info("file.received", n=3)
    assert [(entry["event"], entry["n"]) for entry in captured] == [("file.processed", 2)]
    assert [line["n"] for line in lines(out)] == [1, 3]
