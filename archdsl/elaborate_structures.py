"""Elaboration of residual variants, fractals, weight sharing and the spatial transformer.

A mixin of `elaborate.Elaborator`, which dispatches these units here
(`STRUCTURE_UNITS`). What each one builds:

    residual(...) { F } [shortcut { h }]
        x -> F -> [scale] -> [mul T] -> [stochastic_depth] ----+
        x -> h -> [shortcut_scale] -> [dropout] -> [mul 1-T] --+-> add -> [relu | bn, relu]
        (T = gate(x), for gate=exclusive; shortcut_only gates h only)
    multi_residual { F1 F2 }      x + F1(x) + F2(x)                      one add
    poly { F G }                  x + F(x) + G(F(x))                     PolyNet's mpoly-2
    poly { F x 2 shared }         x + F(x) + F(F(x)), one set of weights  poly-2
    fractal(columns=C) { B }      f1 = B;  f(C+1)(z) = join(fC(fC(z)), B(z)), joins flattened
    spatial_transformer { L }     x -> L -> affine_theta -> affine_grid -> grid_sample(x, grid)
    U x n shared                  copies 1..n-1 reuse copy 0's tensors (ir.Node.shared_with)

Train-time semantics of the ops made here: docs/internals.md, "Train-time ops
and weight sharing".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from . import ast_nodes as A
from . import ir
from .errors import ArchError, Span
from .expressions import show
from .ops import REGISTRY, Shape, fmt
from .ops.train_time import DROP_PATH, JOIN_MODES

MAX_COLUMNS = 16  # 2^16 - 1 copies of the base is already absurd

VALID_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|0|[1-9][0-9]*")  # matched whole (fullmatch)


def empty_branch(what: str, span: Span) -> ArchError:
    return ArchError(f"this {what} branch is empty: it passes its input on unchanged, so the {what} would join "
                     "the input with itself (write `identity` for an identity branch)", span)


RESIDUAL_ARGS = {
    "shortcut": ("auto", "identity", "projection", "zeropad", "conv", "none"),
    "after": ("relu", "bn_relu", "none"),
    "scale": None,
    "shortcut_name": None,
    "shortcut_scale": None,
    "shortcut_dropout": None,
    "survival": None,
    "decay": ("uniform", "linear"),
}
GATE_ARGS = {"gate": ("none", "exclusive", "shortcut_only"), "gate_bias": None, "gate_kernel": None}

MORE_STRUCTURE_ARGS = {
    "residual": {**RESIDUAL_ARGS, **GATE_ARGS},
    "multi_residual": RESIDUAL_ARGS,
    "poly": RESIDUAL_ARGS,
    "fractal": {"columns": None, "join": JOIN_MODES, "drop": DROP_PATH, "p_local": None, "global_ratio": None,
                "group": None},
    "spatial_transformer": {"size": None, "mode": ("bilinear", "nearest"),
                            "padding_mode": ("zeros", "border", "reflection"), "align_corners": None},
}


@dataclass(eq=False)
class _SharedGroup:
    """The copies of one `x n shared` repetition: copy 0's nodes, in creation order."""

    nodes: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class SharedCopy:
    """Copy `index` of a shared repetition (yielded by `_applications` in place of the unit)."""

    unit: A.Unit
    group: _SharedGroup
    index: int
    span: Span


@dataclass
class StructuresState:
    """The elaborator's bookkeeping for this module's constructs."""

    linear_decay: list[tuple[int, float]] = field(default_factory=list)  # (stochastic_depth node, p_L)
    drop_groups: dict[str, tuple[int, Span]] = field(default_factory=dict)  # group -> (columns, where)
    fractal_level: int = 0


