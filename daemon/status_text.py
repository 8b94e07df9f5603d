"""`idxd status` as a person reads it: the health first, then the queues, facts and disk use.

Facts the engine does not know (an application's, e.g. a backfill's progress) are rendered
generically: their time and age when they carry an "at", then `key=value` for the rest;
values under a key ending in `_bytes` are shown as sizes.
"""

from __future__ import annotations

import json
from typing import Any

HIDDEN_KEYS = frozenset({"at", "age_s", "problem"})


def format_status(status: dict[str, Any]) -> str:
    daemon = status["daemon"]
    lines = [f"root: {status['root']}",
             "daemon: " + (f"running (pid {daemon['pid']})" if daemon["running"] else "stopped"),
             "health: " + health_line(status["health"]),
             "", f"{'stage':<12}{'queued':>8}{'running':>9}{'done':>8}{'failed':>8}"
             f"{'quarantined':>13}"]
    for name, row in status["stages"].items():
        lines.append(f"{name:<12}{row['queued']:>8}{row['running']:>9}{row['done']:>8}"
                     f"{row['failed']:>8}{row['quarantined']:>13}")
    age = status["oldest_pending_age_s"]
    files = status["files"]
    lines += ["", f"oldest pending: {'none' if age is None else duration(age)}",
              f"files: {files['failed']} failed, {files['quarantined']} quarantined "
              f"({files['crashed']} crashed the process), {status['quarantine_files']} in "
              "quarantine/"]
    lines += [format_fact(name, fact) for name, fact in status.get("app", {}).items()]
    lines += [f"{key.removeprefix('app.')}: {json.dumps(value, default=str)}"
              for key, value in sorted(status["state"].items())]
    lines.append("disk: " + ", ".join(f"{area} {size(used)}"
                                      for area, used in status["disk"].items()))
    return "\n".join(lines)


def health_line(health: dict[str, Any]) -> str:
    return "ok" if health["ok"] else "degraded: " + "; ".join(health["problems"])


def format_fact(name: str, fact: dict[str, Any]) -> str:
    details = " ".join(f"{key}={_value(key, value)}" for key, value in fact.items()
                       if key not in HIDDEN_KEYS and value is not None)
    if "at" in fact:
        when = "never" if fact["at"] is None else str(fact["at"])
        age = fact.get("age_s")
        head = when + (f" ({duration(age)} ago)" if isinstance(age, int | float) else "")
        text = f"{name.replace('_', ' ')}: {head}" + (f"  {details}" if details else "")
    else:
        text = f"{name.replace('_', ' ')}: {details or '-'}"
    return text  # a problem is said once, on the health line


def _value(key: str, value: Any) -> str:
    return size(value) if key.endswith("_bytes") and isinstance(value, int) else str(value)


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h" if seconds < 172800 else f"{seconds / 86400:.1f} d"


def size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
