"""Fractal analyses: per fractal, its columns, each column's depth and its joins.

    fractal_summaries(g)   one FractalSummary per fractal module (from its FractalInfo record)

A column's depth is the number of weight layers on the longest path through
the fractal that, at every join of the fractal, arrives from that column.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..ir import FractalInfo, Graph, NodeId


@dataclass(frozen=True)
class FractalSummary:
    name: str  # the fractal module's qualified name
    columns: int
    join: str  # mean | sum | max | concat
    drop: str  # none | local | global | mix
    group: str
    column_depths: tuple[int, ...]  # weight layers along column 1..C
    joins: tuple[int, ...]  # inputs of each join, in creation order


def fractals(g: Graph) -> list[tuple[str, FractalInfo]]:
    return [(name, m.info) for name, m in g.modules.items() if isinstance(m.info, FractalInfo) and m.info.output]


def fractal_summaries(g: Graph) -> list[FractalSummary]:
    by_name = g.by_name()
    result = []
    for name, info in fractals(g):
        joins = [by_name[j] for j in info.joins]
        out = by_name[info.output]
        depths = tuple(_column_depth(g, out, name, set(joins), k) for k in range(1, info.columns + 1))
        result.append(FractalSummary(name, info.columns, info.join, info.drop, info.group, depths,
                                     tuple(len(g.inputs(j)) for j in joins)))
    return result


def _column_depth(g: Graph, out: NodeId, fractal: str, joins: set[NodeId], k: int) -> int:
    """Weight layers on the longest path of column k inside one fractal."""
    prefix = fractal + "."
    visited: set[NodeId] = set()
    stack = [out]
    while stack:
        nid = stack.pop()
        if nid in visited or not g.node(nid).name.startswith(prefix):
            continue
        visited.add(nid)
        preds = g.inputs(nid)
        if nid in joins:
            preds = [p for p, column in zip(preds, g.node(nid).op.columns) if column == k]
        stack.extend(preds)
    longest: dict[NodeId, int] = {}
    for nid in sorted(visited):
        here = 1 if g.node(nid).op.weight_layer else 0
        longest[nid] = here + max((longest[p] for p in g.inputs(nid) if p in longest), default=0)
    return longest[out]