class StructuresMixin:
    """Units of this module; the Elaborator provides _sequence, _new_op, _module, shapes, g, ..."""

    # ---------------------------------------------------------------- shared repetitions

    def _copies(self, item: A.Item, unit, count: int) -> list:
        """The unit to elaborate for each copy of `item x count [shared]`."""
        if not item.shared:
            return [unit] * count
        group = _SharedGroup()
        return [SharedCopy(unit, group, i, item.span) for i in range(count)]

    def _shared_copy(self, copy: SharedCopy, scope, names, explicit, span, cur: int) -> int:
        start = len(self.shapes)
        out = self._unit(copy.unit, scope, names, explicit, span, cur)
        created = list(range(start, len(self.shapes)))
        group = copy.group
        if copy.index == 0:
            group.nodes = created
            return out
        if len(created) != len(group.nodes):
            raise ArchError(
                f"copy {copy.index} of a shared repetition has {len(created)} layers, copy 0 has {len(group.nodes)}",
                copy.span,
            )
        for owner_id, nid in zip(group.nodes, created):
            owner, node = ir.node(self.g, owner_id), ir.node(self.g, nid)
            own_in, ins = self._input_shapes(owner_id), self._input_shapes(nid)
            if owner.op != node.op or own_in != ins:
                raise ArchError(
                    f"copy {copy.index} of a shared repetition differs from copy 0 at {node.name}: "
                    f"{node.op.describe()} on {_shapes(ins)}, but {owner.name} is {owner.op.describe()} on {_shapes(own_in)}",
                    copy.span,
                    note="shared copies must be the same layers on the same shapes "
                    "(a stage's stride goes to the first copy only)",
                )
            if node.op.state(ins):
                self.g.nodes[nid]["node"] = replace(node, shared_with=owner.shared_with or owner.name)
        return out

    def _input_shapes(self, nid: int) -> list[Shape]:
        return [self.shapes[p] for p in ir.inputs(self.g, nid)]

    # ---------------------------------------------------------------- residual family

    def _open(self, kind: str, unit, scope, names, explicit, span):
        """Evaluate a structure's arguments; a named structure becomes a container."""
        args = self._structure_args(kind, unit.args, scope)
        if explicit is not None:
            local = names.claim(explicit, span)
            names = type(names)(names.qualify(local))
            self._module(names.prefix, kind, unit.span)
        return args, names

    def _residual_unit(self, unit: A.Residual, scope, names, explicit, span, cur: int) -> int:
        args, names = self._open("residual", unit, scope, names, explicit, span)
        branch = self._sequence(unit.body, cur, scope, names)
        if branch == cur and value_of(args, "shortcut", "auto") != "none":
            raise ArchError("this residual branch is empty: the block would add its input to itself "
                            "(write `identity` in the branch if that is meant)", unit.body.span)
        return self._sum_paths(unit, args, scope, names, cur, [branch])

    def _multi_residual_unit(self, unit: A.MultiResidual, scope, names, explicit, span, cur: int) -> int:
        args, names = self._open("multi_residual", unit, scope, names, explicit, span)
        branches = self._branches(unit.body, cur, scope, names, "multi_residual")
        if not branches:
            raise ArchError("multi_residual needs at least one branch", unit.span)
        return self._sum_paths(unit, args, scope, names, cur, branches)

    def _poly_unit(self, unit: A.Poly, scope, names, explicit, span, cur: int) -> int:
        args, names = self._open("poly", unit, scope, names, explicit, span)
        taps, y = [], cur
        for step in self._applications(unit.body, scope, names):
            before, y = y, self._unit(*step, y)
            if y == before:
                raise empty_branch("poly", step[4])
            taps.append(y)
        if not taps:
            raise ArchError("poly needs at least one item", unit.span)
        return self._sum_paths(unit, args, scope, names, cur, taps)

    def _sum_paths(self, unit, args, scope, names, cur: int, branches: list[int]) -> int:
        """x's shortcut plus every branch, with the residual options applied; see the module doc."""
        value = lambda key, default: args.get(key, (default, None))[0]  # noqa: E731
        kind, after = value("shortcut", "auto"), value("after", "relu")
        shortcut_name = value("shortcut_name", "downsample")
        if not isinstance(shortcut_name, str) or not VALID_NAME.fullmatch(shortcut_name):
            raise ArchError(f"shortcut_name must be a valid name, got {show(shortcut_name)}", args["shortcut_name"][1])
        scale = _number(args, "scale", 1.0)
        survival = _number(args, "survival", 1.0, low=0.0, high=1.0, low_open=True)
        gate = value("gate", "none")
        here = lambda base: names.qualify(names.auto(base, unit.span))  # noqa: E731
        out_shape = self.shapes[branches[0]]
        for b in branches[1:]:
            if self.shapes[b] != out_shape:
                raise ArchError(f"the branches give different shapes: {fmt(out_shape)} and {fmt(self.shapes[b])}", unit.span)
        in_shape = self.shapes[cur]
        if scale != 1.0:
            branches = [self._new_op(REGISTRY["scale"](factor=scale), here("scale"), unit.span, [b]) for b in branches]
        carry = None
        if gate != "none":
            t = self._gate(args, in_shape, out_shape, unit.span, cur, here("gate"))
            if gate == "exclusive":
                branches = [self._new_op(REGISTRY["mul"](), here("gated"), unit.span, [branches[0], t])]
            carry = self._new_op(REGISTRY["one_minus"](), here("carry"), unit.span, [t])
        if survival < 1.0:
            decay = value("decay", "uniform")
            sd = []
            for b in branches:
                nid = self._new_op(REGISTRY["stochastic_depth"](survival=survival), here("stochastic_depth"), unit.span, [b])
                if decay == "linear":
                    self._structures.linear_decay.append((nid, survival))
                sd.append(nid)
            branches = sd
        shortcut = self._shortcut(unit, args, kind, shortcut_name, scope, names, cur, in_shape, out_shape)
        if shortcut is not None:
            shortcut_scale = _number(args, "shortcut_scale", 1.0)
            if shortcut_scale != 1.0:
                shortcut = self._new_op(REGISTRY["scale"](factor=shortcut_scale), here("shortcut_scale"), unit.span, [shortcut])
            dropout = _number(args, "shortcut_dropout", 0.0, low=0.0, high=1.0)
            if dropout > 0.0:
                shortcut = self._new_op(REGISTRY["dropout"](p=dropout), here("shortcut_dropout"), unit.span, [shortcut])
            if carry is not None:
                shortcut = self._new_op(REGISTRY["mul"](), here("carried"), unit.span, [shortcut, carry])
            if self.shapes[shortcut] != out_shape:
                raise ArchError(
                    f"residual add: the branch gives {fmt(out_shape)} but the shortcut gives "
                    f"{fmt(self.shapes[shortcut])} (input {fmt(in_shape)}); use shortcut=auto or projection",
                    unit.span,
                )
        elif carry is not None:
            raise ArchError("a gate needs a shortcut to gate (shortcut=none was given)", args["gate"][1])
        inputs = branches + ([shortcut] if shortcut is not None else [])
        out = inputs[0] if len(inputs) == 1 else self._new_op(REGISTRY["add"](), here("add"), unit.span, inputs)
        if after == "bn_relu":
            out = self._new_op(REGISTRY["bn"](), here("bn_out"), unit.span, [out])
        if after in ("relu", "bn_relu"):
            out = self._new_op(REGISTRY["relu"](), here("relu_out"), unit.span, [out])
        return out

    def _shortcut(self, unit, args, kind, shortcut_name, scope, names, cur, in_shape, out_shape) -> int | None:
        if unit.shortcut is not None:
            if "shortcut" in args:
                raise ArchError("give either shortcut=... or a shortcut { } body, not both", args["shortcut"][1])
            local = names.claim(shortcut_name, unit.shortcut.span)
            inner = type(names)(names.qualify(local))
            self._module(inner.prefix, "shortcut", unit.shortcut.span)
            return self._sequence(unit.shortcut, cur, scope, inner)
        if kind == "none":
            return None
        if kind == "identity" or (kind in ("auto", "zeropad") and in_shape == out_shape):
            return cur
        stride = _shortcut_stride(in_shape, out_shape, unit.span)
        if kind == "zeropad":
            op = REGISTRY["zeropad"](out=out_shape[0], stride=stride[0])
            return self._new_op(op, names.qualify(names.claim(shortcut_name, unit.span)), unit.span, [cur])
        conv = REGISTRY["conv"](out=out_shape[0], kernel=(1, 1), stride=stride, bias=False)
        if kind == "conv":  # the identity-mappings paper's "1x1 conv shortcut": no BN
            return self._new_op(conv, names.qualify(names.claim(shortcut_name, unit.span)), unit.span, [cur])
        # projection, or auto with a change of shape: 1x1 conv + BN (torchvision's `downsample`)
        local = names.claim(shortcut_name, unit.span)
        inner = type(names)(names.qualify(local))
        self._module(inner.prefix, "shortcut", unit.span)
        proj = self._new_op(conv, inner.qualify(inner.claim(None, unit.span)), unit.span, [cur])
        return self._new_op(REGISTRY["bn"](), inner.qualify(inner.claim(None, unit.span)), unit.span, [proj])

    def _gate(self, args, in_shape, out_shape, span, cur, name) -> int:
        """T(x) = sigmoid(conv_k(x) + b) with the branch's output shape."""
        kernel = args.get("gate_kernel", (1, None))
        k = kernel[0]
        if isinstance(k, bool) or not isinstance(k, int) or k <= 0 or k % 2 == 0:
            raise ArchError(f"gate_kernel must be a positive odd integer, got {show(k)}", kernel[1] or span)
        bias = _number(args, "gate_bias", 0.0)
        stride = _shortcut_stride(in_shape, out_shape, span)
        op = REGISTRY["gate"](out=out_shape[0], kernel=(k, k), stride=stride, padding=(k // 2,) * 4, bias_init=bias)
        return self._new_op(op, name, span, [cur])

    # ---------------------------------------------------------------- fractal

    def _fractal_unit(self, unit: A.Fractal, scope, names, explicit, span, cur: int) -> int:
        args = self._structure_args("fractal", unit.args, scope)
        columns, where = args.get("columns", (None, unit.span))
        if columns is None:
            raise ArchError(f"fractal needs columns=C, the number of columns (1 to {MAX_COLUMNS})", where)
        if isinstance(columns, bool) or not isinstance(columns, int) or not 1 <= columns <= MAX_COLUMNS:
            raise ArchError(f"fractal needs columns=C with 1 <= C <= {MAX_COLUMNS}, got {show(columns)}", where)
        if self.pending_stride is not None and not self.pending_stride.used:
            raise ArchError("a stage's stride cannot go into a fractal (every column would take it); "
                            "call a strided block before the fractal or pool after it", unit.span)
        state = self._structures
        mode = args.get("join", ("mean", None))[0]
        drop = args.get("drop", ("none", None))[0]
        p_local = _number(args, "p_local", 0.15, low=0.0, high=1.0)
        global_ratio = _number(args, "global_ratio", 0.5, low=0.0, high=1.0)
        group, group_span = args.get("group", (f"level{state.fractal_level + 1}", unit.span))
        if not isinstance(group, str) or not group:
            raise ArchError(f"a drop-path group is a non-empty string, got {show(group)}", group_span)
        if drop in ("global", "mix") and columns > 1:
            seen = state.drop_groups.setdefault(group, (columns, unit.span))
            if seen[0] != columns:
                raise ArchError(
                    f"global drop-path draws one column for the whole group '{group}', but this fractal has "
                    f"{columns} columns and the one at {seen[1]} has {seen[0]}; give one of them group=\"...\"",
                    unit.span,
                )
        local = names.claim(explicit, span)
        outer = type(names)(names.qualify(local))
        facts = dict(columns=columns, join=mode, drop=drop, group=group, input=ir.node(self.g, cur).name)
        self._module(outer.prefix, "fractal", unit.span, **facts)  # the output is added when known
        column_names = {}
        for c in range(1, columns + 1):
            column_names[c] = type(names)(outer.qualify(outer.claim(f"col{c}", unit.span)))
            self._module(column_names[c].prefix, "column", unit.span, column=c)
        joins = []
        join_op = REGISTRY["join"]

        def base(c: int, x: int) -> int:
            col = column_names[c]
            inner = type(names)(col.qualify(col.claim(None, unit.body.span)))
            self._module(inner.prefix, "sequence", unit.body.span)
            out = self._sequence(unit.body, x, scope, inner)
            if out == x:
                raise ArchError("the fractal's base is empty: every join would take the same tensor twice",
                                unit.body.span)
            return out

        def join(outs: list[tuple[int, int]]) -> int:
            op = join_op(mode=mode, columns=tuple(c for c, _ in outs), num_columns=columns, drop=drop,
                         p_local=p_local, global_ratio=global_ratio, group=group)
            name = outer.qualify(outer.claim(f"join{len(joins) + 1}", unit.span))
            joins.append(self._new_op(op, name, unit.span, [n for _, n in outs]))
            return joins[-1]

        def expand(depth: int, x: int, first_column: int) -> list[tuple[int, int]]:
            """f_depth(x) as its un-joined (column, output) pairs, the deepest first."""
            if depth == 1:
                return [(first_column, base(first_column, x))]
            upper = expand(depth - 1, x, first_column + 1)
            z = upper[0][1] if len(upper) == 1 else join(upper)
            return expand(depth - 1, z, first_column + 1) + [(first_column, base(first_column, x))]

        saved, self.pending_stride = self.pending_stride, None
        state.fractal_level += 1
        try:
            outs = expand(columns, cur, 1)
            out = outs[0][1] if len(outs) == 1 else join(outs)
        finally:
            state.fractal_level -= 1
            self.pending_stride = saved
        self._module(outer.prefix, "fractal", unit.span, **facts, output=ir.node(self.g, out).name)
        return out

    # ---------------------------------------------------------------- spatial transformer

    def _spatial_transformer_unit(self, unit: A.SpatialTransformer, scope, names, explicit, span, cur: int) -> int:
        args, names = self._open("spatial_transformer", unit, scope, names, explicit, span)
        image = self.shapes[cur]
        if len(image) != 3:
            raise ArchError(f"a spatial transformer needs a CxHxW input, got {fmt(image)}", unit.span)
        size, size_span = args.get("size", (image[1:], None))
        if isinstance(size, int) and not isinstance(size, bool):
            size = (size, size)
        if not (isinstance(size, tuple) and len(size) == 2 and all(
                isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in size)):
            raise ArchError(f"size must be a positive integer or [height, width], got {show(size)}", size_span)
        align, align_span = args.get("align_corners", (False, None))
        if not isinstance(align, bool):
            raise ArchError(f"align_corners must be true or false, got {show(align)}", align_span)
        here = lambda base: names.qualify(names.auto(base, unit.span))  # noqa: E731
        features = self._sequence(unit.body, cur, scope, names)
        theta = self._new_op(REGISTRY["affine_theta"](), here("theta"), unit.span, [features])
        grid = self._new_op(REGISTRY["affine_grid"](size=size, align_corners=align), here("grid"), unit.span, [theta])
        sampler = REGISTRY["grid_sample"](mode=args.get("mode", ("bilinear", None))[0],
                                          padding_mode=args.get("padding_mode", ("zeros", None))[0],
                                          align_corners=align)
        return self._new_op(sampler, here("sample"), unit.span, [cur, grid])

    # ---------------------------------------------------------------- after the whole network

    def _finish_structures(self) -> None:
        """Resolve linear-decay survival: p_l = 1 - l/L * (1 - p_L), l = 1..L in network order."""
        decays = self._structures.linear_decay
        for l, (nid, last) in enumerate(decays, start=1):
            node = ir.node(self.g, nid)
            survival = 1.0 - l / len(decays) * (1.0 - last)
            self.g.nodes[nid]["node"] = replace(node, op=replace(node.op, survival=survival))


STRUCTURE_UNITS = {
    A.Residual: StructuresMixin._residual_unit,
    A.MultiResidual: StructuresMixin._multi_residual_unit,
    A.Poly: StructuresMixin._poly_unit,
    A.Fractal: StructuresMixin._fractal_unit,
    A.SpatialTransformer: StructuresMixin._spatial_transformer_unit,
    SharedCopy: StructuresMixin._shared_copy,
}


def value_of(args, key, default):
    return args.get(key, (default, None))[0]


def _number(args, key, default, low=None, high=None, low_open=False) -> float:
    value, span = args.get(key, (default, None))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArchError(f"{key} must be a number, got {show(value)}", span)
    if (low is not None and (value < low or (low_open and value == low))) or (high is not None and value > high):
        bounds = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise ArchError(f"{key} must be in {bounds}, got {show(value)}", span)
    return float(value)


def _shapes(shapes) -> str:
    return ", ".join(fmt(s) for s in shapes) or "no input"


def _shortcut_stride(in_shape: Shape, out_shape: Shape, span: Span) -> tuple[int, int]:
    """The stride a 1x1 shortcut needs to map in_shape's grid onto out_shape's."""
    if len(in_shape) != 3 or len(out_shape) != 3:
        raise ArchError(f"a residual shortcut needs CxHxW shapes, got {fmt(in_shape)} -> {fmt(out_shape)}", span)
    strides = []
    for size_in, size_out, axis in ((in_shape[1], out_shape[1], "height"), (in_shape[2], out_shape[2], "width")):
        for s in range(1, size_in + 1):
            if -(-size_in // s) == size_out:
                strides.append(s)
                break
        else:
            raise ArchError(
                f"no strided shortcut maps the input {axis} {size_in} onto the branch's {size_out} "
                f"(input {fmt(in_shape)}, branch {fmt(out_shape)})",
                span,
            )
    return (strides[0], strides[1])
