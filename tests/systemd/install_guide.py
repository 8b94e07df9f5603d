"""The README's "Install on a server" steps, as the install test runs them.

`guide_blocks` reads each shell block marked `<!-- install-test: NAME -->` from the README, so
the test runs the very text an operator reads. `next_release` makes the wheel an upgrade
installs: the built wheel with its version raised (same code, a higher version, its RECORD
hashes recomputed), so upgrading and rolling back move between two real, installable releases
without building twice. `wheelhouse` holds the dependencies for a server without PyPI, made as
the README says and kept beside the virtual environment between runs.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MARK = re.compile(r"<!-- install-test: ([a-z-]+) -->\n```sh\n(.*?)```", re.S)


def guide_blocks(readme: Path = REPO / "README.md") -> dict[str, str]:
    section = readme.read_text(encoding="utf-8").split("## Install on a server", 1)[1]
    section = section.split("\n## ", 1)[0]
    return {name: body for name, body in MARK.findall(section)}


def wheel_version(wheel: Path) -> str:
    return wheel.name.split("-")[1]


def next_release(dist: Path, target: Path) -> Path:
    """A copy of `dist/` whose wheel carries the next patch version."""
    shutil.copytree(dist, target)
    [wheel] = target.glob("idxd-*-py3-none-any.whl")
    old = wheel_version(wheel)
    parts = old.split(".")
    new = ".".join([*parts[:-1], str(int(parts[-1]) + 1)])
    relabelled = wheel.with_name(wheel.name.replace(f"-{old}-", f"-{new}-"))
    _relabel(wheel, relabelled, old, new)
    wheel.unlink()
    return relabelled


def _relabel(source: Path, target: Path, old: str, new: str) -> None:
    old_info, new_info = f"idxd-{old}.dist-info/", f"idxd-{new}.dist-info/"
    with zipfile.ZipFile(source) as zin:
        files = {name.replace(old_info, new_info): zin.read(name) for name in zin.namelist()}
    metadata = new_info + "METADATA"
    files[metadata] = files[metadata].replace(f"\nVersion: {old}\n".encode(),
                                              f"\nVersion: {new}\n".encode())
    record = new_info + "RECORD"
    lines = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files.items()
             if name != record]
    files[record] = ("\n".join([*lines, f"{record},,"]) + "\n").encode()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in files.items():
            zout.writestr(name, data)


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheelhouse(wheel: Path) -> Path:
    """The wheel's dependencies as wheels (README step 1, for a server without PyPI)."""
    pyproject = (REPO / "pyproject.toml").read_bytes()
    house = REPO / ".venv" / f"wheelhouse-{hashlib.sha256(pyproject).hexdigest()[:12]}"
    if not (house / ".complete").exists():
        shutil.rmtree(house, ignore_errors=True)
        subprocess.run([str(REPO / ".venv" / "bin" / "pip"), "wheel", "--quiet", "-w",
                        str(house), str(wheel)], check=True, capture_output=True, timeout=300)
        (house / ".complete").touch()
    for built in house.glob("idxd-*.whl"):  # the program itself comes from dist/
        built.unlink()
    return house
