"""What a SIGHUP may change: the new settings, split into what applies live and what waits
for a restart (the root, the observer, the pool size…), which keeps its old value until then.
Which is which comes from the settings' declarations (`setting(..., live=False)`).
"""

from __future__ import annotations

from dataclasses import dataclass, is_dataclass, replace
from typing import Any

from daemon.config import Settings, changed_settings
from daemon.declare import declarations


@dataclass(frozen=True)
class ReloadPlan:
    settings: Settings[Any]  # the new settings, restart-only values kept as they were
    applied: list[str]
    needs_restart: list[str]


def plan_reload(current: Settings[Any], new: Settings[Any]) -> ReloadPlan:
    changed = changed_settings(current, new)
    frozen = restart_only(current)
    restart = [name for name in changed if name in frozen]
    settings = new
    for name in restart:
        settings = _with(settings, name.split("."), _get(current, name.split(".")))
    return ReloadPlan(settings, [name for name in changed if name not in restart], restart)


def restart_only(settings: Settings[Any]) -> frozenset[str]:
    """Dotted names (`engine.workers`, `app.http.proxy`) of the settings SIGHUP cannot apply."""
    parts = {"engine": type(settings.engine), "app": type(settings.app)}
    return frozenset(f"{part}.{item.path}" for part, cls in parts.items() if is_dataclass(cls)
                     for item in declarations(cls) if not item.spec.live)


def _get(value: Any, path: list[str]) -> Any:
    for name in path:
        value = getattr(value, name)
    return value


def _with(value: Any, path: list[str], new: Any) -> Any:
    head, *rest = path
    return replace(value, **{head: _with(getattr(value, head), rest, new) if rest else new})
