"""Settings: one TOML file plus environment overrides, validated into frozen objects.

Each setting is declared once (`daemon.declare`). The engine's own settings are
`EngineSettings` (`[daemon]`); the application declares the rest; `load_settings` reads both
from the file and the environment, and `changed_settings` tells what a reload changed.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from daemon.apps import installed_app
from daemon.declare import (
    CONFIG_ENV,
    POSITIVE,
    Bound,
    check_names,
    one_of,
    read_declared,
    setting,
    whole,
)
from daemon.errors import ConfigError
from daemon.metrics import check_available as check_metrics_available

AppSettingsT = TypeVar("AppSettingsT")


def _read_concurrency(table: Any) -> dict[str, int]:
    if not isinstance(table, Mapping):
        raise ConfigError(
            "The setting [daemon] stage_concurrency must be a table of stage = number."
        )
    result = {}
    for stage, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(
                f"The setting [daemon.stage_concurrency] {stage} must be a whole number ≥ 1, "
                f"got {value!r}."
            )
        result[str(stage)] = value
    return result


@dataclass(frozen=True)
class EngineSettings:
    TABLE: ClassVar[str] = "daemon"

    root: Path = setting(Path("./var"), "IDXD_ROOT", live=False)
    # The installed application (its `daemon.apps` entry point) unless the settings name one.
    app: str = setting(installed_app(), "IDXD_APP", live=False)
    settle_ms: int = setting(500, "IDXD_SETTLE_MS", bound=whole(unit=" of milliseconds"))
    rescan_s: float = setting(60.0, "IDXD_RESCAN_S", bound=POSITIVE)
    workers: int = setting(4, "IDXD_WORKERS", bound=whole(1, 256), live=False)
    drain_timeout_s: float = setting(30.0, "IDXD_DRAIN_TIMEOUT_S", bound=POSITIVE)
    observer: str = setting("auto", "IDXD_OBSERVER", bound=one_of("auto", "inotify", "polling"),
                            live=False)
    poll_interval_s: float = setting(1.0, "IDXD_POLL_INTERVAL_S", bound=POSITIVE, live=False)
    retry_attempts: int = setting(5, "IDXD_RETRY_ATTEMPTS", bound=whole(1))
    retry_initial_s: float = setting(1.0, "IDXD_RETRY_INITIAL_S", bound=POSITIVE)
    retry_max_s: float = setting(30.0, "IDXD_RETRY_MAX_S", bound=POSITIVE)
    failed_retry_s: float = setting(300.0, "IDXD_FAILED_RETRY_S", bound=POSITIVE)
    # Deaths of the process while handling one file before it is set aside (`crashed_process`).
    crash_limit: int = setting(2, "IDXD_CRASH_LIMIT", bound=whole(1))
    durable_writes: bool = setting(True, "IDXD_DURABLE_WRITES")
    log_level: str = setting("info", "IDXD_LOG_LEVEL",
                             bound=one_of("debug", "info", "warning", "error"))
    log_format: str = setting("auto", "IDXD_LOG_FORMAT", bound=one_of("auto", "json", "console"))
    # Prometheus on 127.0.0.1; 0 = off.
    metrics_port: int = setting(0, "IDXD_METRICS_PORT", live=False, bound=Bound(
        lambda v: 0 <= v <= 65535, "a port number from 1 to 65535, or 0 for off"))
    stage_concurrency: Mapping[str, int] = setting({}, convert=_read_concurrency)


@dataclass(frozen=True)
class Settings(Generic[AppSettingsT]):
    """The engine's settings and the application's own, read together."""

    engine: EngineSettings
    app: AppSettingsT
    config_path: Path | None = None

    @property
    def root(self) -> Path:
        return self.engine.root


def read_engine_settings(document: Mapping[str, Any], env: Mapping[str, str]) -> EngineSettings:
    settings = read_declared(EngineSettings, document, env)
    check_metrics_available(settings.metrics_port)
    return settings


def read_toml(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"The configuration file {path} does not exist.") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"The configuration file {path} is not valid TOML: {error}.") from None


def config_path_from(cli_value: str | None, env: Mapping[str, str]) -> Path | None:
    chosen = cli_value or env.get(CONFIG_ENV) or None
    return Path(chosen) if chosen else None


def load_settings(
    config_path: Path | None, env: Mapping[str, str] | None = None, root_override: str | None = None
) -> Settings[Any]:
    """Read, override and validate every setting; raise ConfigError with one sentence."""
    from daemon.scrub import register as register_secrets
    from daemon.scrub import secrets_of
    from daemon.stages import load_app

    env = dict(os.environ if env is None else env)
    document = read_toml(config_path)
    engine = read_engine_settings(document, env)
    if root_override:
        engine = replace(engine, root=Path(root_override))
    try:
        app = load_app(engine.app)
    except (ImportError, AttributeError, TypeError, ValueError) as error:
        raise ConfigError(
            f"The setting app = {engine.app!r} does not name an application: {error}."
        ) from None
    app_settings = app.load_settings(document, env)
    check_names(document, env, (EngineSettings, type(app_settings)))
    _check_stage_names(engine, {stage.name for stage in app.stages})
    settings = Settings(engine=engine, app=app_settings, config_path=config_path)
    # Here, so that every entry point (start, each command, SIGHUP) masks what it read.
    register_secrets(secrets_of(settings))
    return settings


def _check_stage_names(engine: EngineSettings, known: set[str]) -> None:
    for name in engine.stage_concurrency:
        if name not in known:
            raise ConfigError(
                f"The setting [daemon.stage_concurrency] names an unknown stage "
                f"{name!r}; the stages are {', '.join(sorted(known))}."
            )


def changed_settings(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted names of the dataclass fields that differ between two settings objects."""
    changed = []
    for item in fields(old):
        before, after = getattr(old, item.name), getattr(new, item.name)
        name = f"{prefix}{item.name}"
        if hasattr(before, "__dataclass_fields__") and type(before) is type(after):
            changed += changed_settings(before, after, name + ".")
        elif before != after:
            changed.append(name)
    return changed
