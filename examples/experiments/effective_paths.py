"""Effective paths (Veit et al. 2016, Fig. 6): the gradient comes mostly from paths much shorter than the typical path.

    python examples/experiments/effective_paths.py           # ~3 min on one core (ResNet-56; cached by lesion.py)
    python examples/experiments/effective_paths.py --quick

ResNet-56 has 27 residual units, so 2^27 paths with binomial lengths around
13.5. For each length k, 20 random paths (k units' branches, the other
shortcuts) carry the backward pass of one batch of 128 training images;
their mean gradient magnitude at the input, times the exact number of paths
of that length, is the total gradient by length. Measured on the trained net
and at initialisation. Draws effective_paths.png and writes
effective_paths.json.
"""
import sys
import time

from common import arguments, trained, write_results

from archdsl.experiments.effective_paths import measure
from archdsl.experiments.plots import paths_figure


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    started = time.perf_counter()
    depth = 14 if args.quick else 56
    arch, model, _, data = trained("resnet", depth, args)
    samples, batch = (2, 16) if args.quick else (20, 128)
    x, y = data.x_train[:batch], data.y_train[:batch]
    results = {}
    for label, net in (("trained", model), ("initial", arch.to_torch(seed=args.seed))):
        ep = measure(arch, net, x, y, samples=samples, seed=args.seed)
        ep.name = f"resnet-{depth} ({label})"
        results[label] = ep.to_dict()
        mean_path = sum(k * c for k, c in zip(ep.lengths, ep.path_counts)) / sum(ep.path_counts)
        weighted = sum(k * t for k, t in zip(ep.lengths, ep.total)) / sum(ep.total)
        results[label] |= {"mean_path_length": mean_path, "gradient_weighted_mean_length": weighted}
        low, high = ep.range_holding()
        print(f"{ep.name}: paths have mean length {mean_path:.1f}; the gradient-weighted mean is {weighted:.1f}, "
              f"90% of the gradient from lengths {low}..{high}")
        if label == "trained":
            paths_figure(ep, str(args.out / "effective_paths.png"),
                         f"digits at 3x16x16: trained ResNet-{depth}, {ep.units} units, {samples} paths per length")
    write_results(args, "effective_paths", results, started)


if __name__ == "__main__":
    sys.exit(main())
