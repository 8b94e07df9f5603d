"""`python -m tests.bench`: every benchmark in turn, each printing its figures.

`bench_throughput` comes last (the modules run in name order): its side-by-side summary of the
two throughput figures, landed form -> row beside the parse alone and the three-stage chain
beside raw watchdog close events, each as best and median of several runs, is followed by the
summary lines other benchmarks return (the backfill's, each beside its raw reference), so the
figures the throughput work is judged by close the output together.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import tests.bench


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    summaries: list[str] = []
    for module in sorted(pkgutil.iter_modules([str(Path(tests.bench.__file__).parent)]),
                         key=lambda info: info.name):
        if not module.name.startswith("bench_"):
            continue
        print(f"\n== {module.name} ==", flush=True)
        bench = importlib.import_module(f"tests.bench.{module.name}")
        sys.argv = [module.name] + (["--quick"] if quick else [])
        returned = bench.main()
        if isinstance(returned, list):
            summaries.extend(line for line in returned if isinstance(line, str))
    for line in summaries:
        print(line)


if __name__ == "__main__":
    main()
