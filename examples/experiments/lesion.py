"""Lesion (Veit et al. 2016, Fig. 3 and 5a): deleting a residual block barely hurts; deleting a plain layer breaks the net.

    python examples/experiments/lesion.py           # ~3 min on one core (ResNet-56 and plain-20, 20 epochs)
    python examples/experiments/lesion.py --quick

Trains ResNet-56 (27 residual blocks) and, for contrast, plain-20 on digits;
deletes each residual block in turn (its shortcut runs alone), then k random
blocks at once (5 draws per k), and replaces each shape-keeping conv layer of
plain-20 by the identity. Draws lesion.png and writes lesion.json.
"""
import sys
import time

from common import arguments, trained, write_results

from archdsl.experiments.lesion import lesion_each, lesion_random
from archdsl.experiments.plots import lesion_figure


def main(argv=None):
    args = arguments(__doc__.splitlines()[0], argv)
    started = time.perf_counter()
    depth = 14 if args.quick else 56
    arch, model, history, data = trained("resnet", depth, args)
    result = lesion_each(arch, model, data)
    ks = [1, 2] if args.quick else [1, 2, 3, 4, 6, 8, 10, 12, 15, 20]
    lesion_random(arch, model, data, ks, samples=2 if args.quick else 5, seed=args.seed, result=result)
    plain_arch, plain_model, _, _ = trained("plain", 8 if args.quick else 20, args)
    plain = lesion_each(plain_arch, plain_model, data, layers=True)
    result.name, plain.name = f"resnet-{depth}", f"plain-{8 if args.quick else 20}"
    lesion_figure(result, str(args.out / "lesion.png"), plain=plain, classes=data.classes,
                  title=f"digits at 3x16x16: deleting blocks of a trained ResNet-{depth} vs layers of a plain net")
    write_results(args, "lesion", {"resnet": result.to_dict(), "plain": plain.to_dict()}, started)
    single = [e for _, e, _ in result.deleted]
    print(f"{result.name}: whole {100 * result.baseline:.1f}%; one block deleted: mean {100 * sum(single) / len(single):.1f}%, "
          f"worst {100 * max(single):.1f}%")
    for k, errors in result.random.items():
        print(f"  {k:>2} random blocks deleted: mean {100 * sum(errors) / len(errors):5.1f}%")
    layers = [e for _, e, _ in plain.deleted]
    print(f"{plain.name}: whole {100 * plain.baseline:.1f}%; one layer bypassed: mean {100 * sum(layers) / len(layers):.1f}%, "
          f"best {100 * min(layers):.1f}%")


if __name__ == "__main__":
    sys.exit(main())
