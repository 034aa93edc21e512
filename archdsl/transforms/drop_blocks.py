"""Replace residual blocks by their shortcuts (Veit et al.'s deletion experiment).

With every other block kept, the number of paths halves per block dropped.

    layer2.3:  x -> [conv bn relu conv bn] + x -> relu_out -> ...   =>   x -> ...
    layer2.0:  x -> [...] + downsample(x) -> relu_out -> ...        =>   x -> downsample(x) -> ...

A block can be dropped when it holds exactly one residual unit (ir.ResidualUnit,
recorded by the elaborator) and nothing else, and its shortcut does not depend
on its branch. A gate (x * sigmoid(...)) is not a residual unit: dropping it is
refused.
"""
from __future__ import annotations

from ..errors import ArchError, suggest
from ..ir import Graph, verify


def drop_blocks(g: Graph, names: list[str]) -> Graph:
    """A new graph with each named block replaced by its shortcut (in the order given)."""
    g = g.copy()
    for name in names:
        _drop_block(g, name)
    verify(g)
    return g


def _drop_block(g: Graph, name: str) -> None:
    mods = g.modules
    if not name or name not in mods:
        blocks = [m for m, mod in mods.items() if mod.kind == "block"]
        example = f" (blocks are e.g. {', '.join(blocks[:3])})" if blocks else " (this spec has no block calls)"
        raise ArchError(f"--drop: no block '{name}' in the network{suggest(name, blocks)}{example}")
    module = mods[name]
    prefix = name + "."
    members = {nid for nid in g.order if g.node(nid).name.startswith(prefix)}
    if g.output in members:
        raise ArchError(f"--drop: '{name}' holds the network's output; only a block inside the network can be dropped",
                        module.span)
    units = [u for u in g.units if u.join in members]
    if not units:
        raise ArchError(f"--drop: '{name}' is not a residual block (it holds no residual unit; a gate or a plain "
                        "block has no shortcut to keep), so dropping it would cut the network", module.span)
    if len(units) > 1 or set(units[0].nodes) != members:
        raise ArchError(f"--drop: '{name}' is not a residual block: it holds {len(units)} residual unit(s) and other "
                        "layers; drop the blocks inside it one by one", module.span)
    (unit,) = units
    body = set(unit.body)
    if any(p in body for n in unit.shortcut for p in g.inputs(n)):
        raise ArchError(f"--drop: the shortcut of '{name}' depends on its branch (a gated shortcut); "
                        "it cannot stand alone", module.span)
    exit_node = unit.tail[-1] if unit.tail else unit.join
    g.rewire(exit_node, unit.skip)
    g.remove(members - set(unit.shortcut))
    kept = [g.node(nid).name for nid in unit.shortcut]
    for m in [m for m in mods if m == name or m.startswith(prefix)]:
        if not any(n.startswith(m + ".") for n in kept):
            del mods[m]
