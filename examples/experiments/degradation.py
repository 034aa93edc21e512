"""Degradation (He et al. 2015, Fig. 1 and 6): a deeper plain net has higher *training* error; with shortcuts it does not.

    python examples/experiments/degradation.py           # ~6 min on one core: 4 nets x 20 epochs
    python examples/experiments/degradation.py --quick   # seconds (the test suite)

Trains plain-20, plain-56, ResNet-20 and ResNet-56 (specs/cifar, option-A
shortcuts) on digits at 3x16x16 with the same recipe and seed; draws
degradation.png and writes degradation.json.
"""
import sys
import time

from common import arguments, trained, write_results

from archdsl.experiments.plots import training_curves


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    started = time.perf_counter()
    depths = (8, 14) if args.quick else (20, 56)
    panels, results = {}, {"depths": depths, "recipe": vars(args.recipe), "nets": {}}
    for kind, title in (("plain", "plain nets"), ("resnet", "residual nets (option-A shortcuts)")):
        panels[title] = {}
        for depth in depths:
            arch, _, history, data = trained(kind, depth, args)
            panels[title][f"{kind}-{depth}"] = history
            results["nets"][f"{kind}-{depth}"] = {
                "params": arch.params, "final_train_error": history.train_error[-1],
                "final_test_error": history.test_error[-1], "train_error": history.train_error,
                "test_error": history.test_error, "train_seconds": round(sum(history.seconds), 1)}
    training_curves(panels, str(args.out / "degradation.png"),
                    f"digits at 3x16x16, {args.recipe.epochs} epochs, SGD 0.1 (/10 at 50%, 75%), seed {args.seed}")
    write_results(args, "degradation", results, started)
    for name, r in results["nets"].items():
        print(f"{name:>10}: training error {100 * r['final_train_error']:5.2f}%, "
              f"test error {100 * r['final_test_error']:5.2f}%")


if __name__ == "__main__":
    sys.exit(main())
