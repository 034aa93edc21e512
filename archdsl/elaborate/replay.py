"""Block calls built once and replayed: a deep net repeats the same few block instances.

A block's body depends only on its template, its argument values and its
input's shape (what `in_channels`, `in_height`, `in_width` show), so the
second `basic(16)` on a 16x32x32 map makes the same nodes, modules, joins and
residual units as the first, under another prefix. `Recording.capture` keeps
what a call made, relative to its input and its prefix; `replay` adds it again
without evaluating, binding or inferring anything. A call whose body reaches
outside itself (weights shared with nodes before it, structures' own
bookkeeping such as linear-decay stochastic depth or fractal drop groups, a
module record that names nodes) is never recorded: it is built every time.
`call_key` is the smaller reuse: one op (or structure config) per call and values.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from ..ir import BlockInfo, ColumnInfo, Join, Module, Node, RepeatInfo, ResidualUnit
from ..ops import Shape
from ..syntax import ast as A
from .evaluator import evaluate

PLAIN_INFO = (type(None), BlockInfo, RepeatInfo, ColumnInfo)  # module records that name no node


def replay_key(block, values: dict, shape: Shape) -> tuple | None:
    """(template, typed argument values, input shape); None if a value is unhashable (a map)."""
    try:
        key = (id(block), _typed(tuple(values.values())), shape)
        hash(key)
    except TypeError:
        return None
    return key


def _typed(value):
    if isinstance(value, tuple):
        return tuple(_typed(v) for v in value)
    if isinstance(value, float):
        return (float, value.hex())  # 0.0 and -0.0 differ; nan keys never match, so never replay
    return (type(value), value)  # True and 1 differ


@dataclass(frozen=True)
class Mark:
    """Where the graph stood when a block call began."""

    nodes: int
    modules: int
    joins: int
    units: int
    tensors: int
    work: int
    depth: int
    state: dict

    @classmethod
    def take(cls, e) -> "Mark":
        return cls(len(e.shapes), len(e.g.modules), len(e.g.joins), len(e.g.units), len(e.tensors), e.work,
                   len(e.block_stack), _state(e))


def _state(e) -> dict:
    return {k: (len(v) if isinstance(v, (list, dict)) else v) for k, v in e.state.items()}


class Recording:
    """What one block call made, relative to its input (-1) and first node (0), names without the prefix."""

    __slots__ = ("nodes", "modules", "joins", "units", "tensors", "out", "work", "depth")

    @classmethod
    def capture(cls, e, mark: Mark, cur: int, prefix: str, out: int) -> "Recording | None":
        g, start, end = e.g, mark.nodes, len(e.shapes)
        p = prefix + "."

        def rel(nid):
            if nid == cur:
                return -1
            if start <= nid < end:
                return nid - start
            raise _Outside

        def local(name):
            if name is None:
                return None
            if not name.startswith(p):
                raise _Outside
            return name[len(p):]

        if _state(e) != mark.state:
            return None
        try:
            nodes = []
            for nid in range(start, end):
                node = g.node(nid)
                nodes.append((local(node.name), node.op, node.span, local(node.shared_with),
                              tuple(rel(i) for i in g.inputs(nid)), e.shapes[nid]))
            modules = []
            for name in _last(g.modules, len(g.modules) - mark.modules):
                module = g.modules[name]
                if not isinstance(module.info, PLAIN_INFO):
                    return None
                modules.append((local(name), module.kind, module.span, module.info))
            joins = [(rel(nid), g.joins[nid].roles) for nid in _last(g.joins, len(g.joins) - mark.joins)]
            units = [(u.kind, rel(u.fork), tuple(map(rel, u.body)), tuple(map(rel, u.shortcut)), rel(u.skip),
                      rel(u.join), tuple(map(rel, u.tail))) for u in g.units[mark.units:]]
            tensors = [(local(name), rel(e.tensors[name])) for name in _last(e.tensors, len(e.tensors) - mark.tensors)]
            out = rel(out)
        except _Outside:
            return None
        r = cls()
        r.nodes, r.modules, r.joins, r.units, r.tensors, r.out = nodes, modules, joins, units, tensors, out
        r.work, r.depth = e.work - mark.work, mark.depth
        return r

    def fits(self, e, max_nodes: int, max_work: int) -> bool:
        """Replaying stays within the budgets (else the call is built, and refused where it passes them)."""
        return (len(e.block_stack) <= self.depth and len(e.shapes) + len(self.nodes) <= max_nodes
                and e.work + self.work <= max_work)

    def replay(self, e, cur: int, prefix: str) -> int:
        g, shapes = e.g, e.shapes
        base, p = len(shapes), prefix + "."

        def at(r):
            return cur if r < 0 else base + r

        add = g.add
        for suffix, op, span, shared, inputs, shape in self.nodes:
            nid = len(shapes)
            add(Node(nid, p + suffix, op, span, None if shared is None else p + shared),
                [cur if r < 0 else base + r for r in inputs])
            shapes[nid] = shape
        for suffix, kind, span, info in self.modules:
            g.modules[p + suffix] = Module(p + suffix, kind, span, info)
        for r, roles in self.joins:
            g.joins[at(r)] = Join(at(r), roles)
        for kind, fork, body, shortcut, skip, join, tail in self.units:
            g.units.append(ResidualUnit(kind, at(fork), tuple(map(at, body)), tuple(map(at, shortcut)), at(skip),
                                        at(join), tuple(map(at, tail))))
        for suffix, r in self.tensors:
            e.tensors[p + suffix] = at(r)
        e.work += self.work
        return at(self.out)


def call_key(call, scope: dict):
    """(the call, its argument values): what decides the op a layer call (or the config a structure) makes;
    None if a value is unhashable."""
    values = []
    for arg in call.args:
        expr = arg.value
        if isinstance(expr, A.Literal):
            values.append(expr.value)
        elif isinstance(expr, A.NameRef) and expr.name not in scope:
            values.append(("symbol", expr.name))  # a bare word, as the binder reads it; or its unknown-name error
        else:
            value = evaluate(expr, scope)
            values.append((type(value), value))
    key = (id(call), tuple(values))
    try:
        hash(key)
    except TypeError:  # a map somewhere inside a list
        return None
    return key


class _Outside(Exception):
    """A recorded call refers to something outside itself."""


def _last(d: dict, count: int) -> list:
    """The last `count` keys of a dict, in insertion order (without walking the rest)."""
    return list(itertools.islice(reversed(d), count))[::-1] if count > 0 else []
