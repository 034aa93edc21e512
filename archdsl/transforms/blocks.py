"""Which blocks of a graph are residual blocks: the unit a block holds, read from the recorded `g.units`.

A block (a module of the spec's hierarchy) is a residual block when it holds
exactly one residual unit (ir.ResidualUnit) and nothing else, and its shortcut
does not depend on its branch. `drop_blocks` and `reorder_blocks` act only on
these; the experiments (archdsl.experiments) list them with `residual_blocks`.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ArchError, suggest
from ..ir import Graph, NodeId, ResidualUnit


@dataclass(frozen=True)
class ResidualBlock:
    name: str  # the block's qualified name, e.g. "layer2.3"
    unit: ResidualUnit
    members: frozenset[NodeId]  # every node of the block

    @property
    def entry(self) -> NodeId:
        """The node the block starts from (its unit's fork, outside the block)."""
        return self.unit.fork

    @property
    def exit(self) -> NodeId:
        """The block's last node: the op after the join (a ReLU), or the join itself."""
        return self.unit.tail[-1] if self.unit.tail else self.unit.join


def block_members(g: Graph, name: str) -> set[NodeId]:
    prefix = name + "."
    return {nid for nid in g.order if g.node(nid).name.startswith(prefix)}


def residual_block(g: Graph, name: str, option: str = "--drop") -> ResidualBlock:
    """The residual block `name`, or an ArchError (prefixed with `option`) saying why it is not one."""
    mods = g.modules
    if not name or name not in mods:
        blocks = [m for m, mod in mods.items() if mod.kind == "block"]
        example = f" (blocks are e.g. {', '.join(blocks[:3])})" if blocks else " (this spec has no block calls)"
        raise ArchError(f"{option}: no block '{name}' in the network{suggest(name, blocks)}{example}")
    module = mods[name]
    members = block_members(g, name)
    if g.output in members:
        raise ArchError(f"{option}: '{name}' holds the network's output; only a block inside the network can be "
                        "dropped or moved", module.span)
    units = [u for u in g.units if u.join in members]
    if not units:
        raise ArchError(f"{option}: '{name}' is not a residual block (it holds no residual unit; a gate or a plain "
                        "block has no shortcut to keep), so dropping it would cut the network", module.span)
    if len(units) > 1 or set(units[0].nodes) != members:
        raise ArchError(f"{option}: '{name}' is not a residual block: it holds {len(units)} residual unit(s) and "
                        "other layers; drop the blocks inside it one by one", module.span)
    (unit,) = units
    body = set(unit.body)
    if any(p in body for n in unit.shortcut for p in g.inputs(n)):
        raise ArchError(f"{option}: the shortcut of '{name}' depends on its branch (a gated shortcut); "
                        "it cannot stand alone", module.span)
    return ResidualBlock(name, unit, frozenset(members))


def residual_blocks(g: Graph) -> list[ResidualBlock]:
    """Every residual block of the network, in network order (blocks nested in blocks are not listed)."""
    found = []
    for name, module in g.modules.items():
        if module.kind != "block":
            continue
        try:
            found.append(residual_block(g, name))
        except ArchError:
            continue
    return sorted(found, key=lambda b: b.unit.join)
