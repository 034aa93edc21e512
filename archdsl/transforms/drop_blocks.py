"""Replace residual blocks by their shortcuts (Veit et al.'s deletion experiment).

With every other block kept, the number of paths halves per block dropped.

    layer2.3:  x -> [conv bn relu conv bn] + x -> relu_out -> ...   =>   x -> ...
    layer2.0:  x -> [...] + downsample(x) -> relu_out -> ...        =>   x -> downsample(x) -> ...

A block can be dropped when it is a residual block (transforms/blocks.py): it
holds exactly one residual unit (ir.ResidualUnit, recorded by the elaborator)
and nothing else, and its shortcut does not depend on its branch. A gate
(x * sigmoid(...)) is not a residual unit: dropping it is refused.
"""
from __future__ import annotations

from ..ir import Graph, verify
from .blocks import residual_block


def drop_blocks(g: Graph, names: list[str]) -> Graph:
    """A new graph with each named block replaced by its shortcut (in the order given)."""
    g = g.copy()
    for name in names:
        _drop_block(g, name)
    verify(g)
    return g


def _drop_block(g: Graph, name: str) -> None:
    block = residual_block(g, name)
    unit, prefix, mods = block.unit, name + ".", g.modules
    g.rewire(block.exit, unit.skip)
    g.remove(block.members - set(unit.shortcut))
    kept = [g.node(nid).name for nid in unit.shortcut]
    for m in [m for m in mods if m == name or m.startswith(prefix)]:
        if not any(n.startswith(m + ".") for n in kept):
            del mods[m]
