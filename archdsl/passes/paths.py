"""Exact path statistics: how many input-to-output paths a network has, and how long they are.

Computed by dynamic programming over the topological order, never by
enumerating paths, with Python integers throughout (ResNet-1001's 2^333
paths are exact). Each node gets the generating polynomial of the lengths
of the paths reaching it: a node adds its inputs' polynomials (a join sums
paths) and multiplies by x^w for its own length w. Polynomials are packed
into one big integer each (Kronecker substitution: coefficient k sits in
bits [k*B, (k+1)*B)), so a sum of polynomials is one integer addition and a
shift by w is one integer shift.

    input -> conv -> [conv conv] + id -> [conv conv] + id -> [conv conv] + id -> linear
      => 8 paths; modules passed 0,1,1,1,2,2,2,3: histogram_modules [1, 3, 3, 1]
                  weight layers   2,4,4,4,6,6,6,8: histogram_layers {2: 1, 4: 3, 6: 3, 8: 1}

Two units of length:

layers   the weight layers on the path (ops with `weight_layer`: conv, linear),
         projection shortcuts included.
modules  the branch bodies the path goes through (Veit et al. 2016's "residual
         modules"). Let a *join* be a node with two or more inputs (add, concat,
         mean, join, ...) and d its immediate dominator (the fork where the paths
         that meet at the join split). An input edge u -> join is a *skip* if
         u is d itself (the identity shortcut; DenseNet's direct connection)
         or u is a shortcut node (op family `shortcut`, such as option A's
         zero-padding, or a node inside a `shortcut` module: the projection),
         or u is a join on the way from d (a highway net's carry x * (1 - T)).
         Any other input edge u -> join *closes a body*, and u is a body's
         last node. A path's length in modules is the number of body-closing
         nodes on it. So a residual block counts 1 through its branch and 0
         through its shortcut; an Inception module 1 through any branch; a
         dense layer 1; PolyNet's x + F(x) + G(F(x)) 0, 1 and 2; a body nested
         in another (a parallel inside a residual branch) counts once for each
         body it closes.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import networkx as nx

from .. import ir

UNITS = ("modules", "layers")


# ---------------------------------------------------------------- graph structure


def immediate_dominators(g: nx.DiGraph) -> dict[ir.NodeId, ir.NodeId | None]:
    """The immediate dominator of every node reachable from the input (the input's is None).

    In a DAG taken in topological order the dominator-tree parent of a node is
    the nearest common dominator of its inputs (Cooper, Harvey and Kennedy's
    intersection, with topological positions as the order).
    """
    order = ir.topo_order(g)
    position = {nid: i for i, nid in enumerate(order)}
    idom: dict[ir.NodeId, ir.NodeId | None] = {g.graph["input"]: None}
    for nid in order:
        if nid in idom:
            continue
        preds = [p for p in g.pred[nid] if p in idom]
        if not preds:
            continue  # not reachable from the input
        d = preds[0]
        for p in preds[1:]:
            while d != p:
                while position[d] > position[p]:
                    d = idom[d]
                while position[p] > position[d]:
                    p = idom[p]
        idom[nid] = d
    return idom


def shortcut_nodes(g: nx.DiGraph) -> set[ir.NodeId]:
    """Nodes that make a shortcut path: op family `shortcut`, or inside a `shortcut` module."""
    mods = ir.modules(g)
    in_shortcut: dict[str, bool] = {}

    def module_is_shortcut(name: str) -> bool:
        if name not in in_shortcut:
            module = mods.get(name)
            own = module is not None and module.kind == "shortcut"
            in_shortcut[name] = own or (bool(name) and module_is_shortcut(ir.parent_name(name)))
        return in_shortcut[name]

    found = set()
    for nid in ir.topo_order(g):
        node = ir.node(g, nid)
        if node.op.family == "shortcut" or module_is_shortcut(ir.parent_name(node.name)):
            found.add(nid)
    return found


def joins(g: nx.DiGraph) -> list[ir.NodeId]:
    """Nodes with two or more inputs, in topological order."""
    return [nid for nid in ir.topo_order(g) if len(g.pred[nid]) >= 2]


def skip_edges(g: nx.DiGraph, idom: dict | None = None, shortcuts: set | None = None) -> set[tuple[ir.NodeId, ir.NodeId]]:
    """Input edges of joins that skip a body: from the join's dominator, from a shortcut node,
    or from a *carry* join (one that takes the same dominator directly, like a highway
    network's x * (1 - T(x)) on its way to the add)."""
    idom = immediate_dominators(g) if idom is None else idom
    shortcuts = shortcut_nodes(g) if shortcuts is None else shortcuts
    skips: set[tuple[ir.NodeId, ir.NodeId]] = set()
    carries: set[ir.NodeId] = set()
    for j in joins(g):
        fork = idom.get(j)
        for u in g.pred[j]:
            if u == fork or u in shortcuts or (u in carries and idom.get(u) == fork):
                skips.add((u, j))
        if (fork, j) in skips:
            carries.add(j)
    return skips


def body_edges(g: nx.DiGraph) -> set[tuple[ir.NodeId, ir.NodeId]]:
    """Input edges of joins that close a branch body (every input edge of a join that is not a skip)."""
    skips = skip_edges(g)
    return {(u, j) for j in joins(g) for u in g.pred[j] if (u, j) not in skips}


def body_ends(g: nx.DiGraph) -> set[ir.NodeId]:
    """The last node of each branch body: a path through one has passed one more module."""
    return {u for u, _ in body_edges(g)}


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Histogram:
    """Path counts by length: `counts[k]` paths have length k (exact integers)."""

    unit: str  # "modules" or "layers"
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def shortest(self) -> int:
        return next(k for k, c in enumerate(self.counts) if c)

    @property
    def longest(self) -> int:
        return len(self.counts) - 1

    @property
    def mean(self) -> Fraction:
        return Fraction(sum(k * c for k, c in enumerate(self.counts)), self.total)

    @property
    def median(self) -> int:
        """The lower median: the length of path number ceil(total / 2) in order of length."""
        half, seen = (self.total + 1) // 2, 0
        for k, c in enumerate(self.counts):
            seen += c
            if seen >= half:
                return k
        raise AssertionError("unreachable")  # pragma: no cover

    def count_within(self, low: int, high: int) -> int:
        """Paths with low <= length <= high."""
        return sum(self.counts[max(low, 0) : max(high + 1, 0)])

    def fraction_within(self, low: int, high: int) -> Fraction:
        return Fraction(self.count_within(low, high), self.total)

    def items(self) -> list[tuple[int, int]]:
        """(length, count) for every length some path has."""
        return [(k, c) for k, c in enumerate(self.counts) if c]


@dataclass(frozen=True)
class PathStats:
    """`Architecture.paths()`: the number of input-to-output paths and their length distributions."""

    total: int
    modules: Histogram
    layers: Histogram

    def histogram(self, unit: str) -> Histogram:
        if unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
        return self.modules if unit == "modules" else self.layers

    def to_dict(self, within: tuple[int, int] | None = None, unit: str = "modules") -> dict:
        """JSON-ready: counts are decimal strings (they exceed 2^53), lengths ints, means floats."""
        h = {u: self.histogram(u) for u in UNITS}
        data = {
            "total_paths": str(self.total),
            "total_paths_log2": round(self.total.bit_length() - 1 + _mantissa_log2(self.total), 6),
            "histogram_modules": {str(k): str(c) for k, c in h["modules"].items()},
            "histogram_layers": {str(k): str(c) for k, c in h["layers"].items()},
            "shortest": {u: h[u].shortest for u in UNITS},
            "longest": {u: h[u].longest for u in UNITS},
            "mean": {u: float(h[u].mean) for u in UNITS},
            "mean_exact": {u: str(h[u].mean) for u in UNITS},
            "median": {u: h[u].median for u in UNITS},
        }
        if within is not None:
            low, high = within
            share = h[unit].fraction_within(low, high)
            data["range"] = {
                "unit": unit,
                "low": low,
                "high": high,
                "paths": str(h[unit].count_within(low, high)),
                "fraction": float(share),
                "fraction_exact": f"{share.numerator}/{share.denominator}",
            }
        return data


def _mantissa_log2(n: int) -> float:
    """log2(n) minus its integer part, from the top 53 bits (n may exceed a float)."""
    import math

    shift = max(n.bit_length() - 53, 0)
    top = n >> shift
    return math.log2(top) - (top.bit_length() - 1)


# ---------------------------------------------------------------- the dynamic programme


def path_stats(g: nx.DiGraph) -> PathStats:
    """Count input-to-output paths and their lengths in both units (see the module docstring)."""
    order = ir.topo_order(g)
    source, sink = g.graph["input"], g.graph["output"]
    counts: dict[ir.NodeId, int] = {}
    for nid in order:
        counts[nid] = 1 if nid == source else sum(counts[p] for p in g.pred[nid])
    digit_bits = 8 * ((max(counts.values()).bit_length() + 7) // 8)  # one coefficient never exceeds this

    layer_nodes = {nid for nid in order if ir.node(g, nid).op.weight_layer}
    by_modules = _packed_polynomial(g, order, source, sink, digit_bits, body_ends(g))
    by_layers = _packed_polynomial(g, order, source, sink, digit_bits, layer_nodes)
    return PathStats(
        counts[sink],
        Histogram("modules", _unpack(by_modules, digit_bits)),
        Histogram("layers", _unpack(by_layers, digit_bits)),
    )


def _packed_polynomial(g, order, source, sink, bits: int, steps: set) -> int:
    """The sink's length polynomial, packed; each node in `steps` adds 1 to the paths through it."""
    poly: dict[ir.NodeId, int] = {}
    waiting = {nid: len(g.succ[nid]) for nid in order}  # consumers not yet computed; frees memory early
    for nid in order:
        preds = g.pred[nid]
        if nid == source:
            acc = 1
        elif len(preds) == 1:
            (p,) = preds
            acc = poly[p]
        else:
            acc = 0
            for p in preds:
                acc += poly[p]
        for p in preds:
            waiting[p] -= 1
            if waiting[p] == 0 and p != sink:
                del poly[p]
        poly[nid] = acc << bits if nid in steps else acc
    return poly[sink]


def _unpack(packed: int, bits: int) -> tuple[int, ...]:
    width = bits // 8
    data = packed.to_bytes(max((packed.bit_length() + 7) // 8, 1), "little")
    return tuple(int.from_bytes(data[i : i + width], "little") for i in range(0, len(data), width))
