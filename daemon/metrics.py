"""Prometheus metrics on 127.0.0.1, off unless `[daemon] metrics_port` is set.

Counters of files processed and failed per stage, handler durations, retries; gauges for queue
depth, running handlers, the oldest pending file's age, and the times the application reports
through its status hook (when it last did each thing it tracks), refreshed with the status
line. prometheus-client is an optional extra (`idxd[metrics]`); asking for a port without it
is a configuration error, reported before anything starts.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from daemon.errors import ConfigError
from daemon.outcomes import OutcomeState

HOST = "127.0.0.1"  # never exposed: a local agent or an SSH tunnel scrapes it
DURATION_BUCKETS_S = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
Work = TypeVar("Work", bound=Callable[..., Any])  # (stage, relative_path) -> Outcome
# Skipped, gone and interrupted ran no handler to completion, so they are not counted.
COUNTED = frozenset({OutcomeState.DONE, OutcomeState.FAILED, OutcomeState.QUARANTINED,
                     OutcomeState.CRASHED})


def check_available(port: int) -> None:
    if port and importlib.util.find_spec("prometheus_client") is None:
        raise ConfigError(f"The setting metrics_port = {port} needs the prometheus-client "
                          "package, which is not installed: pip install 'idxd[metrics]', or "
                          "set metrics_port = 0.")


class Metrics:
    def __init__(self, port: int, stages: Iterable[str]):
        import prometheus_client as prom

        self.registry = prom.CollectorRegistry()
        registry, by_stage = self.registry, ["stage"]
        self.processed = prom.Counter("idxd_files_processed", "Files a stage processed", by_stage,
                                      registry=registry)
        self.failed = prom.Counter("idxd_files_failed", "Files that failed for good or outlived "
                                   "their retries", ["stage", "state"], registry=registry)
        self.retries = prom.Counter("idxd_retries", "Handler calls retried", by_stage,
                                    registry=registry)
        self.duration = prom.Histogram("idxd_handler_duration_seconds", "Handler run time",
                                       by_stage, registry=registry, buckets=DURATION_BUCKETS_S)
        self.queued = prom.Gauge("idxd_queue_depth", "Files ready, waiting for a worker", by_stage,
                                 registry=registry)
        self.running = prom.Gauge("idxd_running", "Handlers running now", by_stage,
                                  registry=registry)
        self.oldest = prom.Gauge("idxd_oldest_pending_age_seconds",
                                 "Age of the oldest file not yet finished (0: none)",
                                 registry=self.registry)
        self.last = prom.Gauge("idxd_last_event_timestamp_seconds",
                               "When the application last did this (unix time)", ["what"],
                               registry=self.registry)
        for stage in stages:  # every stage shows up at 0 before its first file
            self.processed.labels(stage)
            self.retries.labels(stage)
        try:
            self.server, self.thread = prom.start_http_server(port, addr=HOST,
                                                              registry=self.registry)
        except OSError as error:
            raise ConfigError(f"The setting metrics_port cannot be used: {HOST}:{port} "
                              f"is not available ({error.strerror}).") from None

    def timed(self, process: Work) -> Work:
        """Wrap the per-file work: count its outcome and time the handler run."""
        def measured(stage: Any, relative_path: str, next_path: str | None) -> Any:
            started = time.monotonic()
            try:
                outcome = process(stage, relative_path, next_path)
            except BaseException:
                self.failed.labels(stage.name, OutcomeState.CRASHED).inc()
                raise
            self.record(stage.name, outcome.state, time.monotonic() - started)
            return outcome
        return cast(Work, measured)

    def record(self, stage: str, state: OutcomeState, duration_s: float) -> None:
        if state not in COUNTED:
            return
        self.duration.labels(stage).observe(duration_s)
        if state == OutcomeState.DONE:
            self.processed.labels(stage).inc()
        else:
            self.failed.labels(stage, state).inc()

    def retried(self, stage: str) -> None:
        self.retries.labels(stage).inc()

    def observe(self, queued: Mapping[str, int], running: Mapping[str, int],
                oldest_since: float | None, facts: Mapping[str, Mapping[str, Any]]) -> None:
        """Refresh the gauges (called with the status line, every few seconds)."""
        for stage, count in queued.items():
            self.queued.labels(stage).set(count)
        for stage, count in running.items():
            self.running.labels(stage).set(count)
        self.oldest.set(time.time() - oldest_since if oldest_since else 0)
        for name, fact in facts.items():
            stamp = _timestamp(fact.get("at"))
            if stamp is not None:
                self.last.labels(name).set(stamp)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def open_metrics(port: int, stages: Iterable[str]) -> Metrics | None:
    if not port:
        return None
    check_available(port)
    return Metrics(port, stages)
