"""Reordering (Veit et al. 2016, Fig. 5b): shuffling the blocks of a residual net degrades it smoothly with Kendall's tau.

    python examples/experiments/reorder.py           # ~3 min on one core (ResNet-56, 20 epochs; cached by lesion.py)
    python examples/experiments/reorder.py --quick

Trains ResNet-56 on digits, then runs its shape-keeping blocks (each stage's
blocks but the downsampling one: 26 of 27) in random orders at target taus
1 .. 0.5 within their stages, 5 orders per tau. Draws reorder.png and writes
reorder.json.
"""
import sys
import time

from common import arguments, trained, write_results

from archdsl.experiments.plots import reorder_figure
from archdsl.experiments.reorder import reorder_experiment

TAUS = [1.0, 0.98, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6, 0.5]


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    started = time.perf_counter()
    depth = 14 if args.quick else 56
    arch, model, _, data = trained("resnet", depth, args)
    result = reorder_experiment(arch, model, data, [1.0, 0.0] if args.quick else TAUS, 2 if args.quick else 5,
                                seed=args.seed)
    result.name = f"resnet-{depth}"
    reorder_figure(result, str(args.out / "reorder.png"), title=f"digits at 3x16x16: ResNet-{depth} reordered")
    write_results(args, "reorder", result.to_dict(), started)
    print(f"{result.name}: {100 * result.baseline:.1f}% in the original order")
    for target in dict.fromkeys(r["target_tau"] for r in result.rows):
        rows = [r for r in result.rows if r["target_tau"] == target]
        print(f"  tau {sum(r['tau'] for r in rows) / len(rows):.3f}: mean error "
              f"{100 * sum(r['error'] for r in rows) / len(rows):5.1f}% over {len(rows)} orders")


if __name__ == "__main__":
    sys.exit(main())
