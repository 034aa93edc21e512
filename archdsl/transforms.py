"""Graph transforms that derive a new Architecture from a loaded one.

drop_blocks: replace residual blocks by their shortcuts (Veit et al.'s deletion
experiment; with every other block kept, the number of paths halves per block).

    layer2.3:  x -> [conv bn relu conv bn] + x -> relu_out -> ...   =>   x -> ...
    layer2.0:  x -> [...] + downsample(x) -> relu_out -> ...        =>   x -> downsample(x) -> ...
"""
from __future__ import annotations

from . import ir
from .errors import ArchError, suggest
from .passes.paths import immediate_dominators, shortcut_nodes


def drop_blocks(arch, names: list[str]):
    """A new Architecture with each named block replaced by its shortcut (in the order given)."""
    from .api import Architecture

    if not names:
        return arch
    g = arch.graph.copy()
    g.graph["modules"] = dict(ir.modules(g))
    for name in names:
        _drop_block(g, name)
    ir.verify(g)
    shapes = {nid: arch.shapes[nid] for nid in g.nodes}
    label = f"{arch.name} without {', '.join(names)}"
    return Architecture(label, g, shapes, arch.config, arch.source)


def _drop_block(g, name: str) -> None:
    mods = ir.modules(g)
    if not name or name not in mods:
        blocks = [m for m, mod in mods.items() if mod.kind == "block"]
        example = f" (blocks are e.g. {', '.join(blocks[:3])})" if blocks else " (this spec has no block calls)"
        raise ArchError(f"--drop: no block '{name}' in the network{suggest(name, blocks)}{example}")
    prefix = name + "."
    members = [nid for nid in ir.topo_order(g) if ir.node(g, nid).name.startswith(prefix)]
    inside = set(members)
    entries = {p for nid in members for p in g.pred[nid] if p not in inside}
    exits = [nid for nid in members if any(c not in inside for c in g.succ[nid])]
    if g.graph["output"] in inside:
        raise ArchError(f"--drop: '{name}' holds the network's output; only a block inside the network can be dropped")
    if len(entries) != 1 or len(exits) != 1:
        raise ArchError(f"--drop: '{name}' has {len(entries)} inputs and {len(exits)} outputs; only a block with one of each can be replaced by its shortcut")
    (entry,), (exit_,) = entries, exits
    idom = immediate_dominators(g)
    shortcuts = shortcut_nodes(g)
    residual_joins = [j for j in members if len(g.pred[j]) >= 2 and idom.get(j) == entry]
    skips = [u for j in residual_joins for u in g.pred[j] if u == entry or u in shortcuts]
    if len(residual_joins) != 1 or len(skips) != 1:
        raise ArchError(f"--drop: '{name}' is not a residual block (no single shortcut around it); dropping it would cut the network")
    (join,), skip = residual_joins, skips[0]
    tail = [n for n in members if n > join]  # after the join: a plain chain (the ReLU after the add)
    if any(len(g.pred[n]) != 1 for n in tail) or _ancestors_within(g, join, inside) | set(tail) != inside:
        raise ArchError(f"--drop: '{name}' is not a residual block (it holds more than one residual unit)")
    keep = _ancestors_within(g, skip, inside) if skip != entry else set()
    consumers = [(c, g.edges[exit_, c]["index"]) for c in g.succ[exit_] if c not in inside]
    g.remove_nodes_from(nid for nid in members if nid not in keep)
    for c, index in consumers:
        g.add_edge(skip, c, index=index)
    kept_names = [ir.node(g, nid).name for nid in keep]
    for module in [m for m in mods if m == name or m.startswith(prefix)]:
        if not any(n.startswith(module + ".") for n in kept_names):
            del mods[module]


def _ancestors_within(g, nid, inside: set) -> set:
    found, stack = set(), [nid]
    while stack:
        n = stack.pop()
        if n in inside and n not in found:
            found.add(n)
            stack.extend(g.pred[n])
    return found
