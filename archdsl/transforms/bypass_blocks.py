"""Replace a block or a layer by the identity: a lesion of a net without shortcuts (Veit et al.'s VGG lesion).

    conv1 -> [conv bn relu] -> [conv bn relu] -> ...   bypass layer1.1   conv1 -> [conv bn relu] -> ...
    ... -> features.3 (conv) -> features.4 -> ...      bypass features.3  ... -> features.4 -> ...

Unlike `drop_blocks`, nothing of the block remains: no shortcut carried its
input around it, so the chain the network was trained as is broken. Only a
module (or a single node) with one input and one output of the same shape can
be bypassed.
"""
from __future__ import annotations

from ..errors import ArchError, suggest
from ..ir import Graph, NodeId, verify
from ..ops import fmt
from ..passes import infer_shapes
from .blocks import block_members


def bypass_blocks(g: Graph, names: list[str]) -> Graph:
    """A new graph in which each named block is replaced by the identity."""
    g = g.copy()
    for name in names:
        _bypass(g, name)
    verify(g)
    return g


def bypassable_blocks(g: Graph, layers: bool = False) -> list[str]:
    """The blocks (or, with `layers`, the weight layers) that keep the shape of their single input, in order."""
    shapes = infer_shapes(g)
    if layers:
        return [g.node(n).name for n in g.order if g.node(n).op.traits.weight_layer
                and _ends(g, {n}, shapes) is not None]
    found = [(min(members), name) for name, module in g.modules.items() if module.kind == "block"
             for members in [block_members(g, name)] if _ends(g, members, shapes) is not None]
    return [name for _, name in sorted(found)]


def _ends(g: Graph, members: set[NodeId], shapes) -> tuple[NodeId, NodeId] | None:
    """(entry, exit) of a block with one outside input and one node read from outside, of equal shapes."""
    if not members or g.output in members:
        return None
    entries = {u for n in members for u in g.inputs(n) if u not in members}
    exits = {n for n in members if any(c not in members for c in g.consumers(n))}
    if len(entries) != 1 or len(exits) != 1:
        return None
    (entry,), (exit_node,) = entries, exits
    return (entry, exit_node) if shapes[entry] == shapes[exit_node] else None


def _bypass(g: Graph, name: str) -> None:
    by_name = g.by_name()
    if name in g.modules and name:
        members, span = block_members(g, name), g.modules[name].span
    elif name in by_name:
        members, span = {by_name[name]}, g.node(by_name[name]).span
    else:
        known = [m for m, mod in g.modules.items() if mod.kind == "block"] + list(by_name)
        raise ArchError(f"lesion: no block or layer '{name}' in the network{suggest(name, known)}")
    ends = _ends(g, members, infer_shapes(g))
    if ends is None:
        raise ArchError(f"lesion: '{name}' cannot be replaced by the identity: it changes the shape of its input "
                        f"or has several inputs or outputs", span)
    entry, exit_node = ends
    g.rewire(exit_node, entry)
    g.remove(members)
    for m in [m for m in g.modules if m == name or m.startswith(name + ".")]:
        del g.modules[m]
