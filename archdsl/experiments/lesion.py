"""Lesion studies (Veit et al. 2016, section 4): delete blocks of a trained net and measure its test error.

    result = lesion_each(arch, model, data)            every residual block deleted in turn
    errors = lesion_random(arch, model, data, [1, 2])  k random blocks deleted at once, several draws

Deleting a residual block runs its shortcut alone (`arch.without`: the
identity, or the projection / zero-padding of a downsampling block) -- the
blocks are the residual units the elaborator recorded. A net without residual
blocks has nothing to delete that leaves the chain whole; `identity=True`
instead replaces each shape-keeping block (or, with `layers=True`, each
weight layer) by the identity, the chain broken (Veit et al.'s VGG lesion).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from ..errors import ArchError
from ..transforms import bypassable_blocks, residual_blocks
from .data import Dataset
from .train import error_rate


@dataclass
class LesionResult:
    name: str
    mode: str  # "shortcut" (residual blocks) or "identity" (the chain broken)
    baseline: float  # the test error of the whole net
    deleted: list[tuple[str, float, bool]] = field(default_factory=list)  # (block, error, downsampling)
    random: dict[int, list[float]] = field(default_factory=dict)  # k blocks deleted -> errors of the draws

    def to_dict(self) -> dict:
        return {"name": self.name, "mode": self.mode, "baseline_error": self.baseline,
                "deleted": [{"block": b, "error": e, "downsampling": d} for b, e, d in self.deleted],
                "random": {str(k): v for k, v in self.random.items()}}


def candidates(arch, identity: bool = False, layers: bool = False) -> list[tuple[str, bool]]:
    """(name, downsampling) of what a lesion deletes: residual blocks, or shape-keeping blocks/layers."""
    if identity or layers:
        names = bypassable_blocks(arch.graph, layers=layers)
        if not names:
            raise ArchError(f"{arch.name} has no {'layer' if layers else 'block'} that keeps the shape of its input; "
                            "nothing can be replaced by the identity")
        return [(n, False) for n in names]
    blocks = residual_blocks(arch.graph)
    if not blocks:
        first = next((m for m in arch.modules.values() if m.kind == "block"), None)
        raise ArchError(f"{arch.name} has no residual blocks (no recorded residual unit), so deleting one of its "
                        "layers breaks the chain: nothing carries the input around it. Pass --identity (blocks) or "
                        "--layers (weight layers) to replace shape-keeping ones by the identity and measure that "
                        "instead (Veit et al.'s VGG lesion)", first.span if first else None)
    shapes = arch.shapes
    return [(b.name, shapes[b.entry] != shapes[b.exit]) for b in blocks]


def lesioned(arch, model, names: list[str], identity: bool = False):
    """The net with `names` deleted, carrying `model`'s weights, in eval mode."""
    smaller = arch.bypassed(*names) if identity else arch.without(*names)
    state = model.state_dict()
    lesion = smaller.to_torch(seed=0)
    lesion.load_state_dict({k: state[k] for k in lesion.state_dict()})
    return lesion.eval()


def lesion_each(arch, model, data: Dataset, identity: bool = False, layers: bool = False) -> LesionResult:
    """Every candidate deleted alone."""
    mode = "identity" if identity or layers else "shortcut"
    result = LesionResult(arch.name, mode, error_rate(model, data.x_test, data.y_test))
    for name, downsampling in candidates(arch, identity, layers):
        lesion = lesioned(arch, model, [name], mode == "identity")
        result.deleted.append((name, error_rate(lesion, data.x_test, data.y_test), downsampling))
    return result


def lesion_random(arch, model, data: Dataset, ks: list[int], samples: int, seed: int = 0,
                  result: LesionResult | None = None) -> LesionResult:
    """For each k, `samples` draws of k residual blocks deleted together (downsampling blocks included)."""
    names = [n for n, _ in candidates(arch)]
    if any(k < 0 or k > len(names) for k in ks):
        raise ArchError(f"--random: k must lie in 0..{len(names)} ({arch.name} has {len(names)} residual blocks)")
    result = result or LesionResult(arch.name, "shortcut", error_rate(model, data.x_test, data.y_test))
    rng = random.Random(seed)
    for k in ks:
        draws = []
        for _ in range(samples):
            chosen = sorted(rng.sample(names, k), key=names.index)
            lesion = lesioned(arch, model, chosen) if chosen else model
            draws.append(error_rate(lesion, data.x_test, data.y_test))
        result.random[k] = draws
    return result
