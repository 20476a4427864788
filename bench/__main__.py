"""Run the benchmarks and write ``bench/results.json``.

Each module ``bench/bench_<name>.py`` exposes ``run(work_dir: Path) -> dict``; its result is stored under
``<name>``. Results are ratios against a reference run in the same process/machine wherever possible, so they
mean something across machines. ``python -m bench compare fetch`` runs only the named ones (and keeps the other
sections already in results.json).
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"


def main(argv: list[str]) -> int:
    names = sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py"))
    wanted = argv or names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(names)}", file=sys.stderr)
        return 2
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() and argv else {}
    results["machine"] = {"python": platform.python_version(), "platform": platform.platform()}
    for name in wanted:
        work = BENCH_DIR / "work" / name
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        module = importlib.import_module(f"bench.bench_{name}")
        results[name] = module.run(work)
        print(f"bench {name}: {time.perf_counter() - t0:.1f} s  {json.dumps(results[name])}")
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
