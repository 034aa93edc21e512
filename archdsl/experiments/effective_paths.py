"""Effective path lengths (Veit et al. 2016, section 5): how much gradient reaches the input through paths of length k.

A net of n residual units in series has C(n, k) paths through k of the
units' branches (`arch.paths().modules`). Backpropagation is linear once the
forward pass is done, so the gradient at the input is the sum, over all 2^n
paths, of the gradient along each path alone. Veit et al. sample it: run the
forward pass through the whole net, then in the backward pass pick k units at
random, let the gradient pass only through those units' branches and only
through the other units' shortcuts, and measure its magnitude at the input.

    gates = PathGates(arch, model)          hooks on each unit's join (ir.ResidualUnit records which input is which)
    with gates: ... gates.select({0, 3})    the backward pass now follows one path: branches 0 and 3, shortcuts else

`measure` averages the magnitude (the L2 norm per image, averaged over the
batch) of one path of each length over random draws, and weights it by the
exact number of paths of that length: the total gradient by path length.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from math import comb

import torch
import torch.nn.functional as F

from ..errors import ArchError
from ..ir import Role


class _Gate(torch.autograd.Function):
    """The identity forward; backward passes the gradient only while `gate.open`."""

    @staticmethod
    def forward(ctx, x, gate):
        ctx.gate = gate
        return x.clone()  # a fresh tensor: an in-place add after it must not touch x

    @staticmethod
    def backward(ctx, grad):
        return (grad if ctx.gate.open else None), None


class _Switch:
    def __init__(self):
        self.open = True


def chain_units(arch):
    """The residual units, checked to lie in series: the net's paths are those of n units in a chain."""
    g = arch.graph
    units = list(g.units)
    n = len(units)
    if n == 0:
        raise ArchError(f"{arch.name} has no residual units (recorded residual blocks); the effective-path "
                        "measurement samples k of n residual units in series")
    counts = list(arch.paths().modules.counts)
    if counts != [comb(n, k) for k in range(n + 1)]:
        raise ArchError(f"{arch.name}'s {arch.paths().total:,} paths are not those of its {n} residual units in "
                        f"series (2^{n}, binomial lengths); the effective-path measurement samples k of n units in "
                        "a chain")
    for u in units:
        roles = g.roles(u.join)
        if sorted(r.value for r in roles) != ["body", "skip"]:
            raise ArchError(f"effective paths: the join of '{g.node(u.join).name}' has inputs {[r.value for r in roles]}"
                            "; each unit needs one branch and one shortcut")
    return units


def _module_per_join(arch, model):
    """`model`, or its flat form with the same weights where units share a join module (`x n shared`
    applies one block's modules again; the flat form has every node's module at its own name)."""
    names = [arch.graph.node(u.join).name for u in chain_units(arch)]
    modules = [dict(model.named_modules()).get(n) for n in names]
    if None not in modules and len({id(m) for m in modules}) == len(modules):
        return model
    flat = arch.to_torch(flat=True)
    flat.load_state_dict(model.state_dict())
    return flat


class PathGates:
    """Gradient gates on every unit's branch and shortcut input (forward unchanged)."""

    def __init__(self, arch, model):
        self.units = chain_units(arch)
        self.model, self.graph = model, arch.graph
        self.branch = [_Switch() for _ in self.units]
        self.shortcut = [_Switch() for _ in self.units]
        self._handles = []

    def __enter__(self):
        for i, unit in enumerate(self.units):
            roles = self.graph.roles(unit.join)
            switches = [self.branch[i] if r is Role.BODY else self.shortcut[i] for r in roles]
            join = self.model.get_submodule(self.graph.node(unit.join).name)
            hook = (lambda s: lambda module, args: tuple(_Gate.apply(a, w) for a, w in zip(args, s)))(switches)
            self._handles.append(join.register_forward_pre_hook(hook))
        return self

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def select(self, branches: set[int] | None) -> None:
        """Gradient through the branches of the units in `branches` and the shortcuts of the others (None: all)."""
        for i in range(len(self.units)):
            self.branch[i].open = branches is None or i in branches
            self.shortcut[i].open = branches is None or i not in branches


@dataclass
class EffectivePaths:
    name: str
    units: int
    lengths: list[int]  # the k measured
    path_counts: list[int]  # C(n, k): paths of each length
    per_path: list[float]  # mean gradient magnitude at the input along one path of length k
    spread: list[float]  # its standard deviation over the draws
    samples: int

    @property
    def total(self) -> list[float]:
        """The gradient magnitude of all paths of length k together: count x per-path magnitude."""
        return [c * m for c, m in zip(self.path_counts, self.per_path)]

    def range_holding(self, share: float = 0.9) -> tuple[int, int]:
        """The lengths between the (1-share)/2 and (1+share)/2 quantiles of the total gradient."""
        total = self.total
        whole, seen, low, high = sum(total), 0.0, None, None
        for k, t in zip(self.lengths, total):
            seen += t
            if low is None and seen >= whole * (1 - share) / 2:
                low = k
            if high is None and seen >= whole * (1 + share) / 2:
                high = k
        return low, high

    def to_dict(self) -> dict:
        low, high = self.range_holding()
        return {"name": self.name, "units": self.units, "samples": self.samples,
                "lengths": self.lengths, "path_counts": [str(c) for c in self.path_counts],
                "per_path_gradient": self.per_path, "per_path_spread": self.spread, "total_gradient": self.total,
                "range_holding_90_percent": [low, high]}


def measure(arch, model, x: torch.Tensor, y: torch.Tensor, samples: int = 10, lengths: list[int] | None = None,
            seed: int = 0) -> EffectivePaths:
    """Veit et al.'s sampled measurement on one batch (x, y), the model in eval mode."""
    model = _module_per_join(arch, model).eval()
    rng = random.Random(seed)
    with PathGates(arch, model) as gates:
        n = len(gates.units)
        lengths = list(range(n + 1)) if lengths is None else lengths
        if any(not 0 <= k <= n for k in lengths):
            raise ArchError(f"--lengths: path lengths lie in 0..{n} for {arch.name}")
        x = x.clone().requires_grad_(True)
        loss = F.cross_entropy(model(x), y, reduction="sum")  # per-image gradients, not scaled by the batch
        means, spreads = [], []
        for k in lengths:
            draws = []
            for _ in range(samples if 0 < k < n else 1):  # k = 0 and k = n have one path each
                gates.select(set(rng.sample(range(n), k)))
                (grad,) = torch.autograd.grad(loss, x, retain_graph=True)
                draws.append(float(grad.flatten(1).norm(dim=1).mean()))
            mean = sum(draws) / len(draws)
            means.append(mean)
            spreads.append((sum((d - mean) ** 2 for d in draws) / len(draws)) ** 0.5)
        gates.select(None)
    counts = arch.paths().modules.counts
    return EffectivePaths(arch.name, n, lengths, [counts[k] for k in lengths], means, spreads, samples)
