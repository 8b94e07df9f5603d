"""Which errors mean a full disk, and how the gate holds work back and lets it go again."""

from __future__ import annotations

import errno
import sqlite3

from daemon.errors import TransientError
from daemon.space import MAX_PROBE_S, SpaceGate, SpaceState, is_disk_full, is_resource_error


def test_no_space_in_any_of_its_forms_is_a_full_disk() -> None:
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert is_disk_full(sqlite3.OperationalError("database or disk is full"))
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as error:
            raise TransientError("the sink could not write") from error
    except TransientError as wrapped:
        assert is_disk_full(wrapped)  # a handler's wrapping does not hide it


def test_other_errors_are_not_a_full_disk() -> None:
    assert not is_disk_full(sqlite3.OperationalError("database is locked"))
    assert not is_disk_full(OSError(errno.ENOENT, "No such file"))
    assert not is_disk_full(ValueError("bad input"))
    assert is_resource_error(OSError(errno.EMFILE, "Too many open files"))
    assert not is_resource_error(OSError(errno.ENOENT, "No such file"))


def test_the_gate_probes_less_often_while_full_and_recovers_once_work_goes_through() -> None:
    clock = {"now": 0.0}
    gate = SpaceGate(clock=lambda: clock["now"])
    gate.report("a in/a/x.txt", "OSError: no space")
    assert gate.full and not gate.probe_due()

    def still_full() -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    waits = []
    for _ in range(6):
        clock["now"] += gate.seconds_to_probe() or 0.0
        assert gate.probe_due() and not gate.probe(still_full)
        waits.append(gate.seconds_to_probe())
    assert waits == [2.0, 4.0, 8.0, MAX_PROBE_S, MAX_PROBE_S, MAX_PROBE_S]
    clock["now"] += MAX_PROBE_S
    assert gate.probe(lambda: None) and gate.state is SpaceState.TRYING
    gate.report("a in/a/x.txt", "OSError: no space")  # the probe passed, the work did not
    assert gate.full
    clock["now"] += MAX_PROBE_S
    assert gate.probe(lambda: None)
    gate.worked()
    assert gate.state is SpaceState.OK and not gate.full
