"""Core speed: `archdsl info` wall time, and linear growth with the number of layers.

    python bench/bench_core.py

Targets (issue 2): `archdsl info specs/resnet152.arch` < 0.5 s wall on the
2-core machine; `cifar/resnet1202` < 1 s; 10x the layers costs < 12x the time.
"""
from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def wall(cmd: list[str], repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def in_process(depth: int, repeat: int = 5) -> float:
    """load + counts + the full info table, without interpreter start-up."""
    from archdsl.cli import main

    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        with redirect_stdout(io.StringIO()):
            main(["info", "specs/cifar/resnet20.arch", "-p", f"depth={depth}"])
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    os.chdir(ROOT)
    exe = [sys.executable, "-m", "archdsl.cli", "info"]
    rows = [
        ("info specs/resnet152.arch (wall)", wall(exe + ["specs/resnet152.arch"]), 0.5),
        ("info specs/cifar/resnet1202.arch (wall)", wall(exe + ["specs/cifar/resnet1202.arch"]), 1.0),
    ]
    small, large = 110, 1082  # 54 and 540 residual blocks: 10x the layers
    in_process(small)  # warm the grammar cache and imports
    t_small, t_large = in_process(small), in_process(large)
    print(f"{'measurement':44} {'seconds':>9} {'target':>8}  ok")
    for name, secs, target in rows:
        print(f"{name:44} {secs:9.3f} {target:8.2f}  {'yes' if secs < target else 'NO'}")
    print(f"{'info, 54 blocks (in-process)':44} {t_small:9.4f}")
    print(f"{'info, 540 blocks (in-process)':44} {t_large:9.4f}")
    ratio = t_large / t_small
    print(f"{'10x layers / 1x layers':44} {ratio:9.2f} {12:8.2f}  {'yes' if ratio < 12 else 'NO'}")


if __name__ == "__main__":
    main()
