"""Is the root usable by this command? One sentence when it is not, before anything runs.

Commands that only read a root (`status`, `trace`, `replay`, `clean`, …) need one the daemon
has already worked in: a mistyped `--root` must be said, not shown as an idle daemon with zero
files. Commands that create what they need (`run`, `once`, `check-config`) need a directory
they can write to, or a place where one can be made; that is probed with a real file, so a
read-only mount or a root owned by another user is found whoever runs the command.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from daemon.errors import ConfigError
from daemon.guard import ROOT_FILE
from daemon.ledger import LEDGER_NAME

FIX = "check --root (or [daemon] root, IDXD_ROOT)"


def require_existing(root: Path) -> None:
    """The root is a directory holding a ledger or the root's identity file."""
    _refuse_non_directory(root)
    if not root.exists():
        raise ConfigError(f"The root {root} does not exist; {FIX}.")
    if not (root / LEDGER_NAME).exists() and not (root / ROOT_FILE).exists():
        raise ConfigError(f"The root {root} is not an idxd root (it has no {LEDGER_NAME}: the "
                          f"daemon never ran there); {FIX}.")


def require_writable(root: Path) -> None:
    """The root is (or can become) a directory this process can create files in."""
    _refuse_non_directory(root)
    existing = root
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    _refuse_non_directory(existing, root)
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".idxd-probe-"):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        where = "" if existing == root else f" (its parent {existing} cannot hold it)"
        raise ConfigError(f"The root {root} is not writable by this user{where}: {reason}; "
                          f"{FIX}, or run as the user that owns it.") from None


def _refuse_non_directory(path: Path, root: Path | None = None) -> None:
    if path.exists() and not path.is_dir():
        named = "" if root is None or root == path else f" (for the root {root})"
        raise ConfigError(f"The root path {path}{named} is a file, not a directory; {FIX}.")
