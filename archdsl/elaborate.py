"""Elaboration: a resolved Program (AST) -> the graph IR.

Evaluates parameters and expressions, expands block calls, repetitions, loops,
stages, residual/parallel/dense structures into op nodes, names every node,
and infers each node's shape as it is created (so `shortcut=auto` can see
shapes and every error points at the spec text that made the node).

    network { conv1: conv(16, 3)  layer1: basic(16) x 2 }
      ->  input -> conv1 -> layer1.0.conv1 -> ... -> layer1.0.add -> layer1.1.conv1 -> ...

Naming: a named item takes its name; an unnamed one takes its position in the
enclosing container, like nn.Sequential. Calls of blocks, sequences `{}`,
stages and named repetitions are containers; unnamed residual/parallel/dense
constructs are transparent (their items are named in the enclosing container).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from . import ast_nodes as A
from . import ir
from .errors import ArchError, Span, suggest
from .expressions import evaluate, show, type_name
from .ops import REGISTRY, Op, Shape, ShapeError, fmt
from .ops.base import REQUIRED, MAX_DIM
from .elaborate_structures import (MORE_STRUCTURE_ARGS, STRUCTURE_UNITS, VALID_NAME, StructuresMixin, StructuresState,
                                   empty_branch)

MAX_REPEAT = 100_000  # one repetition or loop
MAX_NODES = 1_000_000  # the whole graph
MAX_ELEMENTS = 1 << 40  # one activation tensor (without batch)


STRUCTURE_ARGS = {
    **MORE_STRUCTURE_ARGS,  # residual, multi_residual, poly, fractal, spatial_transformer
    "parallel": {"merge": ("concat", "add", "mean", "max", "mul")},
    "dense": {},
    "stage": {"stride": None},
}


@dataclass
class Names:
    """One container's namespace: hands out child names, numbering unnamed ones."""

    prefix: str  # qualified name of the container ("" for the network)
    used: dict[str, Span] = field(default_factory=dict)
    position: int = 0

    def claim(self, explicit: str | None, span: Span) -> str:
        name = explicit if explicit is not None else str(self.position)
        self.position += 1
        return self._take(name, span)

    def auto(self, base: str, span: Span) -> str:
        """A readable name for a node the user did not write (add, concat, the relu after add)."""
        name, k = base, 1
        while name in self.used:
            name, k = f"{base}{k}", k + 1
        return self._take(name, span)

    def _take(self, name: str, span: Span) -> str:
        if name in self.used:
            where = self.prefix or "the network"
            raise ArchError(f"name '{name}' is already used in {where} (first at {self.used[name]})", span)
        self.used[name] = span
        return name

    def qualify(self, local: str) -> str:
        return f"{self.prefix}.{local}" if self.prefix else local


@dataclass
class _Pending:
    """A stage's stride, waiting for the first block called inside the stage."""

    stride: object
    span: Span
    used: bool = False


