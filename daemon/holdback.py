"""Files a full disk held back while the daemon runs, and letting them go once there is room.

A write that fails for want of space is no fault of the file: it stays pending in its inbox and
is remembered here, the loop starts no new file, and the gate (`daemon.space`) says when to
probe the root (a small synced file and a ledger write). Once a probe passes, the held files go
first; rows a full ledger could not put back to `pending` are released before that.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from daemon.ledger import Ledger
from daemon.outcomes import SUCCESSES, Outcome
from daemon.space import SpaceGate, describe, probe_root
from daemon.stages import Stage

Submit = Callable[[Stage[Any], str], None]


class HeldFiles:
    def __init__(self, root: Path, space: SpaceGate, until_idle: bool):
        self.root, self.space, self.until_idle = root, space, until_idle
        self.files: dict[str, Stage[Any]] = {}  # relative path -> its stage

    def __bool__(self) -> bool:
        return bool(self.files)

    def note(self, stage: Stage[Any], relative: str, result: Outcome) -> None:
        """What a finished file says about the disk."""
        if result.no_space:
            self.space.report(f"{stage.name} {relative}", result.no_space)
            if not self.until_idle:  # a batch run reports the file instead of waiting
                self.files[relative] = stage
        elif result.state in SUCCESSES:
            self.space.worked()

    def disk_full(self, where: str, error: BaseException) -> None:
        """A write of the loop's own failed for want of space."""
        self.space.report(where, describe(error))

    def check(self, ledger: Ledger, submit: Submit) -> None:
        """Probe a full disk when due; with room again, the held-back files go first."""
        if not self.space.probe_due() or not self.space.probe(lambda: self._probe(ledger)):
            return
        held, self.files = self.files, {}
        for relative, stage in held.items():
            submit(stage, relative)
        if not held:
            self.space.worked()

    def _probe(self, ledger: Ledger) -> None:
        probe_root(self.root)
        ledger.set_state("daemon.space", {"probed_at": time.time()})
        for relative, stage in self.files.items():  # rows a full ledger could not release
            ledger.release_path(stage.name, relative)
