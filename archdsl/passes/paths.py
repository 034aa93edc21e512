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

Which edges carry paths, and what closes a module, is what the elaborator
recorded (ir.Graph.roles): a join's input is a BODY (the end of a branch
body), a SKIP (a shortcut: the identity, a projection, a highway carry), or,
at a gate (x * sigmoid(...), a spatial transformer's sampler), the DATA it
modulates or the GATE that modulates it. A gate's modulating input carries no
path: a gate never adds a path.

Two units of length:

layers   the weight layers on the path (conv, linear), projection shortcuts included.
modules  the branch bodies the path goes through (Veit et al. 2016's "residual
         modules"): the number of BODY inputs of joins (with two or more
         inputs) the path arrives through. A residual block counts 1 through
         its branch and 0 through its shortcut; an Inception module 1 through
         any branch; a dense layer 1; PolyNet's x + F(x) + G(F(x)) 0, 1 and 2;
         a body nested in another counts once for each body it closes.

Exact statistics cost time and memory that grow with the number of nodes times
the number of lengths times the bits of the counts; that cost is estimated
first and a network past MAX_PATH_BITS is refused (a 30,000-block ResNet
would need tens of gigabytes).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..errors import ArchError
from ..ir import Graph, NodeId, Role

UNITS = ("modules", "layers")
MAX_PATH_BITS = 2 * 10**10  # coefficient bits the dynamic programme may handle (~3 s on one core)


# ---------------------------------------------------------------- which edges carry paths


def path_inputs(g: Graph, nid: NodeId) -> tuple[NodeId, ...]:
    """The inputs of `nid` that paths continue through (all but a gate's modulating inputs)."""
    ins = g.inputs(nid)
    if len(ins) < 2 and nid not in g.joins:
        return ins
    return tuple(u for u, role in zip(ins, g.roles(nid)) if role is not Role.GATE)


def body_ends(g: Graph) -> set[NodeId]:
    """The last node of each branch body: a path arriving at a join through one has passed one more module."""
    ends = set()
    for nid in g.order:
        ins = g.inputs(nid)
        if len(ins) >= 2:
            ends.update(u for u, role in zip(ins, g.roles(nid)) if role is Role.BODY)
    return ends


def skip_edges(g: Graph) -> set[tuple[NodeId, NodeId]]:
    """Input edges of joins that are shortcuts (drawn dashed)."""
    return {(u, nid) for nid in g.order for u, role in zip(g.inputs(nid), g.roles(nid)) if role is Role.SKIP}


def shortcut_nodes(g: Graph) -> set[NodeId]:
    """Nodes on a shortcut path: the recorded shortcuts of residual units, and shortcut ops (zero-padding)."""
    found = {n for unit in g.units for n in unit.shortcut}
    found.update(nid for nid in g.order if g.node(nid).op.traits.shortcut)
    return found


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


def path_stats(g: Graph) -> PathStats:
    """Count input-to-output paths and their lengths in both units (see the module docstring)."""
    order = g.order
    source, sink = g.input, g.output
    inputs = {nid: path_inputs(g, nid) for nid in order}
    counts: dict[NodeId, int] = {}
    for nid in order:
        counts[nid] = 1 if nid == source else sum(counts[p] for p in inputs[nid])
    if counts[sink] == 0:
        raise ArchError("no path leads from the input to the output", g.node(sink).span)
    digit_bits = 8 * ((max(counts.values()).bit_length() + 7) // 8)  # one coefficient never exceeds this
    layer_nodes = {nid for nid in order if g.node(nid).op.weight_layer}
    ends = body_ends(g)
    _check_cost(g, order, inputs, digit_bits, (ends, layer_nodes))
    by_modules = _packed_polynomial(order, inputs, source, sink, digit_bits, ends)
    by_layers = _packed_polynomial(order, inputs, source, sink, digit_bits, layer_nodes)
    return PathStats(counts[sink], Histogram("modules", _unpack(by_modules, digit_bits)),
                     Histogram("layers", _unpack(by_layers, digit_bits)))


def _check_cost(g: Graph, order, inputs, digit_bits: int, step_sets) -> None:
    """Refuse, at the node where it happens, a network whose polynomials would pass MAX_PATH_BITS.

    A node's polynomial holds one coefficient per length from its shortest to its longest path.
    """
    total = 0
    for steps in step_sets:
        longest: dict[NodeId, int] = {}
        shortest: dict[NodeId, int] = {}
        for nid in order:
            preds = inputs[nid]
            step = nid in steps
            if len(preds) == 1:
                high, low = longest[preds[0]] + step, shortest[preds[0]] + step
            else:
                high = max((longest[p] for p in preds), default=0) + step
                low = min((shortest[p] for p in preds), default=0) + step
            longest[nid], shortest[nid] = high, low
            total += (high - low + 1) * digit_bits
            if total > MAX_PATH_BITS:
                raise ArchError(
                    f"exact path statistics of this network would handle over {MAX_PATH_BITS / 8e9:.1f} GB of "
                    f"polynomial coefficients (paths of {shortest[nid]} to {longest[nid]} steps, counts of "
                    f"{digit_bits:,} bits) by this node already; archdsl refuses them (drop blocks with --drop, or "
                    "lower the depth)", g.node(nid).span)


def _packed_polynomial(order, inputs, source, sink, bits: int, steps: set) -> int:
    """The sink's length polynomial, packed; each node in `steps` adds 1 to the paths through it.

    A node's polynomial is kept as (shift, packed) = x^shift * P(x), so a chain only counts its shift
    (ResNet-free stretches and 100,000-layer chains cost nothing per layer).
    """
    poly: dict[NodeId, tuple[int, int]] = {}
    waiting: dict[NodeId, int] = dict.fromkeys(order, 0)  # consumers not yet computed; frees memory early
    for nid in order:
        for p in inputs[nid]:
            waiting[p] += 1
    for nid in order:
        preds = inputs[nid]
        if nid == source:
            shift, acc = 0, 1
        elif len(preds) == 1:
            shift, acc = poly[preds[0]]
        else:
            shift = min(poly[p][0] for p in preds)
            acc = 0
            for p in preds:
                s, v = poly[p]
                acc += v << ((s - shift) * bits)
        for p in preds:
            waiting[p] -= 1
            if waiting[p] == 0 and p != sink:
                del poly[p]
        poly[nid] = (shift + 1, acc) if nid in steps else (shift, acc)
    shift, acc = poly[sink]
    return acc << (shift * bits)


def _unpack(packed: int, bits: int) -> tuple[int, ...]:
    width = bits // 8
    data = packed.to_bytes(max((packed.bit_length() + 7) // 8, 1), "little")
    return tuple(int.from_bytes(data[i : i + width], "little") for i in range(0, len(data), width))
