"""The literature's reproductions (issue 14): each full run of examples/experiments/ in <= 10 minutes on 2 cores.

    python bench/bench_experiments.py [--only NAME ...]

Runs each script's full reproduction (not `--quick`) in a fresh interpreter,
writing into a temporary folder, and prints its wall time against the target.
The scripts share trained weights through examples/experiments/.cache/, so the
first of them to need ResNet-56 (degradation) trains it and the others reuse
it: run them in the listed order, or delete the cache to time each from cold.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "experiments"
NAMES = ("degradation", "lesion", "reorder", "effective_paths")
TARGET_S = 600


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=NAMES, default=NAMES)
    args = parser.parse_args(argv)
    rows, failed = [], False
    with tempfile.TemporaryDirectory() as out:
        for name in args.only:
            started = time.perf_counter()
            run = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--out", out],
                                 cwd=ROOT, capture_output=True, text=True)
            wall = time.perf_counter() - started
            if run.returncode != 0:
                print(run.stderr, file=sys.stderr)
                rows.append((name, wall, None, "failed"))
                failed = True
                continue
            seconds = json.loads((Path(out) / f"{name}.json").read_text())["seconds"]
            rows.append((name, wall, seconds, "met" if wall <= TARGET_S else "**not met**"))
    print("| reproduction | wall (s) | script's own time (s) | target | outcome |")
    print("|---|--:|--:|---|---|")
    for name, wall, seconds, outcome in rows:
        own = f"{seconds:.1f}" if seconds is not None else ""
        print(f"| {name} | {wall:.1f} | {own} | <= {TARGET_S} s | {outcome} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
