"""Reordering blocks (Veit et al. 2016, section 4.3): run a trained net's blocks in another order.

    runs = reorderable_runs(arch)                   [["layer1.0", "layer1.1", ...], ["layer2.1", ...], ...]
    result = reorder_experiment(arch, model, data, taus=[1.0, 0.9, 0.8], samples=5)

Only blocks that keep the shape of their input move, and only within their
run of consecutive such blocks (a stage less its downsampling block), so every
order is well formed. The degree of reordering is Kendall's tau between the
original and the new order of all those blocks, tau = 1 - 2 D / (N (N-1) / 2)
with D the discordant pairs. A target tau is met exactly (up to rounding D):
starting from the original order, each step swaps a random adjacent pair that
is still in order, which adds one discordant pair, until there are D.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from ..errors import ArchError
from ..transforms import residual_blocks
from .data import Dataset
from .train import error_rate


def reorderable_runs(arch, required: bool = False) -> list[list[str]]:
    """Maximal chains of consecutive shape-keeping residual blocks (two or more), in network order.

    `required`: none is an error (there is nothing to reorder)."""
    g, shapes = arch.graph, arch.shapes
    runs: list[list] = []
    previous = None
    for block in residual_blocks(g):
        keeps = shapes[block.entry] == shapes[block.exit] and not any(g.node(n).shared_with for n in block.members)
        follows = previous is not None and block.entry == previous.exit and \
            set(g.consumers(previous.exit)) <= block.members
        if keeps and follows and runs and runs[-1][-1] is previous:
            runs[-1].append(block)
        elif keeps:
            runs.append([block])
        previous = block
    found = [[b.name for b in run] for run in runs if len(run) >= 2]
    if required and not found:
        first = next((m for m in arch.modules.values() if m.kind == "block"), None)
        raise ArchError(f"{arch.name} has no two consecutive residual blocks that keep their input's shape; there is "
                        "nothing to reorder", first.span if first else None)
    return found


def kendall_tau(order: list[int]) -> float:
    """Kendall's tau between 0..n-1 and `order` (a permutation of it)."""
    n = len(order)
    pairs = n * (n - 1) // 2
    return 1.0 if pairs == 0 else 1 - 2 * inversions(order) / pairs


def inversions(order: list[int]) -> int:
    return sum(1 for i in range(len(order)) for j in range(i + 1, len(order)) if order[i] > order[j])


def permutation_at(run_sizes: list[int], discordant: int, rng: random.Random) -> list[list[int]]:
    """One permutation per run, with `discordant` inversions in all, by inversion-adding adjacent swaps."""
    perms = [list(range(r)) for r in run_sizes]
    for _ in range(discordant):
        ordered = [(r, i) for r, p in enumerate(perms) for i in range(len(p) - 1) if p[i] < p[i + 1]]
        r, i = rng.choice(ordered)
        perms[r][i], perms[r][i + 1] = perms[r][i + 1], perms[r][i]
    return perms


@dataclass
class ReorderResult:
    name: str
    runs: list[list[str]]
    baseline: float
    rows: list[dict] = field(default_factory=list)  # target_tau, tau, error, order (the moved blocks)

    def to_dict(self) -> dict:
        return {"name": self.name, "runs": self.runs, "baseline_error": self.baseline, "rows": self.rows}


def reordered(arch, model, runs: list[list[str]], perms: list[list[int]]):
    """The net with each run in the order `perms` gives, carrying `model`'s weights, in eval mode."""
    moved = arch
    for run, perm in zip(runs, perms):
        if perm != sorted(perm):
            moved = moved.reordered([run[i] for i in perm])
    other = moved.to_torch(seed=0)
    other.load_state_dict(model.state_dict())
    return other.eval()


def reorder_experiment(arch, model, data: Dataset, taus: list[float], samples: int, seed: int = 0) -> ReorderResult:
    runs = reorderable_runs(arch, required=True)
    if any(not -1 <= t <= 1 for t in taus):
        raise ArchError(f"--tau: Kendall's tau lies in -1..1, got {', '.join(str(t) for t in taus)}")
    sizes = [len(r) for r in runs]
    n = sum(sizes)
    pairs, most = n * (n - 1) // 2, sum(r * (r - 1) // 2 for r in sizes)
    result = ReorderResult(arch.name, runs, error_rate(model, data.x_test, data.y_test))
    rng = random.Random(seed)
    for target in taus:
        discordant = min(round((1 - target) / 2 * pairs), most)  # blocks move only within their runs
        for _ in range(samples if discordant else 1):
            perms = permutation_at(sizes, discordant, rng)
            offsets = [sum(sizes[:i]) for i in range(len(sizes))]
            overall = [o + i for o, p in zip(offsets, perms) for i in p]
            error = error_rate(reordered(arch, model, runs, perms), data.x_test, data.y_test)
            result.rows.append({"target_tau": target, "tau": kendall_tau(overall), "error": error,
                                "order": [run[i] for run, p in zip(runs, perms) for i in p]})
    return result
