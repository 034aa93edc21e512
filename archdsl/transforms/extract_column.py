"""FractalNet's column extraction: keep only column k at every join (of one drop-path group, or all).

    x -> c -> c -> join1 -> c -> c -> join2        x -> c -> c -> c -> c
    |    x -> c ----^        |                 =>
    |         join1 -> c ----^   (columns 3,2)
    x -> c --------------------------^ (col. 1)

Node names are unchanged, so the full network's weights load into the column.
"""
from __future__ import annotations

from dataclasses import replace

from ..errors import ArchError
from ..ir import Graph, NodeId, verify
from ..passes.fractal import fractals


def extract_column(g: Graph, k: int, group: str | None = None) -> Graph:
    """Keep only column k at every join (of `group`, or all); returns a new, verified graph."""
    chosen_fractals = [(name, info) for name, info in fractals(g) if group is None or info.group == group]
    if not chosen_fractals:
        which = f" in drop-path group '{group}'" if group is not None else ""
        raise ArchError(f"there is no fractal{which}; a column can only be extracted from a fractal network")
    for name, info in chosen_fractals:
        if not 1 <= k <= info.columns:
            raise ArchError(f"column {k} does not exist: fractal '{name}' has columns 1..{info.columns}",
                            g.modules[name].span)
    by_name = g.by_name()
    joins = {by_name[j] for _, info in chosen_fractals for j in info.joins}

    def resolve(nid: NodeId) -> NodeId:
        """Past every selected join on the way: its column-k input."""
        while nid in joins:
            nid = _column_input(g, nid, k)
        return nid

    stack = [resolve(g.output)]
    keep = set()
    while stack:
        nid = stack.pop()
        if nid in keep:
            continue
        keep.add(nid)
        stack.extend(resolve(p) for p in g.inputs(nid))
    new = Graph(g.name)
    for nid in g.order:  # shared copies are whole repetitions, so an owner stays with its column
        if nid in keep:
            new.add(g.node(nid), [resolve(p) for p in g.inputs(nid)])
    new.input, new.output = g.input, resolve(g.output)
    new.joins = {n: j for n, j in g.joins.items() if n in keep}
    new.units = [u for u in g.units if set(u.nodes) <= keep]
    new.modules = _kept_modules(g, new, k)
    verify(new)
    return new


def _column_input(g: Graph, join: NodeId, k: int) -> NodeId:
    node = g.node(join)
    if node.op.mode == "concat":
        raise ArchError(f"cannot extract a column through {node.name}: a concat join's width depends on all its "
                        "columns", node.span)
    matches = [p for p, column in zip(g.inputs(join), node.op.columns) if column == k]
    if len(matches) != 1:
        raise ArchError(f"column {k} does not exist at {node.name}, which joins columns "
                        f"{', '.join(map(str, node.op.columns))}", node.span)
    return matches[0]


def _kept_modules(g: Graph, new: Graph, k: int) -> dict:
    used = {""}
    for node in new.nodes():
        name = node.name
        while name:
            name = name.rpartition(".")[0]
            used.add(name)
    modules = {}
    for name, module in g.modules.items():
        if name in used:
            if module.kind == "fractal":
                module = replace(module, kind="sequence", info=None)
            modules[name] = module
    return modules
