"""The experiment commands (docs/experiments.md); torch, scikit-learn and matplotlib are imported only when they run.

    archdsl train SPEC -o weights.pt [--data digits|FILE|DIR] [--epochs 20] [--schedule step|cosine] [--seed 0]
    archdsl lesion SPEC --weights W [--random 1,2,4 --samples 5] [--identity | --layers]
    archdsl reorder SPEC --weights W [--tau 1,0.9,0.8] [--samples 5]
    archdsl effective-paths SPEC [--weights W] [--samples 10] [--batch 128]

Each takes the common options (-p, --input, --drop, ...), --data, --threads,
--json and --plot FILE. Output files are checked before any work starts.
"""
from __future__ import annotations

import json
import sys

from ..files import checked_target
from .options import add_common, load_arch, located, option_error

DEFAULT_TAUS = "1,0.95,0.9,0.85,0.8,0.7,0.6,0.5"


def number_list(option: str, text: str, kind=float) -> list:
    try:
        values = [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values:
        raise option_error(option, text, f"{option} expects a comma-separated list of numbers, e.g. 1,2,4; got "
                                         f"'{text}'")
    return values


def number(option: str, text: str, kind=float, low: float = 0, strict: bool = False):
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or value < low or (strict and value == low) or value != value:
        bound = f"> {low}" if strict else f">= {low}"
        raise option_error(option, text, f"{option} expects a {'whole ' if kind is int else ''}number {bound}, "
                                         f"got '{text}'")
    return value


def _prepared(args, outputs=()):
    """Threads set, output paths checked, the spec loaded: (arch, the torch module namespace)."""
    for option, path in outputs:
        if path:
            located(lambda: checked_target(path), option, path)
    import torch

    torch.set_num_threads(number("--threads", args.threads, int, 0, strict=True))
    return load_arch(args)


def _data(args, arch):
    from ..experiments.data import load_data

    classes = arch.output_shape[0] if len(arch.output_shape) == 1 else None
    data = located(lambda: load_data(args.data, arch.input_shape, classes), "--data", args.data or "digits")
    print(data.describe(), file=sys.stderr)
    return data


def _model(args, arch):
    from ..experiments.train import load_weights

    return located(lambda: load_weights(arch, args.weights), "--weights", args.weights)


def _emit(args, data: dict, text: str) -> None:
    if args.json:
        json.dump(data, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(text)
    if args.plot:
        print(f"wrote {args.plot}", file=sys.stderr)


def add_experiment_options(p, weights: str | None) -> None:
    add_common(p)
    p.add_argument("--data", help="'digits' (default: scikit-learn's 8x8 digits, resized to the spec's input), a .pt "
                                  "or .npz file with tensors x and y, or an image folder (needs torchvision)")
    if weights:
        p.add_argument("--weights", required=weights == "required", help="a state_dict written by `archdsl train`")
    p.add_argument("--seed", default="0", help="seed of the initialisation, shuffling and draws (default 0)")
    p.add_argument("--threads", default="1", help="torch threads (default 1)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--plot", metavar="FILE", help="also draw the figure (.png, .svg or .pdf)")


# ---------------------------------------------------------------- train


def configure_train(p):
    add_experiment_options(p, None)
    p.add_argument("-o", "--output", required=True, help="the trained weights (.pt, a state_dict)")
    p.add_argument("--epochs", default="20")
    p.add_argument("--batch-size", default="128")
    p.add_argument("--lr", default="0.1", help="initial learning rate (default 0.1)")
    p.add_argument("--momentum", default="0.9")
    p.add_argument("--weight-decay", default="1e-4")
    p.add_argument("--schedule", choices=("step", "cosine"), default="step",
                   help="step: /10 at 50%% and 75%% of the epochs (default); cosine: annealed to 0")
    p.add_argument("--warmup-epochs", default="0", help="epochs at lr/10 first (He et al.'s ResNet-110)")
    p.add_argument("--history", metavar="FILE", help="the per-epoch errors as JSON")
    p.set_defaults(func=cmd_train)


def cmd_train(args) -> int:
    from ..experiments.train import TrainConfig, save_weights, train

    config = TrainConfig(epochs=number("--epochs", args.epochs, int, 0, True),
                         batch_size=number("--batch-size", args.batch_size, int, 0, True),
                         lr=number("--lr", args.lr, float, 0, True), momentum=number("--momentum", args.momentum),
                         weight_decay=number("--weight-decay", args.weight_decay), schedule=args.schedule,
                         warmup_epochs=number("--warmup-epochs", args.warmup_epochs, int))
    seed = number("--seed", args.seed, int)
    arch = _prepared(args, [("--output", args.output), ("--history", args.history), ("--plot", args.plot)])
    data = _data(args, arch)
    model, history = train(arch, data, config, seed=seed)
    save_weights(model, args.output)
    if args.history:
        from ..files import atomic_write

        atomic_write(args.history, json.dumps(history.to_dict(), indent=1) + "\n")
    if args.plot:
        from ..experiments.plots import training_curves

        training_curves({arch.name: {arch.name: history}}, args.plot)
    text = (f"{arch.name}: trained {config.epochs} epochs in {sum(history.seconds):.0f} s; final training error "
            f"{100 * history.train_error[-1]:.1f}%, test error {100 * history.test_error[-1]:.1f}%; wrote {args.output}")
    _emit(args, history.to_dict(), text)
    return 0


# ---------------------------------------------------------------- lesion


def configure_lesion(p):
    add_experiment_options(p, "required")
    p.add_argument("--random", metavar="K,K,...", help="also delete K random residual blocks at once, e.g. 1,2,4,8")
    p.add_argument("--samples", default="5", help="draws per K of --random (default 5)")
    p.add_argument("--identity", action="store_true",
                   help="replace shape-keeping blocks by the identity (a plain net: the chain broken)")
    p.add_argument("--layers", action="store_true", help="replace shape-keeping weight layers by the identity")
    p.set_defaults(func=cmd_lesion)


def cmd_lesion(args) -> int:
    from ..experiments.lesion import candidates, lesion_each, lesion_random

    ks = number_list("--random", args.random, int) if args.random else []
    samples, seed = number("--samples", args.samples, int, 0, True), number("--seed", args.seed, int)
    arch = _prepared(args, [("--plot", args.plot)])
    candidates(arch, args.identity, args.layers)  # a net without residual blocks is refused before any work
    model = _model(args, arch)
    data = _data(args, arch)
    result = lesion_each(arch, model, data, args.identity, args.layers)
    if ks:
        result = located(lambda: lesion_random(arch, model, data, ks, samples, seed, result), "--random", args.random)
    if args.plot:
        from ..experiments.plots import lesion_figure

        lesion_figure(result, args.plot, classes=data.classes)
    what = "replaced by the identity (the chain broken)" if result.mode == "identity" else "deleted (shortcut kept)"
    lines = [f"{arch.name}: test error {100 * result.baseline:.1f}% whole; each block {what}:"]
    lines += [f"  {name:<24} {100 * e:5.1f}%{'  (downsampling)' if down else ''}" for name, e, down in result.deleted]
    for k, errors in result.random.items():
        lines.append(f"  {k} random blocks deleted: mean {100 * sum(errors) / len(errors):5.1f}% over "
                     f"{len(errors)} draws (min {100 * min(errors):.1f}%, max {100 * max(errors):.1f}%)")
    _emit(args, result.to_dict(), "\n".join(lines))
    return 0


# ---------------------------------------------------------------- reorder


def configure_reorder(p):
    add_experiment_options(p, "required")
    p.add_argument("--tau", default=DEFAULT_TAUS, help=f"target Kendall taus (default {DEFAULT_TAUS})")
    p.add_argument("--samples", default="5", help="random orders per tau (default 5)")
    p.set_defaults(func=cmd_reorder)


def cmd_reorder(args) -> int:
    from ..experiments.reorder import reorder_experiment, reorderable_runs

    taus = number_list("--tau", args.tau)
    samples, seed = number("--samples", args.samples, int, 0, True), number("--seed", args.seed, int)
    arch = _prepared(args, [("--plot", args.plot)])
    reorderable_runs(arch, required=True)
    model = _model(args, arch)
    data = _data(args, arch)
    result = located(lambda: reorder_experiment(arch, model, data, taus, samples, seed), "--tau", args.tau)
    if args.plot:
        from ..experiments.plots import reorder_figure

        reorder_figure(result, args.plot)
    lines = [f"{arch.name}: test error {100 * result.baseline:.1f}% in the original order; blocks that move: "
             + "; ".join(f"{r[0]}..{r[-1]}" for r in result.runs)]
    lines += [f"  tau {r['tau']:6.3f} (target {r['target_tau']:.2f}): {100 * r['error']:5.1f}%" for r in result.rows]
    _emit(args, result.to_dict(), "\n".join(lines))
    return 0


# ---------------------------------------------------------------- effective-paths


def configure_effective_paths(p):
    add_experiment_options(p, "optional")
    p.add_argument("--samples", default="10", help="random paths per length (default 10)")
    p.add_argument("--batch", default="128", help="training images in the measured batch (default 128)")
    p.set_defaults(func=cmd_effective_paths)


def cmd_effective_paths(args) -> int:
    from ..experiments.effective_paths import chain_units, measure

    samples, seed = number("--samples", args.samples, int, 0, True), number("--seed", args.seed, int)
    batch = number("--batch", args.batch, int, 0, True)
    arch = _prepared(args, [("--plot", args.plot)])
    chain_units(arch)
    model = _model(args, arch) if args.weights else arch.to_torch(seed=seed)
    data = _data(args, arch)
    result = measure(arch, model, data.x_train[:batch], data.y_train[:batch], samples, seed=seed)
    if args.plot:
        from ..experiments.plots import paths_figure

        paths_figure(result, args.plot)
    low, high = result.range_holding()
    lines = [f"{arch.name}: {result.units} residual units; gradient magnitude at the input by path length "
             f"({'trained' if args.weights else 'initial'} weights, {samples} draws per length)",
             f"  {'length':>6} {'paths':>14} {'per path':>11} {'all paths':>11}"]
    lines += [f"  {k:>6} {c:>14,} {m:>11.3e} {t:>11.3e}"
              for k, c, m, t in zip(result.lengths, result.path_counts, result.per_path, result.total)]
    lines.append(f"  90% of the total gradient comes from paths of {low}..{high} modules")
    _emit(args, result.to_dict(), "\n".join(lines))
    return 0
