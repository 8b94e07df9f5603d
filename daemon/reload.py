"""What a SIGHUP may change: the new settings, split into what applies live and what waits
for a restart (the root, the observer, the pool size…), which keeps its old value until then.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, replace
from typing import Any

from daemon.config import EngineSettings, Settings, changed_settings


@dataclass(frozen=True)
class ReloadPlan:
    settings: Settings[Any]  # the new settings, restart-only values kept as they were
    applied: list[str]
    needs_restart: list[str]


def plan_reload(current: Settings[Any], new: Settings[Any],
                app_restart_only: Set[str]) -> ReloadPlan:
    changed = changed_settings(current, new)
    restart = [name for name in changed if _restart_only(name, app_restart_only)]
    kept = {name.removeprefix("engine."): getattr(current.engine, name.removeprefix("engine."))
            for name in restart if name.startswith("engine.")}
    settings = replace(new, engine=replace(new.engine, **kept))
    return ReloadPlan(settings, [name for name in changed if name not in restart], restart)


def _restart_only(name: str, app_restart_only: Set[str]) -> bool:
    if name.startswith("engine."):
        return name.removeprefix("engine.") in EngineSettings.RESTART_ONLY
    return name.removeprefix("app.") in app_restart_only
