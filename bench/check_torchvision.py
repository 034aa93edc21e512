"""Check archdsl's torch modules against torchvision (run by hand in the scratch venv).

    /work/scratch-venv/bin/python bench/check_torchvision.py [name ...]

For each torchvision model with a spec in specs/ (resnet*, resnext*, wide_resnet*,
densenet*, vgg*, alexnet):
  load     model.load_state_dict(torchvision_model.state_dict(), strict=True)
  eval     max |ours - torchvision| of the logits, float32, batch 2 at 224x224, random
           input and torchvision's seeded random init (target <= 1e-5)
  replay   tests/torchvision_replay.py rebuilds torchvision's seeded weights bit for bit
           (what the CI test relies on, since CI has no torchvision)
Prints a table; exit status 1 if any check fails. Not a project dependency.
"""
import sys
import time
from pathlib import Path

import torch
import torchvision.models as tvm

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import archdsl  # noqa: E402
from torchvision_replay import family_of, replay_torchvision_init  # noqa: E402

FAMILIES = ("resnet", "resnext", "wide_resnet", "densenet", "vgg", "alexnet")
TOLERANCE = 1e-5


def candidates() -> list[str]:
    names = sorted(p.stem for p in (ROOT / "specs").glob("*.arch"))
    return [n for n in names if n.startswith(FAMILIES) and hasattr(tvm, n)]


def check(name: str) -> tuple[bool, str]:
    start = time.perf_counter()
    arch = archdsl.load(ROOT / "specs" / f"{name}.arch")
    torch.manual_seed(0)
    reference = getattr(tvm, name)(weights=None).eval()
    model = arch.to_torch().eval()
    model.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, *arch.input_shape)
    with torch.no_grad():
        ours, theirs = model(x), reference(x)
    diff = (ours - theirs).abs().max().item()
    replayed = replay_torchvision_init(arch.to_torch(), family_of(name), seed=0).state_dict()
    exact = all(torch.equal(replayed[k], v) for k, v in reference.state_dict().items())
    ok = diff <= TOLERANCE and exact
    return ok, f"| {name} | strict | {diff:.2e} | {'bit-exact' if exact else 'DIFFERS'} | {time.perf_counter() - start:.1f} |"


def main(argv: list[str]) -> int:
    torch.set_num_threads(2)
    names = argv or candidates()
    print(f"torch {torch.__version__}, torchvision {__import__('torchvision').__version__}")
    print("| model | load_state_dict | max abs diff (eval, 2x3x224x224) | replayed init | s |")
    print("|---|---|---|---|---|")
    failures = 0
    for name in names:
        ok, row = check(name)
        failures += not ok
        print(row + ("" if ok else "  <-- FAIL"), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
