"""Settings: one TOML file plus environment overrides, validated into frozen objects.

A setting is declared once, as a field of a frozen dataclass: `name: type = setting(default,
"ENV_NAME", …)` gives its type, default, bounds, environment names (the first one set wins over
the TOML key), whether it is a secret (environment only, never in a repr) and whether SIGHUP can
apply it. A class of settings names its TOML table in `TABLE`; a field whose type is another
such class nests it. `read_declared` reads a class from the document and the environment; a bad
value, an unknown key or table, or an unknown `IDXD_*` variable is one sentence (`ConfigError`).
The engine's own settings are `EngineSettings` (`[daemon]`); the application declares the rest.
"""

from __future__ import annotations

import difflib
import os
import tomllib
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import Field, dataclass, field, fields, is_dataclass, replace
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import (
    Any,
    ClassVar,
    Generic,
    TypeVar,
    Union,
    cast,
    get_args,
    get_origin,
    get_type_hints,
)

from daemon.apps import installed_app
from daemon.errors import ConfigError
from daemon.metrics import check_available as check_metrics_available

T = TypeVar("T")
AppSettingsT = TypeVar("AppSettingsT")
ENV_PREFIX = "IDXD_"  # every variable with this prefix must be a declared setting
CONFIG_ENV = "IDXD_CONFIG"
SPEC = "setting"  # the dataclass field metadata key of a declaration


@dataclass(frozen=True)
class Bound:
    """What a value must satisfy, and how an error sentence says so."""

    test: Callable[[Any], bool]
    expected: str


POSITIVE = Bound(lambda v: v > 0, "a number greater than 0")
AT_LEAST_ZERO = Bound(lambda v: v >= 0, "a number ≥ 0")


def whole(minimum: int = 0, maximum: int | None = None, unit: str = "") -> Bound:
    """A whole number within [minimum, maximum]."""
    span = f"from {minimum} to {maximum}" if maximum is not None else f"≥ {minimum}"
    return Bound(lambda v: minimum <= v and (maximum is None or v <= maximum),
                 f"a whole number{unit} {span}")


def one_of(*choices: str) -> Bound:
    return Bound(lambda v: v in choices, "one of " + ", ".join(choices))


@dataclass(frozen=True)
class Spec:
    """How one setting is read; see `setting`."""

    env: tuple[str, ...]
    key: str | None
    bound: Bound | None
    convert: Callable[[Any], Any] | None
    secret: bool
    live: bool
    default_from: Callable[[Any], Any] | None


def setting(default: T, *env: str, key: str | None = None, bound: Bound | None = None,
            convert: Callable[[Any], Any] | None = None, secret: bool = False,
            live: bool = True, shown: bool = True,
            default_from: Callable[[Any], Any] | None = None) -> T:
    """Declare a setting. `env` are its variables in order of preference; `key` its TOML key
    when not the field's name; `convert` replaces the conversion the field's type implies; a
    `secret` is read from the environment only and, like `shown=False`, kept out of reprs;
    `live=False` means SIGHUP cannot apply it; `default_from(settings)` computes the default
    from the other settings of the same class."""
    spec = Spec(env, key, bound, convert, secret, live, default_from)
    shown = shown and not secret
    if isinstance(default, dict):
        return cast(T, field(default_factory=lambda: dict(default), repr=shown,
                             metadata={SPEC: spec}))
    return field(default=default, repr=shown, metadata={SPEC: spec})


@dataclass(frozen=True)
class Declared:
    path: str  # dotted attribute path from the class declarations() started at
    table: str
    key: str
    spec: Spec


def declarations(cls: type, prefix: str = "") -> Iterator[Declared]:
    """Every setting of a class of settings, nested classes included."""
    for item, kind in _members(cls):
        spec = item.metadata.get(SPEC)
        if spec is not None:
            yield Declared(prefix + item.name, cls.TABLE, spec.key or item.name, spec)  # type: ignore[attr-defined]
        else:
            yield from declarations(kind, f"{prefix}{item.name}.")


@cache
def _members(cls: type) -> tuple[tuple[Field[Any], Any], ...]:
    hints = get_type_hints(cls)
    members = tuple((item, hints[item.name]) for item in fields(cls))
    for item, kind in members:
        if SPEC not in item.metadata and not is_dataclass(kind):
            raise TypeError(f"{cls.__name__}.{item.name} is neither a setting nor a class of "
                            "settings")
    return members


def read_declared(cls: type[T], document: Mapping[str, Any], env: Mapping[str, str]) -> T:
    """An instance of `cls`, each setting from the environment, else its table, else default."""
    name: str = getattr(cls, "TABLE", "")
    table = _table(document, name) if name else {}
    _check_keys(cast(type, cls), name, table)
    values: dict[str, Any] = {}
    derived: dict[str, Callable[[Any], Any]] = {}
    for item, kind in _members(cast(type, cls)):
        spec = item.metadata.get(SPEC)
        if spec is None:
            values[item.name] = read_declared(kind, document, env)
        elif (value := _read_one(item, kind, spec, name, table, env)) is not _UNSET:
            values[item.name] = value
        elif spec.default_from is not None:
            derived[item.name] = spec.default_from
    settings = cls(**values)
    if derived:  # defaults computed from the other settings, once those are known
        settings = replace(settings, **{key: get(settings) for key, get in derived.items()})  # type: ignore[type-var]
    return settings


