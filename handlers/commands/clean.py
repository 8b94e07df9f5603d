"""`idxd clean [--dry-run]`: the safe pre-clean of a root's generated outputs.

It empties `downloads/`, `data/`, `alerts/`, both alert buckets and `artifacts/`, and keeps
`state/`, `quarantine/` and `outbox/`. It never follows a symbolic link: a link is removed as a
link, so nothing outside the root is ever touched, and every path it removes is checked to lie
inside the root. It refuses while a daemon holds the root's lock, since the daemon would be
writing into what is being removed; `--dry-run` lists what would go and removes nothing, so it
works while the daemon runs.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

from daemon.cli_help import describe
from daemon.config import Settings
from daemon.errors import ExitCode
from daemon.lock import holder_pid
from daemon.rootcheck import require_existing
from daemon.stages import Command
from handlers import paths
from handlers.settings import PipelineSettings


class OutsideRoot(Exception):
    """A path to remove is not inside the root (never expected; checked all the same)."""


def planned(root: Path) -> Iterator[Path]:
    """Everything under the generated directories, children before their parents."""
    for directory in paths.GENERATED:
        top = root / directory
        if _is_link_or_file(top):
            yield top
        elif top.is_dir():
            yield from _walk(top)


def _walk(directory: Path) -> Iterator[Path]:
    with os.scandir(directory) as entries:
        children = sorted(entries, key=lambda entry: entry.name)
    for entry in children:
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(path)
        yield path


def _is_link_or_file(path: Path) -> bool:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return False
    return not stat.S_ISDIR(mode)


def check_inside(root: Path, path: Path) -> None:
    """`path`'s directory, with every link resolved, must be the root or below it."""
    real_root, real_parent = root.resolve(), path.parent.resolve()
    if real_parent != real_root and real_root not in real_parent.parents:
        raise OutsideRoot(f"{path} is not inside {real_root}")


def remove(root: Path, path: Path) -> None:
    check_inside(root, path)
    if stat.S_ISDIR(path.lstat().st_mode):
        path.rmdir()  # emptied already: children come first
    else:
        path.unlink()  # a file, or a link (never what it points to)


def clean(root: Path, *, dry_run: bool) -> list[Path]:
    root = Path(os.path.abspath(root))
    removed = []
    for path in list(planned(root)):
        if not dry_run:
            remove(root, path)
        removed.append(path)
    return removed


def configure(parser: argparse.ArgumentParser) -> None:
    describe(parser, "Empty the generated directories (downloads/, data/, alerts/, both alert "
             "buckets, artifacts/), keeping state/, quarantine/ and outbox/; links are removed "
             "as links. Refused while the daemon runs, except --dry-run, which only lists. "
             "Ageing out old files while the daemon runs is the [retention] job's work.",
             ["idxd clean --dry-run", "idxd clean"],
             {ExitCode.OK: "done (or listed)", ExitCode.BAD_CONFIG: "not an idxd root, or bad "
              "arguments", ExitCode.ALREADY_RUNNING: "the daemon runs (without --dry-run)"})
    parser.add_argument("--dry-run", action="store_true",
                        help="list what would be removed, remove nothing")


def run_command(args: argparse.Namespace, settings: Settings[PipelineSettings]) -> int:
    root = settings.engine.root
    require_existing(root)
    pid = holder_pid(root)
    if pid is not None and not args.dry_run:  # listing changes nothing: allowed meanwhile
        print(f"idxd clean: the daemon (pid {pid if pid > 0 else 'unknown'}) is running on "
              f"{root}; stop it first", file=sys.stderr)
        return ExitCode.ALREADY_RUNNING
    removed = clean(root, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for path in removed:
        print(f"{verb} {path.relative_to(Path(os.path.abspath(root))).as_posix()}")
    kept = ", ".join(directory.as_posix() for directory in paths.KEPT)
    print(f"{len(removed)} path(s) {verb}; kept {kept}")
    return ExitCode.OK


CLEAN_COMMAND = Command(name="clean", help="remove generated outputs (keeps state, quarantine, "
                        "outbox); refuses while the daemon runs", configure=configure,
                        run=run_command)
