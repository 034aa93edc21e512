"""Fractal analyses and the column-extraction transform.

    fractal_summaries(g)        per fractal: columns, each column's depth, its joins
    extract_column(g, k)        the network with only column k at every join

A fractal f_3 of one conv per base, and its column 3 extracted:

    x -> c -> c -> join1 -> c -> c -> join2        x -> c -> c -> c -> c
    |    x -> c ----^        |                 =>
    |         join1 -> c ----^   (columns 3,2)
    x -> c --------------------------^ (col. 1)
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import networkx as nx

from .. import ir
from ..errors import ArchError
from ..ops import Shape


@dataclass(frozen=True)
class FractalSummary:
    name: str  # the fractal module's qualified name
    columns: int
    join: str  # mean | sum | max | concat
    drop: str  # none | local | global | mix
    group: str
    column_depths: tuple[int, ...]  # weight layers along column 1..C
    joins: tuple[int, ...]  # inputs of each join, in creation order


def fractal_summaries(g: nx.DiGraph) -> list[FractalSummary]:
    by_name = {ir.node(g, nid).name: nid for nid in g.nodes}
    result = []
    for name, module in ir.modules(g).items():
        if module.kind != "fractal" or "output" not in module.annotations:
            continue
        a = module.annotations
        out = by_name[a["output"]]
        joins = tuple(len(ir.inputs(g, nid)) for nid in g.nodes
                      if ir.node(g, nid).kind == "join" and ir.parent_name(ir.node(g, nid).name) == name)
        depths = tuple(_column_depth(g, out, name, k) for k in range(1, a["columns"] + 1))
        result.append(FractalSummary(name, a["columns"], a["join"], a["drop"], a["group"], depths, joins))
    return result


def _column_depth(g: nx.DiGraph, out: ir.NodeId, fractal: str, k: int) -> int:
    """Weight layers on the longest path of column k inside one fractal."""
    prefix = fractal + "."
    inside = lambda nid: ir.node(g, nid).name.startswith(prefix)  # noqa: E731
    visited: set[ir.NodeId] = set()
    stack = [out]
    while stack:
        nid = stack.pop()
        if nid in visited or not inside(nid):
            continue
        visited.add(nid)
        node = ir.node(g, nid)
        preds = ir.inputs(g, nid)
        if node.kind == "join" and ir.parent_name(node.name) == fractal:
            preds = [p for p, column in zip(preds, node.op.columns) if column == k]
        stack.extend(preds)
    longest: dict[ir.NodeId, int] = {}
    for nid in sorted(visited):
        here = 1 if ir.node(g, nid).op.weight_layer else 0
        longest[nid] = here + max((longest[p] for p in ir.inputs(g, nid) if p in longest), default=0)
    return longest[out]


def extract_column(g: nx.DiGraph, k: int, group: str | None = None) -> tuple[nx.DiGraph, dict[ir.NodeId, Shape]]:
    """Keep only column k at every join (of `group`, or all); returns a new graph and its shapes.

    Node names are unchanged, so the full network's weights load into the column.
    """
    from .shapes import infer_shapes

    fractals = [(name, m) for name, m in ir.modules(g).items()
                if m.kind == "fractal" and (group is None or m.annotations.get("group") == group)]
    if not fractals:
        which = f" in drop-path group '{group}'" if group is not None else ""
        raise ArchError(f"there is no fractal{which}; a column can only be extracted from a fractal network")
    for name, m in fractals:
        if not 1 <= k <= m.annotations["columns"]:
            raise ArchError(f"column {k} does not exist: fractal '{name}' has columns 1..{m.annotations['columns']}", m.span)
    selected = lambda node: node.kind == "join" and (group is None or node.op.group == group)  # noqa: E731
    chosen: dict[ir.NodeId, ir.NodeId] = {}  # bypassed join -> its column-k input
    keep: set[ir.NodeId] = set()
    stack = [g.graph["output"]]
    while stack:
        nid = stack.pop()
        if nid in keep or nid in chosen:
            continue
        node = ir.node(g, nid)
        preds = ir.inputs(g, nid)
        if selected(node):
            if node.op.mode == "concat":
                raise ArchError(f"cannot extract a column through {node.name}: a concat join's width depends on all its columns",
                                node.span)
            matches = [p for p, column in zip(preds, node.op.columns) if column == k]
            if len(matches) != 1:
                raise ArchError(f"column {k} does not exist at {node.name}, which joins columns "
                                f"{', '.join(map(str, node.op.columns))}", node.span)
            chosen[nid] = matches[0]
            stack.append(matches[0])
        else:
            keep.add(nid)
            stack.extend(preds)
    def resolve(nid):
        while nid in chosen:
            nid = chosen[nid]
        return nid

    new = ir.new_graph(g.graph["name"] if "name" in g.graph else "")
    renumber: dict[ir.NodeId, ir.NodeId] = {}
    kept_names = {ir.node(g, nid).name for nid in keep}
    for nid in sorted(keep):  # shared copies are whole repetitions, so an owner stays with its column
        renumber[nid] = len(renumber)
        ir.add_node(new, replace(ir.node(g, nid), id=renumber[nid]), [renumber[resolve(p)] for p in ir.inputs(g, nid)])
    new.graph["input"] = renumber[g.graph["input"]]
    new.graph["output"] = renumber[resolve(g.graph["output"])]
    used = {""}
    for name in kept_names:
        while name:
            name = ir.parent_name(name)
            used.add(name)
    modules = {}
    for name, module in ir.modules(g).items():
        if name in used:
            if module.kind == "fractal":
                module = replace(module, kind="sequence", annotations={**module.annotations, "extracted_column": k})
            modules[name] = module
    new.graph["modules"] = modules
    return new, infer_shapes(new)
