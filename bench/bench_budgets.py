"""Budgets (issue 15): every probe is refused in < 1 s and < 200 MB, or finishes within its target.

    python bench/bench_budgets.py

Each probe runs in a fresh interpreter (`archdsl.loads`, then params, MACs,
paths and summary, as the fuzz harness does); the table gives its wall time,
peak memory (max RSS of the child) and what happened. Then the speed targets:
elaboration rate, and info/paths/summary of 100,000-node nets (< 5 s).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAD = "arch t\ninput 3x8x8\n"


def probes() -> dict[str, tuple[str, str]]:
    """name -> (format, spec text)"""
    nested_blocks = "".join(f"block b{i}() {{ b{i + 1} }}\n" for i in range(2000)) + "block b2000() { relu }\n"
    doubling = 'let s0 = "ab"\n' + "".join(f"let s{i + 1} = s{i} + s{i}\n" for i in range(30))
    bomb = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    bomb += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return {
        "300 nested { }": ("arch", HEAD + "network {" + "{ " * 300 + "relu" + " }" * 300 + "}\n"),
        "300 nested residuals": ("arch", HEAD + "network {" + "residual { " * 300 + "relu" + " }" * 300 + "}\n"),
        "chain of 2,000 block calls": ("arch", HEAD + nested_blocks + "network { b0 }\n"),
        "3,000 nested parentheses": ("arch", HEAD + "let a = " + "(" * 3000 + "1" + ")" * 3000 + "\nnetwork { relu }\n"),
        "3,000 nested lists": ("arch", HEAD + "let a = " + "[" * 3000 + "1" + "]" * 3000 + "\nnetwork { relu }\n"),
        "1 + 1 + ... 1,200 terms": ("arch", HEAD + "let a = " + " + ".join(["1"] * 1200) + "\nnetwork { relu }\n"),
        "1,000 else ifs": ("arch", HEAD + "network { if false { relu } " + "else if false { relu } " * 1000 + "}\n"),
        "2,000 nots": ("arch", HEAD + "let a = " + "not " * 2000 + "true\nnetwork { relu }\n"),
        "integer of 5,000 digits": ("arch", HEAD + "let a = " + "9" * 5000 + "\nnetwork { relu }\n"),
        "{ {} x 10^5 } x 10^5 (empty)": ("arch", HEAD + "network { { { } x 100000 } x 100000 }\n"),
        "for loops nested to 10^10": ("arch", HEAD + "network { for i in range(100000) { for j in range(100000) { } } }\n"),
        "{ relu x 10^5 } x 10^5": ("arch", HEAD + "network { { relu x 100000 } x 100000 }\n"),
        "relu x 100000 (accepted)": ("arch", HEAD + "network { relu x 100000 }\n"),
        "30,000-block ResNet": ("arch", HEAD.replace("3x8x8", "16x8x8") + "block b() { residual { conv(16, 3, padding=1) } }\n"
                                "network { b x 30000 }\n"),
        "5,000-layer dense block": ("arch", HEAD + "network { dense { conv(1, 1) x 5000 } }\n"),
        "fractal(columns=16)": ("arch", HEAD + "network { fractal(columns=16) { conv(3, 3, padding=1) } }\n"),
        "RegNet width rule over 10^5 blocks": ("arch", HEAD + "let w = [round(log(j + 2) / log(2.25)) "
                                               "for j in range(100000)]\nnetwork { relu }\n"),
        "3 calls of { } x 10^5 (accepted)": ("arch", HEAD + "block b() { { } x 100000 relu }\nnetwork { b b b }\n"),
        "string doubled 30 times": ("arch", HEAD + doubling + "network { relu }\n"),
        "YAML alias bomb (9^10)": ("yaml", "\n".join(bomb) + "\n"),
        "10 MB file of items": ("arch", HEAD + "network {\n" + "relu\n" * 2_000_000 + "}\n"),
        "1 MB line of items": ("arch", HEAD + "network { " + "relu " * 200_000 + "}\n"),
    }


CHILD = """
import json, resource, sys, time
text, fmt = open(sys.argv[1]).read(), sys.argv[2]
start = time.perf_counter()
import archdsl
from archdsl.errors import ArchError
try:
    arch = archdsl.loads(text, format=fmt)
    arch.params, arch.macs
    arch.paths()
    arch.summary()
    outcome = f"accepted ({len(arch.graph):,} nodes)"
except ArchError as err:
    outcome = "refused at " + str(err.span).rpartition("/")[2] if err.span else "refused (no location)"
    outcome += ": " + err.message[:60]
except Exception as err:
    outcome = f"CRASH {type(err).__name__}: {str(err)[:60]}"
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "outcome": outcome}))
"""


def run_probe(fmt: str, text: str) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".spec", delete=False) as f:
        f.write(text)
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, f.name, fmt], capture_output=True, text=True,
                              cwd=ROOT, timeout=120)
    except subprocess.TimeoutExpired:
        return {"seconds": 120.0, "mb": float("nan"), "outcome": "HANG (> 120 s)"}
    finally:
        Path(f.name).unlink()
    if proc.returncode != 0:
        return {"seconds": float("nan"), "mb": float("nan"), "outcome": "CRASH " + proc.stderr.strip()[-80:]}
    return json.loads(proc.stdout)


def speed_rows() -> list[tuple[str, float, str]]:
    sys.path.insert(0, str(ROOT))
    import archdsl

    rows = []
    for label, text in (("relu x 100000", HEAD + "network { relu x 100000 }\n"),
                        ("ResNet, 12,498 blocks (87,495 nodes)", None)):
        elaborate = float("inf")
        for _ in range(3):  # the best of three: the first pays for warming up (imports, first-time paths)
            start = time.perf_counter()
            arch = archdsl.loads(text) if text else archdsl.load(ROOT / "specs/cifar/resnet20.arch", depth=6 * 4166 + 2)
            elaborate = min(elaborate, time.perf_counter() - start)
        rows.append((f"{label}: elaborate ({len(arch.graph) / elaborate:,.0f} nodes/s)", elaborate, ">= 100,000 nodes/s"))
        for what, fn in (("params and MACs", lambda: (arch.params, arch.macs)), ("summary", arch.summary),
                         ("info --json", arch.to_dict), ("paths", arch.paths)):
            start = time.perf_counter()
            try:
                fn()
                note = "< 5 s"
            except archdsl.ArchError:
                note = "refused (path budget), < 1 s"
            rows.append((f"{label}: {what}", time.perf_counter() - start, note))
    return rows


def main() -> int:
    print("| probe | seconds | peak MB | outcome |")
    print("|---|--:|--:|---|")
    for name, (fmt, text) in probes().items():
        r = run_probe(fmt, text)
        print(f"| {name} | {r['seconds']:.2f} | {r['mb']:.0f} | {r['outcome']} |", flush=True)
    print()
    print("| speed | seconds | target |")
    print("|---|--:|---|")
    for label, seconds, target in speed_rows():
        print(f"| {label} | {seconds:.2f} | {target} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
