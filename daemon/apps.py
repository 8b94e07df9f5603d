"""Which application this installation runs, when the settings name none: the one package
that registers itself under the `daemon.apps` entry-point group (`module:attribute`). The
engine ships no application of its own, so it never names one.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

GROUP = "daemon.apps"


@cache
def installed_app() -> str:
    """The reference of the one installed application; "" when there is none or several,
    which loading the settings reports unless `[daemon] app` or IDXD_APP names one."""
    found = {entry.value for entry in entry_points(group=GROUP)}
    return found.pop() if len(found) == 1 else ""
