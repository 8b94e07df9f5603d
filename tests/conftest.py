"""Fixtures shared by every test area."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from daemon.config import EngineSettings, Settings
from daemon.logs import configure_logging
from daemon.retry import StopEvent
from handlers.adapters.sinks import Sink
from handlers.context import PipelineContext
from handlers.settings import load_pipeline_settings
from tests.e2e.exchange import Exchange

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "idx"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(reason: str) -> None:
    """A missing service skips a test locally and fails it under CI."""
    if IN_CI:
        pytest.fail(f"required service missing under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def daemon_logging() -> None:
    """Every test starts from the daemon's own log configuration, writing to whatever stdout
    is at the moment (so `capsys` sees it): a test that sent the logs elsewhere (a StringIO)
    would otherwise keep the next tests' lines of the same worker."""
    configure_logging("info", "json")


@pytest.fixture
def make_ctx(tmp_path: Path) -> Iterator[Callable[..., PipelineContext]]:
    """Build a pipeline context on a temporary root from a TOML-like dict and an environment."""
    made: list[PipelineContext] = []

    def build(document: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
              root: Path | None = None, sink: Sink | None = None,
              stopping: StopEvent | None = None, **engine: Any) -> PipelineContext:
        settings = Settings(
            engine=EngineSettings(root=root or tmp_path / "root", durable_writes=False, **engine),
            app=load_pipeline_settings(document or {}, env or {}),
        )
        ctx = PipelineContext(settings=settings, sink_override=sink,
                              stopping=stopping or threading.Event())
        made.append(ctx)
        return ctx

    yield build
    for ctx in made:
        ctx.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "exchange(**options): keyword arguments for the Exchange "
                                       "the `exchange` fixture starts (timeout_hang_s=...)")


@pytest.fixture
def exchange(request: pytest.FixtureRequest) -> Iterator[Exchange]:
    """A local stand-in for the exchange's API and files, over real HTTP, for one test.
    A test (or module) marked `@pytest.mark.exchange(timeout_hang_s=1.0)` gets those options."""
    marker = request.node.get_closest_marker("exchange")
    with Exchange(**(marker.kwargs if marker else {})) as server:
        yield server
