"""Settings: one TOML file plus environment overrides, validated into frozen objects.

The engine reads the `[daemon]` table (overridden by `IDXD_*` variables); the application
reads the rest through its own `load_settings`. `SettingsReader` is the small toolkit both
use, so every bad value is reported the same way: one sentence naming the value, where it came
from, and what was expected. Secrets come from the environment only.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from daemon.apps import installed_app
from daemon.errors import ConfigError
from daemon.metrics import check_available as check_metrics_available

T = TypeVar("T")
Number = TypeVar("Number", int, float)
OBSERVERS = ("auto", "inotify", "polling")
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("auto", "json", "console")


class SettingsReader:
    """Reads typed values from a TOML table, letting an environment variable win."""

    def __init__(self, table: Mapping[str, Any], env: Mapping[str, str], section: str):
        self.table, self.env, self.section = table, env, section

    def get(
        self,
        key: str,
        default: T,
        env_name: str | None = None,
        *,
        check: Callable[[T], bool] | None = None,
        expected: str = "",
    ) -> T:
        raw, origin = self._raw(key, env_name)
        if raw is None:
            return default
        value = _convert(raw, type(default), self._describe(key, origin), expected)
        if check is not None and not check(value):
            raise ConfigError(f"{self._describe(key, origin)} must be {expected}, got {raw!r}.")
        return value

    def whole(self, key: str, default: int, env_name: str | None = None, *, minimum: int = 0,
              maximum: int | None = None, unit: str = "") -> int:
        """A whole number within [minimum, maximum]."""
        expected = f"a whole number{unit} " + (f"from {minimum} to {maximum}" if maximum
                                               is not None else f"≥ {minimum}")
        return self.get(key, default, env_name, expected=expected,
                        check=lambda v: minimum <= v and (maximum is None or v <= maximum))

    def positive(self, key: str, default: Number, env_name: str | None = None) -> Number:
        return self.get(key, default, env_name, check=lambda v: v > 0,
                        expected="a number greater than 0")

    def at_least_zero(self, key: str, default: Number, env_name: str | None = None) -> Number:
        return self.get(key, default, env_name, check=lambda v: v >= 0, expected="a number ≥ 0")

    def optional_str(self, key: str, env_name: str | None = None) -> str | None:
        raw, _ = self._raw(key, env_name)
        return None if raw in (None, "") else str(raw)

    def choice(
        self, key: str, default: str, choices: tuple[str, ...], env_name: str | None = None
    ) -> str:
        value = self.get(
            key,
            default,
            env_name,
            check=lambda v: v in choices,
            expected="one of " + ", ".join(choices),
        )
        return value

    def _raw(self, key: str, env_name: str | None) -> tuple[Any, str]:
        if env_name and self.env.get(env_name, "") != "":
            return self.env[env_name], f"environment variable {env_name}"
        if key in self.table:
            return self.table[key], f"[{self.section}] {key}"
        return None, ""

    @staticmethod
    def _describe(key: str, origin: str) -> str:
        return f"The setting {key} (from {origin})"


def _convert(raw: Any, kind: type, described: str, expected: str) -> Any:
    try:
        if kind is bool:
            return _to_bool(raw)
        if kind is int and not isinstance(raw, bool):
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError
            return int(raw)
        if kind is float and not isinstance(raw, bool):
            return float(raw)
        if kind is str:
            return str(raw)
        if kind in (tuple, list):
            return _to_tuple(raw)
    except (TypeError, ValueError):
        pass
    else:
        if kind not in (int, float, bool, str, tuple, list):
            return raw
    wanted = expected or f"a {kind.__name__}"
    raise ConfigError(f"{described} must be {wanted}, got {raw!r}.")


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def _to_tuple(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if isinstance(raw, list | tuple):
        return tuple(str(part) for part in raw)
    raise ValueError(raw)


@dataclass(frozen=True)
class EngineSettings:
    root: Path = Path("./var")
    app: str = field(default_factory=installed_app)
    settle_ms: int = 500
    rescan_s: float = 60.0
    workers: int = 4
    drain_timeout_s: float = 30.0
    observer: str = "auto"
    poll_interval_s: float = 1.0
    retry_attempts: int = 5
    retry_initial_s: float = 1.0
    retry_max_s: float = 30.0
    failed_retry_s: float = 300.0
    durable_writes: bool = True
    log_level: str = "info"
    log_format: str = "auto"
    metrics_port: int = 0  # Prometheus on 127.0.0.1; 0 = off
    stage_concurrency: Mapping[str, int] = field(default_factory=dict)

    # Settings that only take effect at start; SIGHUP logs them instead of applying them.
    RESTART_ONLY = frozenset({"root", "app", "workers", "observer", "poll_interval_s",
                              "metrics_port"})


@dataclass(frozen=True)
class Settings:
    engine: EngineSettings
    app: Any
    config_path: Path | None = None

    @property
    def root(self) -> Path:
        return self.engine.root


def read_engine_settings(table: Mapping[str, Any], env: Mapping[str, str]) -> EngineSettings:
    reader = SettingsReader(table, env, "daemon")
    base = EngineSettings()
    settings = EngineSettings(
        root=Path(reader.get("root", str(base.root), "IDXD_ROOT")),
        app=reader.get("app", base.app, "IDXD_APP"),
        settle_ms=reader.whole("settle_ms", base.settle_ms, "IDXD_SETTLE_MS",
                               unit=" of milliseconds"),
        rescan_s=reader.positive("rescan_s", base.rescan_s, "IDXD_RESCAN_S"),
        workers=reader.whole("workers", base.workers, "IDXD_WORKERS", minimum=1, maximum=256),
        drain_timeout_s=reader.positive(
            "drain_timeout_s", base.drain_timeout_s, "IDXD_DRAIN_TIMEOUT_S"
        ),
        observer=reader.choice("observer", base.observer, OBSERVERS, "IDXD_OBSERVER"),
        poll_interval_s=reader.positive(
            "poll_interval_s", base.poll_interval_s, "IDXD_POLL_INTERVAL_S"
        ),
        retry_attempts=reader.whole("retry_attempts", base.retry_attempts,
                                    "IDXD_RETRY_ATTEMPTS", minimum=1),
        retry_initial_s=reader.positive(
            "retry_initial_s", base.retry_initial_s, "IDXD_RETRY_INITIAL_S"
        ),
        retry_max_s=reader.positive("retry_max_s", base.retry_max_s, "IDXD_RETRY_MAX_S"),
        failed_retry_s=reader.positive(
            "failed_retry_s", base.failed_retry_s, "IDXD_FAILED_RETRY_S"
        ),
        durable_writes=reader.get("durable_writes", base.durable_writes, "IDXD_DURABLE_WRITES"),
        log_level=reader.choice("log_level", base.log_level, LOG_LEVELS, "IDXD_LOG_LEVEL"),
        log_format=reader.choice("log_format", base.log_format, LOG_FORMATS, "IDXD_LOG_FORMAT"),
        metrics_port=reader.get("metrics_port", base.metrics_port, "IDXD_METRICS_PORT",
                                check=lambda v: 0 <= v <= 65535,
                                expected="a port number from 1 to 65535, or 0 for off"),
        stage_concurrency=_read_concurrency(table.get("stage_concurrency", {})),
    )
    check_metrics_available(settings.metrics_port)
    return settings


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
    chosen = cli_value or env.get("IDXD_CONFIG") or None
    return Path(chosen) if chosen else None


def load_settings(
    config_path: Path | None, env: Mapping[str, str] | None = None, root_override: str | None = None
) -> Settings:
    """Read, override and validate every setting; raise ConfigError with one sentence."""
    from daemon.stages import load_app

    env = dict(os.environ if env is None else env)
    document = read_toml(config_path)
    engine = read_engine_settings(document.get("daemon", {}), env)
    if root_override:
        engine = replace(engine, root=Path(root_override))
    try:
        app = load_app(engine.app)
    except (ImportError, AttributeError, TypeError, ValueError) as error:
        raise ConfigError(
            f"The setting app = {engine.app!r} does not name an application: {error}."
        ) from None
    app_settings = app.load_settings(document, env)
    _check_stage_names(engine, {stage.name for stage in app.stages})
    return Settings(engine=engine, app=app_settings, config_path=config_path)


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
