"""The elaborator's core: scopes, items, repetitions, layer and block calls, budgets.

    network { conv1: conv(16, 3)  layer1: basic(16) x 2 }
      ->  input -> conv1 -> layer1.0.conv1 -> ... -> layer1.0.add -> layer1.1.conv1 -> ...

Each node's shape is inferred as it is created, so a structure can look at
shapes (`shortcut=auto`) and every error points at the spec text that made the
node. Structures (residual, parallel, fractal, ...) are built by their modules
in structures/; this file dispatches to them.

Budgets are checked before the work: the first copy of a repetition or loop is built, then the whole is
estimated from it and refused past MAX_NODES nodes or MAX_WORK steps (`{ } x n` is counted, not run); block
calls nest at most MAX_CALL_DEPTH deep (a recursive block needs an `if` that stops it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

from ..errors import ArchError, Span, suggest
from ..ir import BlockInfo, Graph, Join, Module, Node, RepeatInfo
from ..ops import REGISTRY, Op, Shape, ShapeError, fmt
from ..ops.args import REQUIRED, ArgSpec
from ..syntax import ast as A
from ..values import Tensor, is_int, show, type_name
from .binder import Deferred, bind, fill_defaults
from .evaluator import evaluate
from .names import Names, check_name
from .params import global_scope, input_shapes
from .replay import Mark, Recording, call_key, replay_key as _replay_key
from .sharing import shared_copy
from .structures import STRUCTURES, Call, Pending, empty_branch
from .tensors import check_dead_ends, join_roles, resolve, tensor_args

MAX_REPEAT = 100_000  # one repetition or loop
MAX_NODES = 150_000  # the whole graph
MAX_WORK = 1_000_000  # weighted: a node 2 + its inputs, a module 3, an item or loop step 1 (empty bodies cost too)
MAX_ELEMENTS = 1 << 40  # one activation tensor (without batch)
MAX_CALL_DEPTH = 48  # block calls inside block calls (recursion included)


@dataclass(eq=False)
class SharedGroup:
    """The copies of one `x n shared` repetition: copy 0's nodes, in creation order."""

    nodes: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class SharedCopy:
    """Copy `index` of a shared repetition (yielded by `applications` in place of the unit)."""

    unit: A.Unit
    group: SharedGroup
    index: int
    span: Span


class Step(NamedTuple):
    """One unit to elaborate: what, in which scope and namespace, under which name."""

    unit: object
    scope: dict
    names: Names
    explicit: str | None
    span: Span


