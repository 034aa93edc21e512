"""What the four reproductions share: the nets, the training recipe, a weights cache, the quick mode.

Every script runs on scikit-learn's digits (1,797 8x8 images, 10 classes),
bilinearly upsampled to 16x16 and replicated to 3 channels, so the CIFAR
specs (specs/cifar/, He et al.'s 6n+2 family) run unchanged at `input
3x16x16` (their two stride-2 stages leave 4x4 maps). `--quick` (the default
test suite) shrinks everything: 8x8 inputs, depth 8 or 14, one epoch.

Trained weights are cached in .cache/ beside this file (keyed by spec, depth,
input, epochs and seed), so lesion.py, reorder.py and effective_paths.py share
one trained ResNet-56 when run one after another; each still runs alone.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

import archdsl
from archdsl.experiments.data import load_data
from archdsl.experiments.train import History, TrainConfig, load_weights, save_weights, train

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RECIPE = TrainConfig(epochs=20, batch_size=128, lr=0.1, momentum=0.9, weight_decay=1e-4, schedule="step")


def arguments(description: str, argv=None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a tiny run (tests): small nets, one epoch")
    parser.add_argument("--out", default=str(HERE), help="where the figure and the results JSON go")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    args.shape = (3, 8, 8) if args.quick else (3, 16, 16)
    args.recipe = TrainConfig(epochs=1, batch_size=256) if args.quick else RECIPE
    args.out = Path(args.out)
    return args


def spec(kind: str, depth: int, shape) -> archdsl.Architecture:
    """He et al.'s CIFAR net of `depth` = 6n + 2 layers: kind "resnet" (option-A shortcuts) or "plain"."""
    return archdsl.load(ROOT / "specs" / "cifar" / f"{kind}20.arch", input_shape=shape, depth=depth)


def trained(kind: str, depth: int, args, progress=sys.stderr):
    """(arch, model, history, data), from the cache when this exact run was made before."""
    arch = spec(kind, depth, args.shape)
    data = load_data("digits", arch.input_shape, arch.output_shape[0])
    shape = "x".join(map(str, args.shape))
    key = f"{kind}{depth}_{shape}_e{args.recipe.epochs}_s{args.seed}"
    cache = HERE / ".cache"
    weights, record = cache / f"{key}.pt", cache / f"{key}.json"
    if weights.exists() and record.exists() and not args.quick:
        history = History(**json.loads(record.read_text()))
        return arch, load_weights(arch, str(weights)), history, data
    print(f"training {kind}-{depth} on {data.describe()}", file=progress)
    model, history = train(arch, data, args.recipe, seed=args.seed, progress=progress)
    if not args.quick:
        cache.mkdir(exist_ok=True)
        save_weights(model, str(weights))
        record.write_text(json.dumps(history.to_dict()))
    return arch, model, history, data


def write_results(args, name: str, results: dict, started: float) -> Path:
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["threads"] = torch.get_num_threads()
    path = args.out / f"{name}.json"
    path.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {path} ({results['seconds']} s)", file=sys.stderr)
    return path