_UNSET = object()


def _read_one(item: Field[Any], kind: Any, spec: Spec, table_name: str,
              table: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    raw, origin = _raw(spec, spec.key or item.name, table_name, table, env)
    if raw is None:
        return _UNSET
    kind = _kind(kind)
    expected = spec.bound.expected if spec.bound else f"a {getattr(kind, '__name__', kind)}"
    wrong = ConfigError(f"The setting {spec.key or item.name} (from {origin}) must be "
                        f"{expected}, got {_shown(raw, spec)}.")
    try:
        value = spec.convert(raw) if spec.convert else _convert(raw, kind)
    except (TypeError, ValueError, ArithmeticError):
        raise wrong from None
    if spec.bound is not None and not spec.bound.test(value):
        raise wrong
    return None if value == "" and item.default is None else value


def _shown(raw: Any, spec: Spec) -> str:
    """A bad value as an error may quote it: never a secret, nor a URL's credentials."""
    if spec.secret:
        return "(a value that is not shown)"
    text = repr(raw)
    # Whatever stands before the last "@" of a URL (after its scheme), or of a user:password@
    # form, is credentials, however odd: a password may hold "/", "@" or "%" that no URL
    # parser splits the way its owner meant.
    scheme = text.find("://")
    start, at = (scheme + 3 if scheme >= 0 else 1), text.rfind("@")
    if at > start and (scheme >= 0 or ":" in text[start:at]):
        return text[:start] + "***" + text[at:]
    return text


def _raw(spec: Spec, key: str, table_name: str, table: Mapping[str, Any],
         env: Mapping[str, str]) -> tuple[Any, str]:
    for name in spec.env:
        if (env.get(name) or "").strip():
            return env[name], f"environment variable {name}"
    if key in table:
        return table[key], f"[{table_name}] {key}"
    return None, ""


def _table(document: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    table = document.get(name, {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"The setting [{name}] must be a table, got {table!r}.")
    return table


def _check_keys(cls: type, table_name: str, table: Mapping[str, Any]) -> None:
    known = {(spec.key or item.name): spec for item, _ in _members(cls)
             if (spec := item.metadata.get(SPEC)) is not None}
    for key in table:
        spec = known.get(key)
        if spec is None:
            raise unknown(f"setting [{table_name}] {key}", key, known)
        if spec.secret:
            raise ConfigError(f"The setting [{table_name}] {key} must come from the environment "
                              f"variable {spec.env[0]}, not from the configuration file.")


def check_names(document: Mapping[str, Any], env: Mapping[str, str],
                classes: Iterable[type]) -> None:
    """Every table of the document and every `IDXD_*` variable must be declared somewhere."""
    declared = [item for cls in classes if is_dataclass(cls) for item in declarations(cls)]
    tables = {item.table for item in declared}
    for name in document:
        if name not in tables:
            raise unknown(f"table [{name}]", name, tables, "[{}]")
    names = {CONFIG_ENV} | {name for item in declared for name in item.spec.env
                            if name.startswith(ENV_PREFIX)}
    for name in env:
        if name.startswith(ENV_PREFIX) and name not in names:
            # Compared without the prefix, which every candidate shares.
            raise unknown(f"environment variable {name}", name.removeprefix(ENV_PREFIX),
                          {known.removeprefix(ENV_PREFIX) for known in names},
                          ENV_PREFIX + "{}")


def unknown(what: str, name: str, known: Iterable[str], shape: str = "{}") -> ConfigError:
    """`unknown <what>; did you mean <nearest>?`, one sentence."""
    nearest = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f"; did you mean {shape.format(nearest[0])}?" if nearest else "."
    return ConfigError(f"unknown {what}{hint}")


def _kind(hint: Any) -> Any:
    """The class a value is converted to: `str | None` is str, `tuple[str, ...]` is tuple."""
    if get_origin(hint) in (Union, types.UnionType):
        hint = next(arg for arg in get_args(hint) if arg is not type(None))
    return get_origin(hint) or hint


def _convert(raw: Any, kind: Any) -> Any:
    if kind is bool:
        return _to_bool(raw)
    if kind in (int, float, Decimal) and isinstance(raw, bool):
        raise ValueError(raw)
    if kind is int:
        if isinstance(raw, float) and not raw.is_integer():
            raise ValueError(raw)
        return int(raw)
    if kind in (float, Decimal):
        number = float(raw)
        return Decimal(str(number)) if kind is Decimal else number
    if kind is tuple:
        return to_tuple(raw)
    if kind in (str, Path):
        return kind(str(raw))
    return raw


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def to_tuple(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if isinstance(raw, list | tuple):
        return tuple(str(part) for part in raw)
    raise ValueError(raw)


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
