"""Declared settings: each a field of a frozen dataclass, read from a TOML table and the
environment into a typed, bounded value.

`name: type = setting(default, "ENV_NAME", …)` gives a setting its type, default, bounds,
environment names (the first one set wins over the TOML key), whether it is a secret
(environment only, never in a repr) and whether SIGHUP can apply it. A class of settings names
its TOML table in `TABLE`; a field whose type is another such class nests it. `read_declared`
reads a class from the document and the environment; a bad value, an unknown key or table, or
an unknown `IDXD_*` variable is one sentence (`ConfigError`). `daemon.config` uses it for the
engine's settings; the application declares the rest with it.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import Field, dataclass, field, fields, is_dataclass, replace
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, TypeVar, Union, cast, get_args, get_origin, get_type_hints

from daemon.errors import ConfigError

T = TypeVar("T")
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
