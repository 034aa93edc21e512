"""Case number -> spec text: a fixed, reproducible sample of mutated and generated specs.

    case = make_case(seed=1, index=4711)          # the same text on every machine and run
    run_case(case.text, case.fmt, case.name, case.base_dir)

Every case draws from its own `random.Random(f"{seed}:{index}")`, so a case
can be rebuilt from its number alone (a worker builds it, the parent rebuilds
it to minimise and save it). A case is one of

    mutated seed       a spec from specs/ or examples/ with one to three mutations
    generated          a fresh spec from generate.py, .arch or YAML
    mutated generated  a generated spec with mutations (most of the YAML cases:
                       the examples hold one YAML seed only)

The first cases of a sample take every seed in turn, so every spec and
example is mutated at least once. The "quick" profile (the pytest sample)
leans on cases that are fast to refuse: it mutates each seed at least twice,
and big accepted specs (thousands of nodes) are drawn less often.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from .generate import generate
from .mutate import mutate
from .seeds import load_seeds

PROFILES = ("full", "quick")
# seeds that elaborate to thousands of nodes: an accepted mutation costs 0.1-0.3 s
BIG_SEEDS = ("resnet1202", "preact_resnet1001", "resnext50_32x4d_branches", "densenet264", "densenet_bc250_k24",
             "densenet201", "densenet_bc190_k40", "inception_resnet_v2", "densenet169", "densenet161")


@dataclass(frozen=True)
class Case:
    index: int
    origin: str  # "mutate specs/cifar/resnet110.arch: replace_number, truncate", "generate yaml", ...
    text: str
    fmt: str
    name: str  # what error messages call the spec
    base_dir: str  # where its imports resolve from


def make_case(seed: int, index: int, profile: str = "full") -> Case:
    """Case `index` of the sample `seed`."""
    rng = random.Random(f"{seed}:{index}")
    seeds = load_seeds()
    rounds = 2 if profile == "quick" else 1
    if index < rounds * len(seeds):
        return _mutated_seed(rng, index, seeds[index % len(seeds)])
    roll = rng.random()
    if roll < 0.55:
        return _mutated_seed(rng, index, _pick_seed(rng, seeds, profile))
    if roll < 0.75:
        return _generated(rng, index, mutated=False)
    return _generated(rng, index, mutated=True)


def _pick_seed(rng: random.Random, seeds, profile: str):
    """A seed, the YAML example more often than its share; in "quick", the big nets less often."""
    weights = []
    for s in seeds:
        w = 8.0 if s.fmt == "yaml" else 1.0
        if profile == "quick" and any(big in s.name for big in BIG_SEEDS):
            w = 0.1
        weights.append(w)
    return rng.choices(seeds, weights)[0]


def _mutated_seed(rng: random.Random, index: int, seed) -> Case:
    donors = [s.text for s in load_seeds() if s.fmt == seed.fmt]
    text, ops = mutate(seed.text, rng, seed.fmt, donors)
    return Case(index, f"mutate {seed.name}: {', '.join(ops)}", text, seed.fmt, seed.name, seed.base_dir)


def _generated(rng: random.Random, index: int, mutated: bool) -> Case:
    fmt = "yaml" if rng.random() < 0.5 else "arch"
    text = generate(rng, fmt)
    origin = f"generate {fmt}"
    if mutated:
        text, ops = mutate(text, rng, fmt)
        origin += ", mutate: " + ", ".join(ops)
    suffix = ".yaml" if fmt == "yaml" else ".arch"
    return Case(index, origin, text, fmt, f"specs/fuzz_generated_{index}{suffix}", "specs")
