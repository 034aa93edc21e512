"""Speed of the torch backend (issue 5). Prints a table; results go in bench/RESULTS.md.

    python bench/bench_torch.py [--reps 7] [--threads 2] [--hand-written]

  * ResNet-50 and DenseNet-121 from the spec vs a reference -- torchvision where
    importable, else (or with --hand-written) bench/reference_models.py: train
    step (forward + backward) and eval forward, batch 8, 224x224; ratio of
    medians (target <= 1.02). Runs alternate between the two models, so drift
    in machine load hits both alike.
  * `--modern`: also mobilenet_v2, efficientnet_b0 and convnext_tiny vs torchvision (issue 11),
    drop paths and dropout off in the train step of both. `--models a,b` picks the specs;
    `--control` adds torchvision against a second instance of itself (the same measurement,
    so its distance from 1.000 is the noise floor of a ratio on this machine).
  * `--unet`: U-Net (specs/segmentation/unet_same.arch) vs the hand-written U-Net of
    bench/reference_models.py, 3x256x256, batch 2, train step (BCE with logits) and
    eval forward (issue 12, target <= 1.02).
  * to_torch() of ResNet-152 (target < 1.5 s) and CIFAR ResNet-1202 (<= 0.5 s, issue 13), on a fresh arch,
    initialisation included.
  * BN folding: eval ResNet-50, batch 8, unfolded / folded time.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import archdsl  # noqa: E402


def reference(name: str, hand_written: bool):
    if not hand_written:
        try:
            import torchvision.models as tvm

            return getattr(tvm, name)(weights=None), "torchvision"
        except ImportError:
            pass
    import reference_models

    return {"resnet50": reference_models.ResNet50, "densenet121": reference_models.DenseNet121}[name](), "hand-written"


def paired_medians(first, second, reps: int) -> tuple[float, float]:
    """Median seconds of two callables, run alternately (ABBA order) after one warm-up each."""
    first(), second()
    times: tuple[list, list] = ([], [])
    for r in range(reps):
        order = ((0, first), (1, second)) if r % 2 == 0 else ((1, second), (0, first))
        for which, fn in order:
            start = time.perf_counter()
            fn()
            times[which].append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def train_step(model, x, target):
    def run():
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), target).backward()

    return run


def eval_forward(model, x):
    def run():
        with torch.no_grad():
            model(x)

    return run


def compare_with_reference(name: str, reps: int, hand_written: bool, rows: list, control: bool = False):
    arch = archdsl.load(ROOT / "specs" / f"{name}.arch")
    ours = arch.to_torch(seed=0)
    ref, source = reference(name, hand_written)
    ref.load_state_dict(ours.state_dict(), strict=True)
    if control:  # the noise floor: the reference against a second instance of itself, same weights
        ours, source = reference(name, hand_written)[0], f"{source} (control: {source} vs itself)"
        ours.load_state_dict(ref.state_dict(), strict=True)
    for model in (ours, ref):  # the same train-mode work in both: no random drops
        for module in model.modules():
            if isinstance(getattr(module, "p", None), float):
                module.p = 0.0
    torch.manual_seed(0)
    x, target = torch.randn(8, 3, 224, 224), torch.randint(0, 1000, (8,))
    ours.eval(), ref.eval()
    with torch.no_grad():
        diff = (ours(x) - ref(x)).abs().max().item()
    assert diff <= 1e-4, f"{name}: outputs differ from the reference by {diff}"
    ours.train(), ref.train()
    a, b = paired_medians(train_step(ours, x, target), train_step(ref, x, target), reps)
    rows.append((f"{name} train step (fwd+bwd), batch 8, vs {source}", a, b, a / b, "<= 1.02"))
    ours.eval(), ref.eval()
    a, b = paired_medians(eval_forward(ours, x), eval_forward(ref, x), reps)
    rows.append((f"{name} eval forward, batch 8, vs {source}", a, b, a / b, "<= 1.02"))


def compare_unet(reps: int, rows: list):
    import reference_models

    ours = archdsl.load(ROOT / "specs/segmentation/unet_same.arch").to_torch(seed=0)
    ref = reference_models.UNet()
    assert list(ref.state_dict()) == list(ours.state_dict())
    ref.load_state_dict(ours.state_dict(), strict=True)
    torch.manual_seed(0)
    x, mask = torch.randn(2, 3, 256, 256), torch.randint(0, 2, (2, 1, 256, 256)).float()
    ours.eval(), ref.eval()
    with torch.no_grad():
        diff = (ours(x) - ref(x)).abs().max().item()
    assert diff <= 1e-4, f"unet: outputs differ from the reference by {diff}"

    def step(model):
        def run():
            model.zero_grad(set_to_none=True)
            F.binary_cross_entropy_with_logits(model(x), mask).backward()

        return run

    ours.train(), ref.train()
    a, b = paired_medians(step(ours), step(ref), reps)
    rows.append(("unet_same train step (fwd+bwd), batch 2, 256x256, vs hand-written", a, b, a / b, "<= 1.02"))
    ours.eval(), ref.eval()
    a, b = paired_medians(eval_forward(ours, x), eval_forward(ref, x), reps)
    rows.append(("unet_same eval forward, batch 2, 256x256, vs hand-written", a, b, a / b, "<= 1.02"))


def construction(rows: list):
    """A fresh arch per run: an Architecture keeps its generated class, so only its first
    to_torch() generates and compiles the source (the second call is its own row)."""
    for spec, target in (("resnet152.arch", "< 1.5 s"), ("cifar/resnet1202.arch", "<= 0.5 s")):
        first, again = [], []
        for seed in range(3):
            arch = archdsl.load(ROOT / "specs" / spec)
            start = time.perf_counter()
            arch.to_torch(seed=seed)
            first.append(time.perf_counter() - start)
            start = time.perf_counter()
            arch.to_torch(seed=seed)
            again.append(time.perf_counter() - start)
        rows.append((f"to_torch() {arch.name} (incl. init)", statistics.median(first), None, None, target))
        rows.append((f"to_torch() {arch.name} again, same arch", statistics.median(again), None, None, ""))


def bn_folding(reps: int, rows: list):
    arch = archdsl.load(ROOT / "specs" / "resnet50.arch")
    model = arch.to_torch(seed=0).eval()
    folded = arch.to_torch(fuse_bn=True, weights=model.state_dict())
    x = torch.randn(8, 3, 224, 224)
    a, b = paired_medians(eval_forward(model, x), eval_forward(folded, x), reps)
    rows.append(("resnet50 eval batch 8: BN kept / BN folded", a, b, a / b, "> 1 (faster folded)"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--hand-written", action="store_true", help="compare with bench/reference_models.py")
    parser.add_argument("--only", choices=("compare", "construct", "fold", "unet"), help="run one part")
    parser.add_argument("--unet", action="store_true", help="also U-Net vs a hand-written one (issue 12)")
    parser.add_argument("--modern", action="store_true", help="also mobilenet_v2, efficientnet_b0, convnext_tiny")
    parser.add_argument("--models", help="comma-separated specs to compare instead (e.g. convnext_tiny)")
    parser.add_argument("--control", action="store_true",
                        help="also each reference against a second instance of itself: the ratio's noise floor")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows: list = []
    if args.only in (None, "construct"):
        construction(rows)
    if args.only in (None, "compare"):
        names = ("resnet50", "densenet121") + (("mobilenet_v2", "efficientnet_b0", "convnext_tiny") if args.modern else ())
        for name in args.models.split(",") if args.models else names:
            compare_with_reference(name, args.reps, args.hand_written, rows)
            if args.control:
                compare_with_reference(name, args.reps, args.hand_written, rows, control=True)
    if args.only == "unet" or (args.only is None and args.unet):
        compare_unet(args.reps, rows)
    if args.only in (None, "fold"):
        bn_folding(args.reps, rows)
    print(f"torch {torch.__version__}, {args.threads} threads, median of {args.reps} alternating runs")
    print("| measurement | ours (s) | reference (s) | ratio | target |")
    print("|---|---|---|---|---|")
    for label, ours, ref, ratio, target in rows:
        ref_text = f"{ref:.3f}" if ref is not None else ""
        ratio_text = f"{ratio:.3f}" if ratio is not None else ""
        print(f"| {label} | {ours:.3f} | {ref_text} | {ratio_text} | {target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
