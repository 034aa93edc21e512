"""ONNX backend speed: export time, and onnxruntime speed of our graph vs torch.onnx.export's.

    python bench/bench_onnx.py [--runs 40]

Targets (issue 6):
  * ResNet-152 exported with weights in under 3 s (seeded, and from a torch
    state_dict .pt file: torch.load included; CLI wall time incl. start-up too).
  * ResNet-50 in onnxruntime: our export vs `torch.onnx.export` of torchvision's
    ResNet-50, same weights, same SessionOptions: ratio of medians <= 1.05; with
    `--models resnet50 mobilenet_v2 efficientnet_b0 convnext_tiny` the same for each (issue 11).

The reference comes from the scratch venv (/work/scratch-venv: torch 2.14.1 +
torchvision 0.29.1, onnx installed there for the TorchScript exporter,
dynamo=False); our model is exported from torchvision's own state_dict, which
has our names. Without that venv the reference is the torch backend's
ResNet-50 exported with the system torch's torch.onnx.export, and the table
says so. Timings are interleaved (ours, reference, ours, ...) so drift from
other work on the machine hits both.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCRATCH_PYTHON = next((p for p in (Path("/work/scratch/tv/bin/python"), Path("/work/scratch-venv/bin/python"))
                       if p.exists()), Path("/work/scratch/tv/bin/python"))

REFERENCE_SCRIPT = """
import sys, torch, torchvision
torch.manual_seed(0)
model = getattr(torchvision.models, sys.argv[3])(weights=None).eval()
torch.save(model.state_dict(), sys.argv[2])
torch.onnx.export(model, (torch.randn(1, 3, 224, 224),), sys.argv[1], dynamo=False, opset_version=17,
                  input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
"""


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def export_rows(work: Path, repeat: int) -> list[tuple[str, float, str]]:
    import torch

    import archdsl
    from archdsl.backends.onnx import write
    from archdsl.targets import OnnxOptions

    def export(arch, target, **options):
        return write(arch, target, OnnxOptions(**options))

    arch = archdsl.load("specs/resnet152.arch")
    target = work / "r152.onnx"
    pt = work / "r152.pt"
    torch.save(arch.to_torch(seed=0).state_dict(), pt)
    export(arch, target)  # warm imports and the page cache
    seeded = median_time(lambda: export(arch, target), repeat)
    from_pt = median_time(lambda: export(arch, target, weights=pt), repeat)
    folded = median_time(lambda: export(arch, target, weights=pt, fuse_bn=True), repeat)
    cli = [sys.executable, "-m", "archdsl.cli", "compile", "specs/resnet152.arch", "--target", "onnx", "-o", str(target)]
    wall_seeded = median_time(lambda: subprocess.run(cli, cwd=ROOT, check=True, stdout=subprocess.DEVNULL), repeat)
    wall_pt = median_time(
        lambda: subprocess.run(cli + ["--weights", str(pt)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL), repeat)
    size = target.stat().st_size / 2**20
    return [
        (f"ResNet-152 export, seeded weights (in-process, {size:.0f} MiB)", seeded, "< 3"),
        ("ResNet-152 export, weights from .pt (torch.load included)", from_pt, "< 3"),
        ("ResNet-152 export, weights from .pt, --fuse-bn", folded, "< 3"),
        ("`archdsl compile --target onnx` ResNet-152, seeded (wall)", wall_seeded, "< 3"),
        ("`archdsl compile --target onnx --weights r152.pt` (wall)", wall_pt, "< 3"),
    ]


def reference_models(work: Path, name: str) -> tuple[Path, Path, str]:
    """(reference .onnx, state_dict .pt with the same weights, what the reference is)."""
    ref, pt = work / f"reference_{name}.onnx", work / f"reference_{name}.pt"
    if SCRATCH_PYTHON.exists():
        done = subprocess.run([str(SCRATCH_PYTHON), "-c", REFERENCE_SCRIPT, str(ref), str(pt), name],
                              capture_output=True, text=True)
        if done.returncode == 0:
            return ref, pt, f"torchvision 0.29.1 {name}, torch 2.14.1 torch.onnx.export (TorchScript, opset 17)"
        print(f"scratch venv export failed, using the torch backend instead:\n{done.stderr[-2000:]}", file=sys.stderr)
    import torch

    import archdsl

    model = archdsl.load(f"specs/{name}.arch").to_torch(seed=0).eval()
    torch.save(model.state_dict(), pt)
    torch.onnx.export(model, (torch.randn(1, 3, 224, 224),), str(ref), dynamo=False, opset_version=17,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    return ref, pt, f"archdsl's torch backend {name}, torch {torch.__version__} torch.onnx.export (TorchScript)"


def inference_rows(work: Path, name: str, runs: int, threads: int) -> tuple[list, str, float]:
    import onnxruntime as ort

    import archdsl

    ref, pt, what = reference_models(work, name)
    arch = archdsl.load(f"specs/{name}.arch")
    ours = arch.to_onnx(work / f"ours_{name}.onnx", weights=pt)  # a local function per block template
    flat = arch.to_onnx(work / f"ours_flat_{name}.onnx", weights=pt, functions=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sessions = {who: ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                for who, path in (("ours", ours), ("ours, no functions", flat), ("reference", ref))}
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    outputs = {who: s.run(None, {"input": x})[0] for who, s in sessions.items()}
    diff = float(np.abs(outputs["ours"] - outputs["reference"]).max() / np.abs(outputs["reference"]).max())
    for s in sessions.values():  # warm-up
        for _ in range(5):
            s.run(None, {"input": x})
    times = {who: [] for who in sessions}
    for _ in range(runs):
        for who, s in sessions.items():
            start = time.perf_counter()
            s.run(None, {"input": x})
            times[who].append(time.perf_counter() - start)
    medians = {who: statistics.median(t) for who, t in times.items()}
    rows = [(f"{name} onnxruntime, batch 1, 224x224: {who}", medians[who] * 1000, "")
            for who in ("ours", "ours, no functions", "reference")]
    rows.append((f"{name}: ratio of medians (ours / reference)", medians["ours"] / medians["reference"], "<= 1.05"))
    rows.append((f"{name}: ratio of medians (ours, no functions / reference)",
                 medians["ours, no functions"] / medians["reference"], "<= 1.05"))
    return rows, what, diff


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40, help="timed onnxruntime runs per model")
    parser.add_argument("--repeat", type=int, default=3, help="repeats of each export timing")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    parser.add_argument("--models", nargs="+", default=["resnet50"], help="specs compared in onnxruntime")
    parser.add_argument("--no-export", action="store_true", help="skip the export timings")
    args = parser.parse_args()
    infer, notes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows = [] if args.no_export else export_rows(work, args.repeat)
        for name in args.models:
            more, what, diff = inference_rows(work, name, args.runs, args.threads)
            infer += more
            notes.append(f"{name}: reference {what}; same weights, max |ours - reference| / max |reference| = {diff:.1e}")
    print(f"{'measurement':64} {'value':>9} {'target':>8}")
    for name, value, target in rows:
        print(f"{name:64} {value:9.3f} {target:>8}   (s)")
    for name, value, target in infer:
        unit = "(ms)" if "ratio" not in name else ""
        print(f"{name:64} {value:9.3f} {target:>8}   {unit}")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
