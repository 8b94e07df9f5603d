"""What the main loop reports as it turns: WATCHDOG=1 to systemd at half its timeout, and
every few seconds a STATUS= line, the queue depths for `idxd status`, and the metrics gauges.

The heartbeat is sent from the main loop only, so a loop that hangs stops it and systemd's
watchdog restarts the daemon. Each beat also looks at the ledger file: one deleted or replaced
under the daemon stops it (`LedgerUnusable`). A full disk is no reason to stop beating: a state
write that fails for want of space is handed to the loop (`on_disk_full`) and the beat goes on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from daemon.config import Settings
from daemon.dispatch import Dispatcher
from daemon.guard import watch_ledger
from daemon.ledger import Ledger
from daemon.logs import get_logger
from daemon.metrics import Metrics
from daemon.settle import Settler
from daemon.space import is_disk_full
from daemon.stages import App
from daemon.systemd import Notifier

log = get_logger()
STATUS_EVERY_S = 5.0


class Heartbeat:
    def __init__(self, app: App[Any, Any], settings: Callable[[], Settings[Any]],
                 notifier: Notifier, ledger: Ledger, dispatcher: Dispatcher, settler: Settler,
                 metrics: Metrics | None, inbox_count: int,
                 on_disk_full: Callable[[str, BaseException], None] | None = None):
        self.app, self._settings, self.notifier = app, settings, notifier
        self.ledger, self.dispatcher, self.settler = ledger, dispatcher, settler
        self.metrics, self.inbox_count = metrics, inbox_count
        self._on_disk_full = on_disk_full
        self._last_status = 0.0
        self._last_watchdog = 0.0
        self._work_marked = False

    def beat(self) -> None:
        now = time.monotonic()
        self._check_ledger()
        interval = self.notifier.watchdog_interval_s
        if interval is not None and now - self._last_watchdog >= interval:
            self.notifier.heartbeat()
            self._last_watchdog = now
        if now - self._last_status >= STATUS_EVERY_S:
            self._last_status = now
            self.report()

    def _check_ledger(self) -> None:
        """A ledger deleted or replaced under us must stop the daemon, not be written blind."""
        self._work_marked = watch_ledger(self._settings().engine.root, self.ledger,
                                         self._work_marked)

    def report(self) -> None:
        self.notifier.status(self.status_line())
        try:
            self.ledger.set_state("daemon.queue", {
                "pid": os.getpid(), "updated_at": time.time(),
                "queued": self.dispatcher.queued(), "running": self.dispatcher.running(),
                "settling": len(self.settler)})
        except Exception as error:
            if not is_disk_full(error) or self._on_disk_full is None:
                raise
            self._on_disk_full("heartbeat", error)
        if self.metrics is not None:
            self._observe(self.metrics)

    def status_line(self) -> str:
        queued = sum(self.dispatcher.queued().values())
        return (f"watching {self.inbox_count} inboxes; {queued} queued, "
                f"{self.dispatcher.running_total()} running")

    def _observe(self, metrics: Metrics) -> None:
        facts: Mapping[str, Mapping[str, Any]] = {}
        if self.app.status_extras is not None:
            try:
                facts = self.app.status_extras(self._settings(), self.ledger.get_state)
            except Exception:
                log.exception("metrics.status_failed")
        metrics.observe(self.dispatcher.queued(), self.dispatcher.running(),
                        self.ledger.oldest_unfinished(), facts)
