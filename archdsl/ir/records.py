"""What the IR stores: op nodes, modules (the spec's hierarchy) and structure records.

    Node           one op application: id, qualified name, op, span, weight sharing
    Module         a level of the hierarchy (network, stage, block call, sequence, ...),
                   with a typed record of what the elaborator knew (BlockInfo, RepeatInfo, ...)
    Join           the roles of a join's inputs, set by the structure that made the join
    ResidualUnit   one residual-like unit: its fork, body, shortcut, join and the ops after it

Structure is recorded when the graph is built and read by every analysis
(paths, the unraveled view, `without`, zero-init), never re-guessed from the
graph's shape.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from ..errors import Span
from ..ops import Op

NodeId = int


@dataclass(frozen=True, slots=True)
class Node:
    id: NodeId
    name: str  # qualified, e.g. "layer3.12.conv2"; state_dict prefix for weights
    op: Op
    span: Span
    # weight sharing: the qualified name of the node whose tensors this one reuses
    # (same op, same input shapes); params are counted and listed at the owner only
    shared_with: str | None = None

    @property
    def kind(self) -> str:
        return self.op.kind


# ---------------------------------------------------------------- modules


@dataclass(frozen=True)
class BlockInfo:
    """A call of a block template: `bottleneck(planes=64, stride=1)`."""

    template: str
    args: tuple[tuple[str, object], ...]  # the template's formals and their values, in order


@dataclass(frozen=True)
class RepeatInfo:
    """A named repetition `layer1: unit(64) x 3`: copies named 0 .. count-1."""

    count: int
    template: str | None  # the block template repeated, if the unit is a block call


@dataclass(frozen=True)
class FractalInfo:
    """A fractal: FractalNet's expansion rule with `columns` columns."""

    columns: int
    join: str  # mean | sum | max | concat
    drop: str  # none | local | global | mix
    group: str  # the global drop-path group
    input: str  # qualified name of the node the fractal starts from
    output: str  # qualified name of its last join ("" until it is built)
    joins: tuple[str, ...] = ()  # qualified names of its joins (ops/train_time.Join), in creation order


@dataclass(frozen=True)
class ColumnInfo:
    column: int  # 1 = the shallowest


ModuleInfo = BlockInfo | RepeatInfo | FractalInfo | ColumnInfo


@dataclass(frozen=True)
class Module:
    """A level of the hierarchy: the network, a stage, a block, a named group."""

    name: str  # qualified; "" for the network itself
    kind: str  # network | stage | block | sequence | repeat | shortcut | fractal | column | a named structure's kind
    span: Span
    info: ModuleInfo | None = None

    @property
    def template(self) -> str | None:
        """The block template of a block call (or of a repeated block call)."""
        return getattr(self.info, "template", None)


# ---------------------------------------------------------------- structure records


class Role(enum.Enum):
    """What one input of a join is."""

    BODY = "body"  # the end of a branch body: a path through it passes one more module
    SKIP = "skip"  # a shortcut: the fork itself (identity), a projection, a zero-padding, a highway carry
    DATA = "data"  # a gate's data input: paths continue through it
    GATE = "gate"  # a gate's modulating input (sigmoid(...)): part of the gate, not a path


@dataclass(frozen=True)
class Join:
    node: NodeId
    roles: tuple[Role, ...]  # one per input, in input order


@dataclass(frozen=True)
class ResidualUnit:
    """x -> body -> join <- shortcut <- x, then `tail` (residual, multi_residual, poly).

        fork      x, the node both paths start from
        body      the branches' nodes (scaling, gating and stochastic depth included)
        shortcut  the shortcut path's nodes; empty for the identity
        skip      the join input the shortcut gives (the fork itself for an identity)
        tail      the ops after the join that belong to the unit (the ReLU after the add)
    """

    kind: str  # residual | multi_residual | poly
    fork: NodeId
    body: tuple[NodeId, ...]
    shortcut: tuple[NodeId, ...]
    skip: NodeId
    join: NodeId
    tail: tuple[NodeId, ...]

    @property
    def nodes(self) -> tuple[NodeId, ...]:
        return self.body + self.shortcut + (self.join,) + self.tail


def qualified_parent(qualified: str) -> str:
    return qualified.rpartition(".")[0]
