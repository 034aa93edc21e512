"""Speed of `archdsl paths` and `archdsl render` (issue 7).

    python bench/bench_paths_render.py

Targets: `archdsl paths` for ResNet-1001 (2^333 paths) and DenseNet-264 under
0.2 s each after parsing (the path statistics plus the text and JSON output,
on an already loaded spec); `archdsl render --level block` of ResNet-152 under
2 s (wall, interpreter start and graphviz included).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Used only where specs/cifar/preact_resnet1001.arch is missing: 3 stages of 111 pre-activation bottlenecks.
RESNET1001_FALLBACK = """
arch preact_resnet1001_inline
input 3x32x32
block preact_bottleneck(planes, stride=1) {
  residual(shortcut=auto, after=none) {
    bn relu conv(planes, 1, bias=false)
    bn relu conv(planes, 3, stride=stride, padding=1, bias=false)
    bn relu conv(planes * 4, 1, bias=false)
  }
}
network {
  conv(16, 3, padding=1, bias=false)
  stage { preact_bottleneck(16) x 111 }
  stage(stride=2) { preact_bottleneck(32) x 111 }
  stage(stride=2) { preact_bottleneck(64) x 111 }
  bn relu gap flatten linear(10)
}
"""


def load(spec: str):
    import archdsl

    if spec.endswith("preact_resnet1001.arch") and not (ROOT / spec).exists():
        return archdsl.loads(RESNET1001_FALLBACK)
    return archdsl.load(ROOT / spec)


def paths_after_parsing(spec: str, repeat: int = 7) -> tuple[float, object]:
    """Median seconds of what `archdsl paths` does once the spec is loaded: statistics, text and JSON."""
    from archdsl.passes.paths import path_stats
    from archdsl.report.paths_text import stats_text

    arch = load(spec)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        stats = path_stats(arch.graph)
        stats_text(arch.name, stats, "modules", (19, 35))
        json.dumps(stats.to_dict((19, 35)))
        times.append(time.perf_counter() - start)
    return statistics.median(times), stats


def wall(args: list[str], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "archdsl.cli", *args], cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    os.chdir(ROOT)
    out = Path("/tmp") / f"archdsl_bench_{os.getpid()}"
    out.mkdir(exist_ok=True)
    rows = []
    for spec in ("specs/cifar/preact_resnet1001.arch", "specs/densenet264.arch"):
        secs, stats = paths_after_parsing(spec)
        rows.append((f"paths {Path(spec).stem} (2^{stats.total.bit_length() - 1} paths), after parsing", secs, 0.2))
    for spec in ("specs/cifar/preact_resnet1001.arch", "specs/densenet264.arch"):
        if (ROOT / spec).exists():
            rows.append((f"archdsl paths {Path(spec).stem} (wall)", wall(["paths", spec]), None))
    render = ["render", "specs/resnet152.arch", "--level", "block"]
    rows.append(("render resnet152 --level block -o .svg (wall)", wall(render + ["-o", str(out / "r.svg")]), 2.0))
    rows.append(("render resnet152 --level block -o .png (wall)", wall(render + ["-o", str(out / "r.png")]), 2.0))
    rows.append(("render resnet152 --level block --expand -o .svg (wall)", wall(render + ["--expand", "-o", str(out / "x.svg")]), None))
    rows.append(("render resnet152 --level stage -o .svg (wall)", wall(["render", "specs/resnet152.arch", "--level", "stage", "-o", str(out / "s.svg")]), None))
    rows.append(("render densenet121 --level block -o .svg (wall)", wall(["render", "specs/densenet121.arch", "-o", str(out / "d.svg")]), None))
    print(f"{'measurement':58} {'seconds':>8} {'target':>7}  ok")
    for name, secs, target in rows:
        ok = "" if target is None else ("yes" if secs < target else "NO")
        print(f"{name:58} {secs:8.3f} {'' if target is None else f'{target:.1f}':>7}  {ok}")


if __name__ == "__main__":
    main()