class Elaborator:
    def __init__(self, program: A.Program, overrides: dict | None = None, input_shape: Shape | None = None):
        self.program = program
        self.overrides = dict(overrides or {})
        self.input_override = input_shape
        self.g = Graph(program.name)
        self.shapes: dict[int, Shape] = {}
        self.config: dict[str, object] = {}
        self.block_stack: list[str] = []
        self.pending_stride: Pending | None = None
        self.global_scope: dict = {}
        self.state: dict[str, object] = {}  # each structure's own bookkeeping, by keyword
        self.work = 0
        self.where: Span | None = None  # the spec text being elaborated (for budget errors)
        self.op_memo: dict[tuple, Op] = {}
        self.config_memo: dict[tuple, tuple] = {}
        self.block_specs: dict[str, tuple[ArgSpec, ...]] = {}  # each template's formals as the binder reads them
        self.repeats = 1  # how often the enclosing repetitions will build what is being built (estimated())
        self.recordings: dict[tuple, Recording | None] = {}  # block calls built once, replayed after (replay.py)
        self.here: Names | None = None  # the container whose items are being elaborated (for `@name`)
        self.cursor = -1  # the tensor the current sequence has reached
        self.plain_calls: set[int] = set()  # layer calls (AST ids) with no tensor among their arguments
        self.inferred: dict[tuple, tuple] = {}  # (id(op), input shapes) -> (op, resolved op, output shape)
        self.tensors: dict[str, int] = {}  # every item's output node by qualified name (for `@a.b`)

    # ---------------------------------------------------------------- entry

    def run(self) -> Graph:
        scope = global_scope(self)
        scope["@"] = self.resolve_tensor  # `@name` (evaluator.py): only in bodies, not in params and lets
        self.global_scope = scope
        inputs = input_shapes(self, scope)
        top = Names("", {name: span for name, _, span in inputs})  # the inputs' names are taken
        for name, shape, span in inputs:
            nid = self.add(REGISTRY["input"](shape=shape), name, span, [])
            self.record(top, name, nid)
            if nid == 0:
                self.g.input = self.g.output = nid
                top.tensors["input"] = top.tensors[name]  # @input: the first input, whatever its name
            else:
                self.g.more_inputs[name] = nid
        out = self.sequence(self.program.network, self.g.input, scope, top)
        for s in STRUCTURES.values():
            s.finish(self)
        self.g.output = out
        if self.program.output is not None:
            self.here = top
            outputs = {entry.key: self.resolve_tensor(entry.ref, scope).node for entry in self.program.output.entries}
            self.g.outputs = outputs
            self.g.output = next(iter(outputs.values()))
            self.g.outputs_as_tuple = self.program.output.as_tuple
        check_dead_ends(self)
        return self.g

    # ---------------------------------------------------------------- named tensors (tensors.py)

    def resolve_tensor(self, ref: A.TensorRef, scope: dict) -> Tensor:
        return resolve(self, ref, scope)

    def record(self, names: Names, local: str, nid: int, qualified: str | None = None) -> None:
        """`local`'s output is `nid`: `@local` in this body and the ones nested in it, `@...local` by path."""
        qualified = qualified or names.qualify(local)
        names.tensors[local] = (nid, qualified)
        self.tensors[qualified] = nid

    # ---------------------------------------------------------------- graph building

    def add(self, op: Op, name: str, span: Span, inputs: list[int]) -> int:
        """Create a node: resolve the op's shape-dependent attributes, infer its shape, check the budgets."""
        if len(inputs) > 1 and len(set(inputs)) != len(inputs):
            raise ArchError(f"{op.kind} would take the same tensor twice (an empty branch passes its input on "
                            f"unchanged; write `identity` for an identity branch) (in {name})", span)
        shapes = self.shapes
        in_shapes = [shapes[i] for i in inputs]
        key = (id(op), *in_shapes)
        known = self.inferred.get(key)
        if known is None:
            known = self.inferred[key] = (op, *self.infer(op, in_shapes, name, span))  # keeps op alive: ids stay
        op, shape = known[1], known[2]
        nid = len(shapes)
        if nid >= MAX_NODES:
            raise ArchError(f"the network has more than {MAX_NODES:,} nodes (archdsl's limit)", span)
        self.tick(2 + len(inputs), span)  # edges count: a dense block's concats grow quadratically
        self.g.add(Node(nid, name, op, span), inputs)
        shapes[nid] = shape
        return nid

    def infer(self, op: Op, in_shapes: list, name: str, span: Span) -> tuple[Op, Shape]:
        """The op with its shape-dependent attributes resolved, and its output shape (checked for sanity)."""
        try:
            op = op.resolve(in_shapes)
            shape = op.infer(in_shapes)
        except ShapeError as err:
            raise ArchError(f"{err} (in {name})", span) from None
        if shape and min(shape) <= 0:
            shown = ", ".join(fmt(s) for s in in_shapes) or "no input"
            raise ArchError(f"{op.kind} gives an empty output {fmt(shape)} from {shown} (in {name})", span)
        if math.prod(shape) > MAX_ELEMENTS:
            raise ArchError(f"{op.kind} output {fmt(shape)} is absurdly large ({math.prod(shape):,} elements)", span)
        return op, shape

    def op(self, kind: str, names: Names, base: str, span: Span, inputs: list[int], **attributes) -> int:
        """A node the structure adds itself, under a readable name (`add`, `relu_out`, `downsample`)."""
        local = names.auto(base, span)
        qualified = names.qualify(local)
        nid = self.add(REGISTRY[kind](**attributes), qualified, span, inputs)
        self.record(names, local, nid, qualified)
        return nid

    def module(self, name: str, kind: str, span: Span, info=None) -> None:
        self.tick(3, span)
        self.g.modules[name] = Module(name, kind, span, info)

    def tick(self, amount: int = 1, span: Span | None = None) -> None:
        self.work += amount
        if span is not None:
            self.where = span
        if self.work > MAX_WORK:
            raise ArchError(f"elaboration passed {MAX_WORK:,} steps (nodes and their inputs, modules, item "
                            "applications): the spec expands to more than archdsl builds", self.where)

    # ---------------------------------------------------------------- bodies

    def applications(self, seq: A.Sequence, scope: dict, names: Names):
        """Flatten a body into Steps: loops, conditionals and unnamed repetitions splice their items in;
        a named repetition becomes a container whose copies are named 0..n-1."""
        for item in seq.items:
            self.tick(1, item.span)
            self.here = names
            unit = item.unit
            explicit = self.item_name(item, scope)
            count = self.repeat_count(item, scope) if item.repeat is not None else None
            if isinstance(unit, (A.ForLoop, A.IfItems)) and count is None:
                target = names
                if explicit is not None:
                    local = names.claim(explicit, item.span)
                    target = names.child(local)
                    self.module(target.prefix, "sequence", item.span)
                yield from self.control(unit, scope, target)
                if explicit is not None:
                    self.record(names, local, self.cursor)
            elif count is None:
                yield Step(unit, scope, names, explicit, item.span)
            elif explicit is not None:
                local = names.claim(explicit, item.span)
                inner = names.child(local)
                template = unit.name if isinstance(unit, A.Call) else None
                self.module(inner.prefix, "repeat", item.span, RepeatInfo(count, template))
                for i, copy in self.estimated(self.copies(item, unit, count), count, item.repeat.span):
                    self.tick()
                    yield Step(copy, scope, inner, str(i), item.span)
                self.record(names, local, self.cursor)
            elif isinstance(unit, A.Sequence) and not (unit.items or item.shared) and count:
                self.check_estimate(1, 0, count - 1, item.repeat.span)  # `{ } x n`: n copies of nothing,
                self.tick(count, item.repeat.span)  # counted, not made one by one
            else:
                for _, copy in self.estimated(self.copies(item, unit, count), count, item.repeat.span):
                    self.tick()
                    yield Step(copy, scope, names, None, item.span)

    def estimated(self, iterable, count: int, span: Span):
        """Yield (i, x) from `iterable`; after the first, refuse if all `count` would pass the budgets.

        While the first copy is built, `self.repeats` holds how often the enclosing repetitions will build
        it, so an inner repetition's estimate covers them too (`{ relu x 10^5 } x 10^5` is refused after one
        relu, not after 10^5)."""
        start_work, start_nodes = self.work, len(self.shapes)
        outer = self.repeats
        try:
            for i, x in enumerate(iterable):
                if i == 0:
                    self.repeats = outer * count
                elif i == 1:
                    self.repeats = outer
                    self.check_estimate(self.work - start_work, len(self.shapes) - start_nodes, count - 1, span)
                yield i, x
        finally:
            self.repeats = outer

    def check_estimate(self, work: int, nodes: int, remaining: int, span: Span) -> None:
        """Refuse if `remaining` more copies of what made `work` and `nodes` (all of it `self.repeats` times over)
        would pass the budgets."""
        again = (remaining + 1) * (self.repeats - 1)  # the enclosing repetitions' later copies
        total_nodes = len(self.shapes) + nodes * (remaining + again)
        if total_nodes > MAX_NODES:
            raise ArchError(f"this would make about {total_nodes:,} nodes; archdsl builds at most {MAX_NODES:,}", span)
        total_work = self.work + max(work, 1) * (remaining + again)
        if total_work > MAX_WORK:
            raise ArchError(f"this would take about {total_work:,} elaboration steps; the limit is {MAX_WORK:,} "
                            "(nested repetitions or loops that large are refused)", span)

    def repeat_count(self, item: A.Item, scope) -> int:
        count = evaluate(item.repeat, scope)
        if not is_int(count) or count < 0:
            raise ArchError(f"a repetition count must be a non-negative integer, got {show(count)}", item.repeat.span)
        if count > MAX_REPEAT:
            raise ArchError(f"repetition of {count:,} is absurd (limit {MAX_REPEAT:,})", item.repeat.span)
        return count

    def copies(self, item: A.Item, unit, count: int) -> list:
        """The unit to elaborate for each copy of `item x count [shared]`."""
        if not item.shared:
            return [unit] * count
        group = SharedGroup()
        return [SharedCopy(unit, group, i, item.span) for i in range(count)]

    def control(self, unit, scope, names):
        self.here = names
        if isinstance(unit, A.ForLoop):
            values = evaluate(unit.iterable, scope)
            if isinstance(values, dict):
                values = tuple(values)
            if not isinstance(values, tuple):
                raise ArchError(f"a for loop needs a list, got {type_name(values)} {show(values)}", unit.iterable.span)
            for _, value in self.estimated(values, len(values), unit.iterable.span):
                self.tick()
                yield from self.applications(unit.body, {**scope, unit.var: value}, names)
        else:
            self.here = names
            cond = evaluate(unit.condition, scope)
            if not isinstance(cond, bool):
                raise ArchError(f"an if needs a condition (true/false), got {show(cond)}", unit.condition.span)
            branch = unit.then if cond else unit.otherwise
            if branch is not None:
                yield from self.applications(branch, scope, names)

    def item_name(self, item: A.Item, scope) -> str | None:
        if item.name is None:
            return None
        return check_name(evaluate(item.name, scope), item.name.span)

    def sequence(self, seq: A.Sequence, cur: int, scope: dict, names: Names) -> int:
        self.cursor = cur
        for step in self.applications(seq, scope, names):
            cur = self.cursor = self.unit(step, cur)
        return cur

    def branches(self, seq: A.Sequence, cur: int, scope: dict, names: Names, what: str, flat: bool = False) -> list[int]:
        """Each item of `seq` applied to `cur`; an empty branch (one that returns `cur`) is an error.

        `flat`: an unnamed sequence branch names its items in `names` (no level of its own)."""
        outs = []
        for step in self.applications(seq, scope, names):
            if flat and step.explicit is None and isinstance(step.unit, A.Sequence):
                out = self.sequence(step.unit, cur, step.scope, names)
            else:
                out = self.unit(step, cur)
            if out == cur:
                raise empty_branch(what, step.span)
            outs.append(out)
        return outs

    # ---------------------------------------------------------------- units

    def unit(self, step: Step, cur: int) -> int:
        unit = step.unit
        self.here = step.names
        if isinstance(unit, A.Call):
            if unit.name in self.program.blocks:
                return self.block_call(unit, step, cur)
            return self.layer_call(unit, step, cur)
        if isinstance(unit, SharedCopy):
            return shared_copy(self, unit, step, cur)
        if isinstance(unit, A.Structure):
            return self.structure(unit, step, cur)
        if isinstance(unit, A.TensorUnit):
            if step.explicit is not None or step.span != unit.span:
                raise ArchError(f"@{'.'.join(unit.ref.path)} makes no layer: it cannot be named or repeated "
                                "(it only says which tensor the next item takes)", step.span)
            return self.resolve_tensor(unit.ref, step.scope).node
        # a sequence, or a repeated loop / conditional: each a container
        local = step.names.claim(step.explicit, step.span)
        inner = step.names.child(local)
        self.module(inner.prefix, "sequence", unit.span)
        if isinstance(unit, A.Sequence):
            out = self.sequence(unit, cur, step.scope, inner)
        else:
            for inner_step in self.control(unit, step.scope, inner):
                cur = self.cursor = self.unit(inner_step, cur)
            out = cur
        self.record(step.names, local, out)
        return out

    def structure(self, unit: A.Structure, step: Step, cur: int) -> int:
        kind = STRUCTURES[unit.kind]
        for a in unit.args:
            if a.name is None:
                listing = ", ".join(s.name for s in kind.arg_specs()) or "none"
                raise ArchError(f"{unit.kind} takes keyword arguments only ({listing})", a.span)
        key = call_key(unit, step.scope)
        hit = self.config_memo.get(key) if key is not None else None
        if hit is None:
            specs = kind.arg_specs()
            bound = bind(unit.args, specs, step.scope, unit.kind, unit.span, style="structure")
            hit = (kind.Config(**fill_defaults(bound, specs, unit.kind, unit.span, style="structure")), bound.spans)
            if key is not None:
                self.config_memo[key] = hit  # the same structure with the same argument values: one config
        config, spans = hit
        if unit.shortcut is not None and not kind.takes_shortcut:
            raise ArchError(f"{unit.kind} takes no `shortcut {{ }}` body", unit.shortcut.span)
        names = local = step.names
        if step.explicit is not None or kind.container == "always":
            local = names.claim(step.explicit, step.span)
            names = names.child(local)
            self.module(names.prefix, unit.kind, unit.span)
        out = kind.build(self, Call(unit, config, spans, names, step.scope), cur)
        if names is not step.names:
            self.record(step.names, local, out)
        return out

    def layer_call(self, call: A.Call, step: Step, cur: int) -> int:
        op_cls = REGISTRY.get(call.name)
        if op_cls is None or op_cls.TRAITS.source:
            layers = sorted(k for k, c in REGISTRY.items() if not c.TRAITS.source and c.max_inputs == 1)
            known = layers + sorted(self.program.blocks)
            raise ArchError(f"unknown layer or block '{call.name}'{suggest(call.name, known)}", call.span,
                            note="layers: " + ", ".join(layers))
        if id(call) in self.plain_calls:  # no tensor arguments (most calls): nothing to look at
            args, inputs = call.args, None
        else:
            args, inputs = tensor_args(self, call, op_cls, step.scope)
            if inputs is None and args is call.args and op_cls.max_inputs == 1:
                self.plain_calls.add(id(call))
        if inputs is None and (op_cls.min_inputs != 1 or op_cls.max_inputs != 1):
            raise ArchError(f"'{call.name}' joins several inputs: give them as named tensors, e.g. "
                            f"{call.name}(@a, @b), or build it with residual, parallel or dense", call.span)
        if args is not call.args:
            call = A.Call(call.span, call.name, args)
            key = None
        else:
            key = call_key(call, step.scope)
        op = self.op_memo.get(key) if key is not None else None
        if op is None:
            what = f"layer '{call.name}'"
            values = fill_defaults(bind(call.args, op_cls.ARGS, step.scope, what, call.span), op_cls.ARGS, what,
                                   call.span)
            op = op_cls(**values)
            if key is not None:
                self.op_memo[key] = op  # the same call with the same values: one op instance (ops are frozen)
        local = step.names.claim(step.explicit, step.span)
        qualified = step.names.qualify(local)
        try:
            nid = self.add(op, qualified, call.span, [t.node for t in inputs] if inputs else [cur])
        except ArchError as err:
            if inputs:
                err.note = "; ".join(f"@{t.name} is {fmt(t.shape)} (made at {t.span})" for t in inputs)
            raise
        if inputs and len(inputs) > 1:
            roles = join_roles(self, [t.node for t in inputs])
            if roles is not None:
                self.g.joins[nid] = Join(nid, roles)
        self.record(step.names, local, nid, qualified)
        return nid

    def block_call(self, call: A.Call, step: Step, cur: int) -> int:
        block = self.program.blocks[call.name]
        if len(self.block_stack) >= MAX_CALL_DEPTH:
            chain = " -> ".join(self.block_stack[-4:] + [call.name])
            raise ArchError(f"block calls nest more than {MAX_CALL_DEPTH} deep (... {chain}); a recursive block "
                            "needs an `if` that stops it", call.span)
        what = f"block '{call.name}'"
        specs = self.block_specs.get(call.name)
        if specs is None:
            specs = self.block_specs[call.name] = tuple(
                ArgSpec(f.name, _as_is, Deferred(f.default) if f.default is not None else REQUIRED, positional=True)
                for f in block.formals)
        bound = bind(call.args, specs, step.scope, what, call.span)
        self.take_stage_stride(call, bound, {f.name for f in block.formals})
        scope = {**self.input_facts(cur), **self.global_scope}
        values = fill_defaults(bound, specs, what, call.span, scope)
        if call.inline:  # its items are named in the caller's container; its tensors are its own
            if step.explicit is not None:
                raise ArchError(f"an inline call has no name of its own: its items take their names in the "
                                f"enclosing container (write `{step.explicit}: {call.name}(...)` for a container)",
                                step.span)
            local, inner = None, Names(step.names.prefix, step.names.used, parent=step.names)
            inner.position = step.names.position
        else:
            local = step.names.claim(step.explicit, step.span)
            inner = step.names.child(local)
            self.module(inner.prefix, "block", call.span, BlockInfo(call.name, tuple(values.items())))
        inner.boundary = True
        inner.tensors["input"] = (cur, self.g.node(cur).name)  # @input: the block's input
        key = _replay_key(block, values, self.shapes[cur]) if not call.inline else None
        recording = self.recordings.get(key) if key is not None else None
        if recording is not None and recording.fits(self, MAX_NODES, MAX_WORK):
            out = recording.replay(self, cur, inner.prefix)
            self.record(step.names, local, out)
            return out
        mark = Mark.take(self)
        self.block_stack.append(call.name)
        saved, self.pending_stride = self.pending_stride, None
        try:
            out = self.sequence(block.body, cur, scope, inner)
        except ArchError as err:
            if err.note is None and err.span is not None and err.span != call.span:
                err.note = f"in block '{call.name}', called at {call.span}"
            raise
        finally:
            self.block_stack.pop()
            self.pending_stride = saved
        if key is not None and key not in self.recordings:
            self.recordings[key] = Recording.capture(self, mark, cur, inner.prefix, out)
        if call.inline:
            step.names.position = inner.position
        else:
            self.record(step.names, local, out)
        return out

    def input_facts(self, cur: int) -> dict:
        """What a block sees of its input: `in_channels`, and `in_height`, `in_width` of a CxHxW map."""
        shape = self.shapes[cur]
        spatial = {"in_height": shape[1], "in_width": shape[2]} if len(shape) == 3 else {}
        return {"in_channels": shape[0], **spatial}

    def take_stage_stride(self, call: A.Call, bound, formals: set[str]) -> None:
        pending = self.pending_stride
        if pending is None or pending.used:
            return
        pending.used = True
        if "stride" not in formals:
            raise ArchError(f"this stage passes stride to its first block, but block '{call.name}' has no "
                            "'stride' parameter", call.span)
        if "stride" in bound.values:
            raise ArchError("stride is given both here and by the enclosing stage", call.span)
        bound.values["stride"] = pending.stride


def _as_is(value):
    return value
