"""The Prometheus endpoint: what a scrape shows after files went through the daemon, and the
clear configuration error when the optional package is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.engine.conftest import drop, root, start_daemon, wait_for  # noqa: F401
from tests.ops.statusapp import LAST_INGEST_AT
from tests.support import free_port

REPO = Path(__file__).resolve().parents[2]


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: dict, name: str, **labels: str) -> float | None:  # type: ignore[type-arg]
    return samples.get((name, tuple(sorted(labels.items()))))


def test_a_scrape_shows_files_retries_durations_queues_and_app_times(
        start_daemon, root: Path) -> None:  # noqa: F811
    port = free_port()
    start_daemon(app="tests.ops.statusapp:APP", metrics_port=port)
    drop(root, "in/a", "good.txt", "fine")
    drop(root, "in/a", "flaky.txt", "transient:2")
    drop(root, "in/a", "bad.txt", "reject")
    wait_for(lambda: (root / "out/good.txt").exists() and (root / "out/flaky.txt").exists())
    samples = wait_for(lambda: (s := scrape(port)) and
                       value(s, "idxd_files_failed_total", stage="a", state="quarantined") and s)
    assert value(samples, "idxd_files_processed_total", stage="a") == 2
    assert value(samples, "idxd_files_processed_total", stage="c") == 2
    assert value(samples, "idxd_retries_total", stage="a") == 2
    assert value(samples, "idxd_handler_duration_seconds_count", stage="a") == 3
    assert value(samples, "idxd_queue_depth", stage="b") == 0
    assert value(samples, "idxd_oldest_pending_age_seconds") is not None
    expected = datetime.fromisoformat(LAST_INGEST_AT).timestamp()
    assert value(samples, "idxd_last_event_timestamp_seconds", what="last_ingest") == expected
    # An application fact with no time yet is left out rather than shown as 1970.
    assert value(samples, "idxd_last_event_timestamp_seconds", what="last_email") is None


def test_the_endpoint_listens_on_localhost_only(start_daemon, root: Path) -> None:  # noqa: F811
    port = free_port()
    daemon = start_daemon(metrics_port=port)
    assert daemon.metrics is not None
    assert daemon.metrics.server.server_address[0] == "127.0.0.1"


def test_a_port_without_prometheus_client_is_a_configuration_error(tmp_path: Path) -> None:
    # sys.modules[name] = None makes the package look absent to the import system.
    hide = "import sys\nsys.modules['prometheus_client'] = None\n"
    (tmp_path / "sitecustomize.py").write_text(hide)
    result = subprocess.run(
        [sys.executable, "-m", "daemon", "--root", str(tmp_path / "root"), "check-config"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": f"{tmp_path}:{REPO}", "IDXD_METRICS_PORT": "9108"})
    assert result.returncode == 2
    assert "prometheus-client" in result.stderr and "Traceback" not in result.stderr


def test_a_metrics_port_already_taken_is_a_configuration_error(tmp_path) -> None:
    import socket
    import subprocess
    import sys

    from tests.engine.conftest import REPO, write_config

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    config = write_config(tmp_path / "m.toml", tmp_path / "root", metrics_port=port)
    result = subprocess.run([sys.executable, "-m", "daemon", "--config", str(config), "run"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    taken.close()
    assert result.returncode == 2
    assert f"127.0.0.1:{port} is not available" in result.stderr