class Elaborator(StructuresMixin):
    def __init__(self, program: A.Program, overrides: dict | None = None, input_shape: Shape | None = None):
        self.program = program
        self.overrides = dict(overrides or {})
        self.input_override = input_shape
        self.g = ir.new_graph(program.name)
        self.shapes: dict[int, Shape] = {}
        self.config: dict[str, object] = {}
        self.block_stack: list[str] = []
        self.pending_stride: _Pending | None = None
        self.input_shape: Shape = ()
        self.global_scope: dict = {}
        self._structures = StructuresState()  # elaborate_structures.py: linear decay, drop-path groups

    # ---------------------------------------------------------------- entry

    def run(self) -> nx.DiGraph:
        scope = self.global_scope = self._global_scope()
        self.input_shape = self._input_shape(scope)
        nid = self._add(ir.Node(0, "input", REGISTRY["input"](shape=self.input_shape), self._input_span()), [])
        self.g.graph["input"] = nid
        self.g.graph["output"] = nid
        try:
            out = self._sequence(self.program.network, nid, scope, Names(""))
            self._finish_structures()
        except ArchError as err:
            err.partial = self.g
            raise
        self.g.graph["output"] = out
        return self.g

    # ---------------------------------------------------------------- params

    def _global_scope(self) -> dict:
        known = {p.name: p for p in self.program.params}
        for name in self.overrides:
            if name not in known:
                listing = ", ".join(known) or "none"
                raise ArchError(
                    f"unknown parameter '{name}'{suggest(name, known)}; this spec's parameters are: {listing}"
                )
        scope: dict = {}
        for p in self.program.params:
            default = evaluate(p.default, scope)
            if p.name in self.overrides:
                value = self.overrides[p.name]
                if not _same_type(default, value):
                    raise ArchError(
                        f"parameter '{p.name}' expects a {type_name(default)} (its default is {show(default)}), "
                        f"got {type_name(value)} {show(value)}",
                        p.span,
                    )
                if isinstance(default, float) and isinstance(value, int):
                    value = float(value)
            else:
                value = default
            scope[p.name] = value
            self.config[p.name] = value
        for let in self.program.lets:
            scope[let.name] = evaluate(let.value, scope)
        return scope

    def _input_span(self) -> Span:
        decl = self.program.input
        return decl.span if decl else Span(self.program.main_path, 1, 1)

    def _input_shape(self, scope) -> Shape:
        if self.input_override is not None:
            dims, span = self.input_override, None
        elif self.program.input is None:
            raise ArchError("the spec declares no input (add e.g. `input 3x224x224`)", Span(self.program.main_path, 1, 1))
        else:
            decl = self.program.input
            span = decl.span
            if isinstance(decl.dims, tuple):
                dims = tuple(evaluate(d, scope) for d in decl.dims)
            else:
                dims = evaluate(decl.dims, scope)
                if not isinstance(dims, tuple):
                    raise ArchError(f"input must be a shape like 3x224x224 or a list, got {show(dims)}", span)
        if len(dims) not in (1, 3):
            raise ArchError(f"input must be CxHxW (or a feature count), got {len(dims)} dimensions", span)
        for d in dims:
            if isinstance(d, bool) or not isinstance(d, int) or d <= 0:
                raise ArchError(f"input sizes must be positive integers, got {show(d)}", span)
            if d > MAX_DIM:
                raise ArchError(f"input size {d} is absurdly large (limit {MAX_DIM:,})", span)
        return tuple(dims)

    # ---------------------------------------------------------------- graph building

    def _add(self, node: ir.Node, input_ids: list[int]) -> int:
        if len(set(input_ids)) != len(input_ids):
            raise ArchError(f"{node.kind} would take the same tensor twice (an empty branch passes its input on "
                            f"unchanged; write `identity` for an identity branch) (in {node.name})", node.span)
        in_shapes = [self.shapes[i] for i in input_ids]
        try:
            op = node.op.resolve(in_shapes)
            if op is not node.op:
                node = ir.Node(node.id, node.name, op, node.span)
            shape = op.infer(in_shapes)
        except ShapeError as err:
            raise ArchError(f"{err} (in {node.name})", node.span) from None
        if any(d <= 0 for d in shape):
            raise ArchError(f"{node.kind} gives an empty output {fmt(shape)} from {_fmt_all(in_shapes)} (in {node.name})", node.span)
        total = 1
        for d in shape:
            total *= d
        if total > MAX_ELEMENTS:
            raise ArchError(f"{node.kind} output {fmt(shape)} is absurdly large ({total:,} elements)", node.span)
        if len(self.shapes) >= MAX_NODES:
            raise ArchError(f"the network has more than {MAX_NODES:,} nodes; refusing to build it", node.span)
        ir.add_node(self.g, node, input_ids)
        self.shapes[node.id] = shape
        return node.id

    def _new_op(self, op: Op, qualified: str, span: Span, input_ids: list[int]) -> int:
        return self._add(ir.Node(len(self.shapes), qualified, op, span), input_ids)

    def _module(self, qualified: str, kind: str, span: Span, template: str | None = None, **annotations):
        self.g.graph["modules"][qualified] = ir.Module(qualified, kind, template, span, annotations)

    # ---------------------------------------------------------------- bodies

    def _applications(self, seq: A.Sequence, scope: dict, names: Names):
        """Flatten a body into (unit, scope, names, explicit name, span) steps.

        Loops, conditionals and unnamed repetitions splice their items in; a
        named repetition becomes a container whose copies are named 0..n-1.
        """
        for item in seq.items:
            unit = item.unit
            explicit = self._item_name(item, scope)
            count = None
            if item.repeat is not None:
                count = evaluate(item.repeat, scope)
                if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                    raise ArchError(f"a repetition count must be a non-negative integer, got {show(count)}", item.repeat.span)
                if count > MAX_REPEAT:
                    raise ArchError(f"repetition of {count:,} is absurd (limit {MAX_REPEAT:,})", item.repeat.span)
            if isinstance(unit, (A.ForLoop, A.IfItems)) and count is None:
                target = names
                if explicit is not None:
                    local = names.claim(explicit, item.span)
                    target = Names(names.qualify(local))
                    self._module(target.prefix, "sequence", item.span)
                yield from self._control(unit, scope, target)
                continue
            if count is None:
                yield (unit, scope, names, explicit, item.span)
            elif explicit is not None:
                local = names.claim(explicit, item.span)
                inner = Names(names.qualify(local))
                self._module(inner.prefix, "repeat", item.span, _template_of(unit), count=count)
                for i, copy in enumerate(self._copies(item, unit, count)):
                    yield (copy, scope, inner, str(i), item.span)
            else:
                for copy in self._copies(item, unit, count):
                    yield (copy, scope, names, None, item.span)

    def _control(self, unit, scope, names):
        if isinstance(unit, A.ForLoop):
            values = evaluate(unit.iterable, scope)
            if isinstance(values, dict):
                values = tuple(values)
            if not isinstance(values, tuple):
                raise ArchError(f"a for loop needs a list, got {type_name(values)} {show(values)}", unit.iterable.span)
            for value in values:
                inner = dict(scope)
                inner[unit.var] = value
                yield from self._applications(unit.body, inner, names)
        else:
            cond = evaluate(unit.condition, scope)
            if not isinstance(cond, bool):
                raise ArchError(f"an if needs a condition (true/false), got {show(cond)}", unit.condition.span)
            branch = unit.then if cond else unit.otherwise
            if branch is not None:
                yield from self._applications(branch, scope, names)

    def _item_name(self, item: A.Item, scope) -> str | None:
        if item.name is None:
            return None
        name = evaluate(item.name, scope)
        if not isinstance(name, str) or not VALID_NAME.fullmatch(name):
            shown = name.encode("unicode_escape").decode("ascii") if isinstance(name, str) else show(name)
            raise ArchError(
                f"'{shown}' is not a valid layer name (letters, digits and _, not starting with a digit; "
                "or a position such as 7, without leading zeros)",
                item.name.span,
            )
        return name

    def _sequence(self, seq: A.Sequence, cur: int, scope: dict, names: Names) -> int:
        for step in self._applications(seq, scope, names):
            cur = self._unit(*step, cur)
        return cur

    def _branches(self, seq: A.Sequence, cur: int, scope: dict, names: Names, what: str) -> list[int]:
        """Each item of `seq` applied to `cur`; an empty branch (one that returns `cur`) is an error."""
        outs = []
        for step in self._applications(seq, scope, names):
            out = self._unit(*step, cur)
            if out == cur:
                raise empty_branch(what, step[4])
            outs.append(out)
        return outs

    # ---------------------------------------------------------------- units

    def _unit(self, unit, scope, names: Names, explicit, span, cur: int) -> int:
        if isinstance(unit, A.Call):
            if unit.name in self.program.blocks:
                return self._block_call(unit, scope, names, explicit, span, cur)
            return self._layer_call(unit, scope, names, explicit, span, cur)
        if isinstance(unit, A.Sequence):
            local = names.claim(explicit, span)
            inner = Names(names.qualify(local))
            self._module(inner.prefix, "sequence", unit.span)
            return self._sequence(unit, cur, scope, inner)
        if isinstance(unit, A.Stage):
            return self._stage(unit, scope, names, explicit, span, cur)
        if isinstance(unit, (A.ForLoop, A.IfItems)):  # a repeated loop: each copy a container
            local = names.claim(explicit, span)
            inner = Names(names.qualify(local))
            self._module(inner.prefix, "sequence", unit.span)
            for step in self._control(unit, scope, inner):
                cur = self._unit(*step, cur)
            return cur
        handler = STRUCTURE_UNITS.get(type(unit))  # residual variants, fractal, shared copies, ...
        if handler is not None:
            return handler(self, unit, scope, names, explicit, span, cur)
        kind = type(unit).__name__.lower()
        args = self._structure_args(kind, unit.args, scope)
        if explicit is not None:
            local = names.claim(explicit, span)
            names = Names(names.qualify(local))
            self._module(names.prefix, kind, unit.span)
        if isinstance(unit, A.Parallel):
            return self._parallel(unit, args, scope, names, cur)
        if isinstance(unit, A.Dense):
            return self._dense(unit, scope, names, cur)
        raise TypeError(f"unknown unit {unit!r}")  # pragma: no cover

    def _structure_args(self, kind: str, args: tuple[A.Arg, ...], scope) -> dict:
        allowed = STRUCTURE_ARGS[kind]
        values = {}
        for arg in args:
            if arg.name is None:
                raise ArchError(f"{kind} takes keyword arguments only ({', '.join(allowed) or 'none'})", arg.span)
            if arg.name not in allowed:
                raise ArchError(
                    f"{kind} has no argument '{arg.name}'{suggest(arg.name, allowed)}; expected one of: {', '.join(allowed) or 'none'}",
                    arg.span,
                )
            if arg.name in values:
                raise ArchError(f"argument '{arg.name}' given twice", arg.span)
            options = allowed[arg.name]
            value = self._arg_value(arg.value, scope, options)
            if options is not None and value not in options:
                raise ArchError(f"{kind} {arg.name} must be one of {', '.join(options)}; got {show(value)}", arg.value.span)
            values[arg.name] = (value, arg.value.span)
        return values

    def _arg_value(self, expr: A.Expr, scope, options):
        """Evaluate an argument; a bare unbound name is a symbol where options are enumerated."""
        if options is not None and isinstance(expr, A.NameRef) and expr.name not in scope:
            return expr.name
        return evaluate(expr, scope)

    # -- layers

    def _layer_call(self, call: A.Call, scope, names: Names, explicit, item_span: Span, cur: int) -> int:
        op_cls = REGISTRY.get(call.name)
        if op_cls is None or op_cls.kind == "input":
            known = sorted(set(REGISTRY) - {"input"}) + sorted(self.program.blocks)
            raise ArchError(
                f"unknown layer or block '{call.name}'{suggest(call.name, known)}",
                call.span,
                note="layers: " + ", ".join(sorted(set(REGISTRY) - {"input"})),
            )
        if op_cls.min_inputs != 1 or op_cls.max_inputs != 1:
            raise ArchError(
                f"'{call.name}' joins several inputs; it is made by residual, parallel or dense, not called directly",
                call.span,
            )
        values = self._bind_args(call, op_cls.ARGS, scope, f"layer '{call.name}'")
        try:
            op = op_cls(**values)
        except (TypeError, ValueError) as err:  # pragma: no cover - ARGS and fields agree
            raise ArchError(f"bad arguments for {call.name}: {err}", call.span) from None
        local = names.claim(explicit, item_span)
        return self._new_op(op, names.qualify(local), call.span, [cur])

    def _bind_args(self, call: A.Call, specs, scope, what: str) -> dict:
        by_name = {s.name: s for s in specs}
        positional = [s for s in specs if s.positional]
        values: dict = {}
        pos_index = 0
        seen_keyword = False
        for arg in call.args:
            if arg.name is None:
                if seen_keyword:
                    raise ArchError("a positional argument cannot follow a keyword argument", arg.span)
                if pos_index >= len(positional):
                    raise ArchError(
                        f"{what} takes at most {len(positional)} positional argument(s)"
                        + (f" ({', '.join(s.name for s in positional)})" if positional else ""),
                        arg.span,
                    )
                spec = positional[pos_index]
                pos_index += 1
            else:
                seen_keyword = True
                spec = by_name.get(arg.name)
                if spec is None:
                    raise ArchError(
                        f"{what} has no argument '{arg.name}'{suggest(arg.name, by_name)}; "
                        f"expected one of: {', '.join(by_name) or 'none'}",
                        arg.span,
                    )
            if spec.name in values:
                raise ArchError(f"argument '{spec.name}' given twice", arg.span)
            raw = self._arg_value(arg.value, scope, getattr(spec.convert, "options", None))
            try:
                values[spec.name] = spec.convert(raw)
            except ValueError as err:
                raise ArchError(f"{what} argument '{spec.name}': {err}", arg.value.span) from None
        for spec in specs:
            if spec.name not in values:
                if spec.default is REQUIRED:
                    raise ArchError(f"{what} needs argument '{spec.name}'" + (f" ({spec.doc})" if spec.doc else ""), call.span)
                values[spec.name] = spec.convert(spec.default) if spec.default is not None else None
        return values

    # -- blocks

    def _block_call(self, call: A.Call, scope, names: Names, explicit, item_span: Span, cur: int) -> int:
        block = self.program.blocks[call.name]
        if call.name in self.block_stack:
            chain = " -> ".join(self.block_stack[self.block_stack.index(call.name) :] + [call.name])
            raise ArchError(f"block '{call.name}' calls itself ({chain}); recursive blocks are not allowed", call.span)
        formals = {f.name: f for f in block.formals}
        given: dict[str, object] = {}
        positional_done = False
        for i, arg in enumerate(call.args):
            if arg.name is None:
                if positional_done:
                    raise ArchError("a positional argument cannot follow a keyword argument", arg.span)
                if i >= len(block.formals):
                    raise ArchError(
                        f"block '{call.name}' takes {len(block.formals)} argument(s) "
                        f"({', '.join(formals) or 'none'}), got more",
                        arg.span,
                    )
                key = block.formals[i].name
            else:
                positional_done = True
                key = arg.name
                if key not in formals:
                    raise ArchError(
                        f"block '{call.name}' has no parameter '{key}'{suggest(key, formals)}; "
                        f"expected one of: {', '.join(formals) or 'none'}",
                        arg.span,
                    )
            if key in given:
                raise ArchError(f"argument '{key}' given twice", arg.span)
            given[key] = evaluate(arg.value, scope)
        pending = self.pending_stride
        if pending is not None and not pending.used:
            pending.used = True
            if "stride" not in formals:
                raise ArchError(
                    f"this stage passes stride to its first block, but block '{call.name}' has no 'stride' parameter",
                    call.span,
                )
            if "stride" in given:
                raise ArchError("stride is given both here and by the enclosing stage", call.span)
            given["stride"] = pending.stride
        # blocks see `in_channels` (their input's width), the spec's globals and their own formals
        inner_scope = {"in_channels": self.shapes[cur][0], **self.global_scope}
        for formal in block.formals:
            if formal.name in given:
                inner_scope[formal.name] = given[formal.name]
            elif formal.default is not None:
                inner_scope[formal.name] = evaluate(formal.default, inner_scope)
            else:
                raise ArchError(f"block '{call.name}' needs argument '{formal.name}'", call.span)
        local = names.claim(explicit, item_span)
        inner = Names(names.qualify(local))
        self._module(inner.prefix, "block", call.span, call.name, args=tuple((f.name, inner_scope[f.name]) for f in block.formals))
        self.block_stack.append(call.name)
        saved, self.pending_stride = self.pending_stride, None
        try:
            return self._sequence(block.body, cur, inner_scope, inner)
        finally:
            self.block_stack.pop()
            self.pending_stride = saved

    # -- stage

    def _stage(self, unit: A.Stage, scope, names: Names, explicit, span, cur: int) -> int:
        args = self._structure_args("stage", unit.args, scope)
        local = names.claim(explicit, span)
        inner = Names(names.qualify(local))
        self._module(inner.prefix, "stage", unit.span)
        saved = self.pending_stride
        self.pending_stride = _Pending(args["stride"][0], args["stride"][1]) if "stride" in args else None
        try:
            out = self._sequence(unit.body, cur, scope, inner)
            if self.pending_stride is not None and not self.pending_stride.used:
                raise ArchError("this stage's stride was not taken: no block is called inside it", self.pending_stride.span)
        finally:
            self.pending_stride = saved
        return out

    # -- parallel and dense

    def _parallel(self, unit: A.Parallel, args, scope, names: Names, cur: int) -> int:
        merge = args.get("merge", ("concat", None))[0]
        outs = self._branches(unit.body, cur, scope, names, "parallel")
        if not outs:
            raise ArchError("parallel needs at least one branch", unit.span)
        if len(outs) == 1 and merge != "concat":
            return outs[0]
        return self._merge(merge, outs, unit.span, names)

    def _dense(self, unit: A.Dense, scope, names: Names, cur: int) -> int:
        features = [cur]
        for step in self._applications(unit.body, scope, names):
            x = features[0] if len(features) == 1 else self._merge("concat", list(features), step[4], names)
            out = self._unit(*step, x)
            if out == x:
                raise empty_branch("dense", step[4])
            features.append(out)
        if len(features) == 1:
            raise ArchError("dense needs at least one layer", unit.span)
        return self._merge("concat", features, unit.span, names)

    def _merge(self, kind: str, outs: list[int], span: Span, names: Names) -> int:
        return self._new_op(REGISTRY[kind](), names.qualify(names.auto(kind, span)), span, outs)


def _template_of(unit) -> str | None:
    return unit.name if isinstance(unit, A.Call) else None


def _same_type(default, value) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return type(default) is type(value)


def _fmt_all(shapes) -> str:
    return ", ".join(fmt(s) for s in shapes) or "no input"


def elaborate(program: A.Program, overrides: dict | None = None, input_shape: Shape | None = None):
    """Build the IR. Returns (graph, shapes, config); raises ArchError with `.partial` set."""
    e = Elaborator(program, overrides, input_shape)
    g = e.run()
    return g, e.shapes, e.config
