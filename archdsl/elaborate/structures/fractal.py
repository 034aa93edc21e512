"""`fractal(columns=C, join=mean, drop=none) { B }`: FractalNet's expansion rule (Larsson et al. 2017).

    f_1(z) = B(z);   f_(C+1)(z) = join(f_C(f_C(z)), B(z))      nested joins flattened

Every copy of the base B has its own weights. A fractal is always a
container: copies are named `NAME.col{c}.{i}.<layers>` (column c, 1 = the
shallowest, holds 2^(c-1) copies) and joins `NAME.join{j}`. Each join records
the column of each input (ops/train_time.py: drop-path in training).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ...errors import ArchError
from ...ir import ColumnInfo, FractalInfo
from ...ops import REGISTRY
from ...ops.train_time import DROP_PATH, JOIN_MODES
from ...values import show
from .base import Structure, anything, arg, need_int_in, number, one_of, structure

MAX_COLUMNS = 16  # 2^16 - 1 copies of the base is already absurd


@structure
class Fractal(Structure):
    keyword = "fractal"
    container = "always"

    @dataclass(frozen=True)
    class Config:
        columns: object = arg(None, anything, "required, 1..16")
        join: str = arg("mean", one_of(*JOIN_MODES), "how columns are merged")
        drop: str = arg("none", one_of(*DROP_PATH), "drop-path in training")
        p_local: float = arg(0.15, number(0.0, 1.0), "local drop-path: each join input's drop probability")
        global_ratio: float = arg(0.5, number(0.0, 1.0), "mix: the share of mini-batches that use global drop-path")
        group: object = arg(None, anything, "the global drop-path group (default level1, level2, ... by nesting)")

    def build(self, e, call, cur: int) -> int:
        c, names = call.config, call.names
        if c.columns is None:
            raise ArchError(f"fractal needs columns=C, the number of columns (1 to {MAX_COLUMNS})", call.span)
        columns = need_int_in(c.columns, 1, MAX_COLUMNS, f"fractal needs columns=C with 1 <= C <= {MAX_COLUMNS}",
                              call.span_of("columns"))
        if e.pending_stride is not None and not e.pending_stride.used:
            raise ArchError("a stage's stride cannot go into a fractal (every column would take it); "
                            "call a strided block before the fractal or pool after it", call.span)
        level = e.state.get("fractal_level", 0)
        group = self.group(e, call, columns, level)
        info = FractalInfo(columns, c.join, c.drop, group, e.g.node(cur).name, "")
        e.module(names.prefix, "fractal", call.span, info)
        column_names = {}
        for k in range(1, columns + 1):
            column_names[k] = names.child(names.claim(f"col{k}", call.span))
            e.module(column_names[k].prefix, "column", call.span, ColumnInfo(k))
        expansion = _Expansion(e, call, columns, group, column_names)
        saved, e.pending_stride = e.pending_stride, None
        e.state["fractal_level"] = level + 1
        try:
            outs = expansion.expand(columns, cur, 1)
            out = outs[0][1] if len(outs) == 1 else expansion.join(outs)
        finally:
            e.state["fractal_level"] = level
            e.pending_stride = saved
        joins = tuple(e.g.node(nid).name for nid in expansion.join_ids)
        e.module(names.prefix, "fractal", call.span, replace(info, output=e.g.node(out).name, joins=joins))
        return out

    def group(self, e, call, columns: int, level: int) -> str:
        group = call.config.group if call.config.group is not None else f"level{level + 1}"
        if not isinstance(group, str) or not group:
            raise ArchError(f"a drop-path group is a non-empty string, got {show(group)}", call.span_of("group"))
        if call.config.drop in ("global", "mix") and columns > 1:
            seen = e.state.setdefault("drop_groups", {}).setdefault(group, (columns, call.span))
            if seen[0] != columns:
                raise ArchError(
                    f"global drop-path draws one column for the whole group '{group}', but this fractal has "
                    f"{columns} columns and the one at {seen[1]} has {seen[0]}; give one of them group=\"...\"",
                    call.span)
        return group


class _Expansion:
    """The recursive expansion of one fractal; joins are numbered in creation order."""

    def __init__(self, e, call, columns, group, column_names):
        self.e, self.call, self.columns, self.group, self.column_names = e, call, columns, group, column_names
        self.join_ids: list[int] = []
        self.bases = 0
        self.first = None  # (work, nodes) of the first base: the budget estimate for all 2^C - 1

    def base(self, k: int, x: int) -> int:
        e, body = self.e, self.call.unit.body
        if self.bases == 1:
            work, nodes = self.first
            e.check_estimate(e.work - work, len(e.shapes) - nodes, 2 ** self.columns - 2, self.call.span)
        if self.bases == 0:
            self.first = (e.work, len(e.shapes))
        self.bases += 1
        col = self.column_names[k]
        inner = col.child(col.claim(None, body.span))
        e.module(inner.prefix, "sequence", body.span)
        out = e.sequence(body, x, self.call.scope, inner)
        if out == x:
            raise ArchError("the fractal's base is empty: every join would take the same tensor twice", body.span)
        return out

    def join(self, outs: list[tuple[int, int]]) -> int:
        c, names = self.call.config, self.call.names
        op = REGISTRY["join"](mode=c.join, columns=tuple(k for k, _ in outs), num_columns=self.columns, drop=c.drop,
                              p_local=c.p_local, global_ratio=c.global_ratio, group=self.group)
        name = names.qualify(names.claim(f"join{len(self.join_ids) + 1}", self.call.span))
        self.join_ids.append(self.e.add(op, name, self.call.span, [n for _, n in outs]))
        return self.join_ids[-1]

    def expand(self, depth: int, x: int, first_column: int) -> list[tuple[int, int]]:
        """f_depth(x) as its un-joined (column, output) pairs, the deepest first."""
        if depth == 1:
            return [(first_column, self.base(first_column, x))]
        upper = self.expand(depth - 1, x, first_column + 1)
        z = upper[0][1] if len(upper) == 1 else self.join(upper)
        return self.expand(depth - 1, z, first_column + 1) + [(first_column, self.base(first_column, x))]
