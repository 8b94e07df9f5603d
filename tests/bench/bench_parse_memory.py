"""Benchmark: peak memory of a real `idxd run`'s process tree while it parses a flate bomb.

Run by hand: `.venv/bin/python -m tests.bench.bench_parse_memory [--quick]`. A 1.5 MB PDF whose
content stream inflates to 1.5 GB is dropped into the parse inbox of a real `python -m daemon`
(every setting at its default but the test root); the tree (the daemon and its parse
children) is sampled from `/proc` until the bomb is quarantined. It prints the sampled peak of
the tree's resident memory and a bound that sampling cannot miss: the daemon's own high-water
mark, plus each child's, the dead bomb child's taken from its exact `wait4` figure in the log.
Goal: at most 512 MB, then quarantined as `resource_limit`. With `--limit-mb` another cap is
measured beside the default (`--quick` skips that comparison).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from handlers.settings import ParseSettings
from tests.conftest import FIXTURES
from tests.e2e.daemon import DaemonProcess, pipeline_config
from tests.parse.bomb import write_flate_bomb
from tests.pdfform import build_form_pdf, example_forms
from tests.support import wait_for

GOAL_MB = 512
SAMPLE_S = 0.005  # /proc is cheap to read; the bomb child lives about half a second
KIB = 1024


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants alive now."""
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):  # the task ended meanwhile
                stack += [int(child) for child in (task / "children").read_text().split()]
    return found


def status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0  # gone meanwhile, or a zombie (its memory already released)


class TreeSampler:
    """The largest sum of resident memory seen over the tree, and each process's own peak."""

    def __init__(self, root_pid: int):
        self.root_pid = root_pid
        self.peak_sum_kib = 0
        self.peaks_kib: dict[int, int] = {}

    def sample(self) -> None:
        pids = tree(self.root_pid)
        self.peak_sum_kib = max(self.peak_sum_kib, sum(status_kib(p, "VmRSS") for p in pids))
        for pid in pids:
            self.peaks_kib[pid] = max(self.peaks_kib.get(pid, 0), status_kib(pid, "VmHWM"))


def drop(source: Path, inbox: Path) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, inbox / f".{source.name}.tmp")
    (inbox / f".{source.name}.tmp").replace(inbox / source.name)


def warm_up(work: Path, root: Path, forms: int = 8) -> None:
    """A burst of forms first, so the pool's children are up as in a working daemon."""
    example = example_forms(FIXTURES / "parsed_examples.json")["SRTG.JK"]
    for index in range(forms):
        form = build_form_pdf(example, work / "forms" / f"LK-warm-{index}.pdf")
        drop(form, root / "downloads" / "idx-format")
    parsed = root / "data" / "parsed"
    wait_for(lambda: len(list(parsed.glob("LK-warm-*.json"))) == forms, 60, "the forms")


def measure(bomb: Path, work: Path, limit_mb: int) -> tuple[float, float, dict[str, Any]]:
    """(sampled peak MB, bound MB, the bomb child's death from the log) under `limit_mb`."""
    root = work / f"root-{limit_mb}"
    config = pipeline_config(work / f"idxd-{limit_mb}.toml", root, None,
                             parse={"memory_limit_mb": limit_mb})
    daemon = DaemonProcess(config, work / f"daemon-{limit_mb}.log")
    try:
        daemon.wait_started()
        warm_up(work, root)
        sampler = TreeSampler(daemon.process.pid)
        quarantined = root / "quarantine" / "parse" / f"{bomb.name}.error.json"
        drop(bomb, root / "downloads" / "idx-format")
        deadline = time.monotonic() + 120
        while not quarantined.exists() and time.monotonic() < deadline:
            sampler.sample()
            time.sleep(SAMPLE_S)  # a sampling period, not a wait for an outcome
        sampler.sample()
        death = next(e for e in daemon.events() if e.get("event") == "parse.child_died")
        death["children"] = len(sampler.peaks_kib) - 1
        assert daemon.stop() == 0
    finally:
        daemon.close()
    bound_kib = sampler.peaks_kib.pop(daemon.process.pid, 0) + sum(
        peak for pid, peak in sampler.peaks_kib.items() if pid != death["pid"])
    bound_mb = bound_kib / KIB + float(death["peak_rss_mb"])
    return sampler.peak_sum_kib / KIB, bound_mb, death


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the default cap only")
    parser.add_argument("--limit-mb", type=int, default=1024, help="a cap to compare with")
    args = parser.parse_args(argv)
    default_mb = ParseSettings().memory_limit_mb
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bomb = write_flate_bomb(work / "LK-bomb.pdf")
        print(f"flate bomb: {bomb.stat().st_size / 1e6:.2f} MB inflating to 1.5 GB")
        ok = True
        for limit_mb in [default_mb] + ([] if args.quick else [args.limit_mb]):
            sampled, bound, death = measure(bomb, work, limit_mb)
            print(f"memory_limit_mb={limit_mb}: process tree peak {sampled:6.0f} MB sampled, "
                  f"{bound:6.0f} MB bound ({death['children']} children; bomb child "
                  f"{death['peak_rss_mb']} MB, "
                  f"{death['signal']}, limit={death['limit']}); quarantined as resource_limit")
            ok = ok and (limit_mb != default_mb or bound <= GOAL_MB)
        print(f"goal: <= {GOAL_MB} MB with the default cap ({default_mb} MiB): "
              f"{'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
