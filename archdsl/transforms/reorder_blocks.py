"""Run a chain of residual blocks in another order (Veit et al.'s reordering experiment).

    layer2.1 -> layer2.2 -> layer2.3      order [layer2.3, layer2.1, layer2.2]
                                     =>   layer2.3 -> layer2.1 -> layer2.2

The blocks must be residual blocks (transforms/blocks.py) that follow one
another directly (each starts from the previous one's last node, which only it
reads) and keep the shape of their input, so any order is well formed. Node
names are unchanged, so the original network's weights load into the result;
node ids are renumbered so that creation order stays topological.
"""
from __future__ import annotations

from dataclasses import replace

from ..errors import ArchError
from ..ir import Graph, Join, NodeId, verify
from ..ops import fmt
from ..passes import infer_shapes
from .blocks import ResidualBlock, residual_block


def reorder_blocks(g: Graph, order: list[str]) -> Graph:
    """A new graph in which the chain of blocks named in `order` runs in that order."""
    blocks = {name: residual_block(g, name, "reorder") for name in order}
    if len(blocks) != len(order):
        raise ArchError(f"reorder: a block is named twice in {', '.join(order)}")
    chain = sorted(blocks.values(), key=lambda b: b.unit.join)
    _check_chain(g, chain)
    sequence = [blocks[name] for name in order]
    entry, last_exit = chain[0].entry, chain[-1].exit
    substitute: dict[NodeId, dict[NodeId, NodeId]] = {}  # node -> {old input: new input}
    new_entry = {}
    previous = entry
    for block in sequence:
        new_entry[block.name] = previous
        for nid in block.members:
            substitute[nid] = {block.entry: previous}
        previous = block.exit
    members = set().union(*(b.members for b in chain))
    for nid in g.order:
        if nid not in members and last_exit in g.inputs(nid):
            substitute[nid] = {last_exit: previous}
    first = min(members)
    moved = [nid for b in sequence for nid in sorted(b.members)]
    node_order = [n for n in g.order if n < first and n not in members] + moved + \
                 [n for n in g.order if n > first and n not in members]
    output = previous if g.output == last_exit else g.output
    return _renumbered(g, node_order, substitute, new_entry, blocks, output)


def _check_chain(g: Graph, chain: list[ResidualBlock]) -> None:
    shapes = infer_shapes(g)
    for before, after in zip(chain, chain[1:]):
        if after.entry != before.exit or set(g.consumers(before.exit)) - after.members:
            raise ArchError(f"reorder: '{before.name}' and '{after.name}' do not follow one another directly; only "
                            "a chain of consecutive blocks can be reordered", g.modules[after.name].span)
    for block in chain:
        if shapes[block.entry] != shapes[block.exit]:
            raise ArchError(f"reorder: '{block.name}' changes the shape of its input ({fmt(shapes[block.entry])} -> "
                            f"{fmt(shapes[block.exit])}); only shape-keeping blocks can move", g.modules[block.name].span)
        outside = [g.node(n).name for n in block.members for u in g.inputs(n) if u not in block.members
                   and u != block.entry]
        shared = [g.node(n).name for n in block.members if g.node(n).shared_with]
        if outside or shared:
            raise ArchError(f"reorder: '{block.name}' reads other layers than its input or shares weights "
                            f"({', '.join(outside + shared)}); it cannot move", g.modules[block.name].span)


def _renumbered(g: Graph, node_order, substitute, new_entry, blocks, output) -> Graph:
    ids = {old: new for new, old in enumerate(node_order)}
    new = Graph(g.name)
    for old in node_order:
        swap = substitute.get(old, {})
        inputs = [ids[swap.get(u, u)] for u in g.inputs(old)]
        new.add(replace(g.node(old), id=ids[old]), inputs)
    new.modules = dict(g.modules)
    new.input, new.output = ids[g.input], ids[output]
    new.joins = {ids[n]: Join(ids[n], j.roles) for n, j in g.joins.items()}
    by_join = {b.unit.join: b.name for b in blocks.values()}
    units = []
    for u in g.units:
        fork = new_entry.get(by_join.get(u.join), u.fork)
        skip = fork if u.skip == u.fork else u.skip
        units.append(replace(u, fork=ids[fork], skip=ids[skip], join=ids[u.join],
                             body=tuple(ids[n] for n in u.body), shortcut=tuple(ids[n] for n in u.shortcut),
                             tail=tuple(ids[n] for n in u.tail)))
    new.units = sorted(units, key=lambda u: u.join)
    verify(new)
    return new

