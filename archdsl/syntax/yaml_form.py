"""The YAML form of a spec -> the same AST as parser.py builds.

YAML is read with PyYAML's SafeLoader (compose only: node marks give spans).
Expressions and one-line items are YAML strings parsed by the .arch grammar,
their spans shifted to where they sit in the YAML file:

    arch: resnet20
    params: {depth: 20, classes: 10}
    let: {n: (depth - 2) // 6}
    input: 3x32x32
    blocks:
      basic:
        args: [c, {stride: 1}]
        body:
          - residual: {shortcut: zeropad}
            body: ["conv1: conv(c, 3, stride=stride, padding=1, bias=false)", "bn1: bn", relu, ...]
    network:
      - "conv1: conv(16, 3, padding=1, bias=false)"
      - layer1: {stage: {stride: 1}, body: ["basic(16) x n"]}

A body item is a string (one `.arch` item), `{name: "unit"}`, `{name: {structure}}`
or an unnamed structure: a mapping with a structure keyword (the grammar's
STRUCTURE terminal: residual, parallel, dense, ...), `body`, `for` or `if`
(see docs/language.md, "The YAML form"); `repeat: n` and `shared: true` go
beside the structure's key, `shortcut_body:` beside a structure's.
"""
from __future__ import annotations

import math
import re

import yaml

from . import ast as A
from ..errors import ArchError, Span, register_source
from ..values import MAX_INT
from .declarations import build_spec_file
from .parser import parse_fragment, structure_keywords
from .yaml_positions import scalar_positions

TOP_KEYS = ("arch", "import", "params", "let", "input", "blocks", "network", "output", "output_tuple")


class _Reader:
    def __init__(self, file: str, text: str = ""):
        self.file = file
        self.text = text

    def span(self, node: yaml.Node) -> Span:
        start, end = node.start_mark, node.end_mark
        return Span(self.file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)

    def fail(self, message: str, node: yaml.Node):
        raise ArchError(message, self.span(node))

    # scalars ------------------------------------------------------------
    def text_of(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            self.fail(f"expected {what} (a string), got a {_kind(node)}", node)
        return node.value

    def fragment(self, node: yaml.ScalarNode, start: str, skip: int = 0):
        """Parse the scalar's value (from character `skip` on) with the .arch grammar, spans in this file."""
        mark = node.start_mark
        if self.text[mark.index : node.end_mark.index] == node.value:  # a plain one-line scalar: a shift
            return parse_fragment(node.value[skip:], start, self.file, mark.line, mark.column + skip)
        positions = scalar_positions(self.text, node)
        if positions is None:  # cannot align (not seen): at least the scalar's start
            positions = [(mark.line + 1, mark.column + 1, mark.column + 2)] * len(node.value)
        return parse_fragment(node.value[skip:], start, self.file, positions=positions[skip:])

    def expr(self, node: yaml.Node) -> A.Expr:
        """A YAML scalar as an expression: numbers and booleans literally, strings parsed."""
        if isinstance(node, yaml.SequenceNode):
            return A.ListExpr(self.span(node), tuple(self.expr(n) for n in node.value))
        if isinstance(node, yaml.MappingNode):
            return A.MapExpr(self.span(node), tuple((self.expr(k), self.expr(v)) for k, v in node.value))
        span = self.span(node)
        tag = _tag(node)
        if tag == "int":
            return A.Literal(span, self.integer(node))
        if tag == "float":
            return A.Literal(span, self.real(node))
        if tag == "bool":
            if node.value.lower() not in _TRUE + _FALSE:
                self.fail(f"'{node.value}' is not a boolean (true or false)", node)
            return A.Literal(span, node.value.lower() in _TRUE)
        if tag == "null":
            self.fail("expected a value, got nothing", node)
        return self.fragment(node, "expr")

    def integer(self, node: yaml.ScalarNode) -> int:
        text = node.value.replace("_", "")
        if len(text) > 40:
            self.fail(f"integer of {len(text):,} digits is too large (the limit is 10^18)", node)
        if _DECIMAL_INT.fullmatch(text):
            return self.within_limit(int(text), node)
        if _HEX_INT.fullmatch(text):
            return self.within_limit(int(text, 16), node)
        if _OTHER_INT.fullmatch(text):
            self.fail(f"YAML reads '{node.value}' as an octal, binary or sexagesimal number; write it in decimal, "
                      "or quote it", node)
        self.fail(f"'{node.value}' is not an integer", node)

    def within_limit(self, value: int, node) -> int:
        if abs(value) > MAX_INT:
            self.fail(f"number too large: {node.value} (the limit is 10^18)", node)
        return value

    def real(self, node: yaml.ScalarNode) -> float:
        text = node.value.replace("_", "")
        if _DECIMAL_FLOAT.fullmatch(text) and len(text) <= 400:
            value = float(text)
            if math.isinf(value):
                self.fail(f"'{node.value}' is too large for a float", node)
            return value
        if text.lower().lstrip("+-") in (".inf", ".nan"):
            self.fail(f"'{node.value}' is not a finite number", node)
        self.fail(f"'{node.value}' is not a number archdsl reads (write it like 0.5 or 1e-3)", node)

    def mapping(self, node: yaml.Node, what: str) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            self.fail(f"expected {what} (a mapping), got a {_kind(node)}", node)
        seen = set()
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode):
                self.fail("mapping keys must be plain names", key)
            if key.value in seen:
                self.fail(f"key '{key.value}' appears twice", key)
            seen.add(key.value)
        return node.value

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(f"expected {what} (a list), got a {_kind(node)}", node)
        return node.value

    # file ---------------------------------------------------------------
    def spec(self, root: yaml.Node) -> A.SpecFile:
        decls: list = []
        for key, value in self.mapping(root, "a spec"):
            k = key.value
            if k == "arch":
                name = self.text_of(value, "the architecture's name")
                if not _ARCH_NAME.fullmatch(name):
                    self.fail("an arch name is letters, digits and _, not starting with a digit", value)
                decls.append(("arch", name, self.span(value)))
            elif k == "import":
                paths = value.value if isinstance(value, yaml.SequenceNode) else [value]
                decls += [A.Import(self.span(p), self.text_of(p, "a file to import")) for p in paths]
            elif k == "params":
                decls += [A.Param(self.span(n), n.value, self.expr(v)) for n, v in self.mapping(value, "params")]
            elif k == "let":
                decls += [A.Let(self.span(n), n.value, self.expr(v)) for n, v in self.mapping(value, "let")]
            elif k == "input":
                decls.append(self.input(value))
            elif k == "blocks":
                decls += [self.block(n, v) for n, v in self.mapping(value, "blocks")]
            elif k == "network":
                decls.append(("network", self.body(value)))
            elif k in ("output", "output_tuple"):
                decls.append(self.output(value, as_tuple=k == "output_tuple"))
            else:
                self.fail(f"unknown key '{k}'; a spec has: {', '.join(TOP_KEYS)}", key)
        return build_spec_file(decls, self.file, self.span(root))

    def output(self, node, as_tuple: bool) -> A.OutputDecl:
        """`output: [out, aux]` (items of the network) or `output: {out: "@head", "0": "@p2"}`."""
        entries = []
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = self.text_of(key, "an output name")
                ref = self.fragment(value, "expr") if isinstance(value, yaml.ScalarNode) else None
                if not isinstance(ref, A.TensorRef):
                    self.fail(f"output '{name}' needs a tensor such as \"@head\"", value)
                entries.append(A.OutputEntry(self.span(key), name, ref))
        else:
            for item in self.sequence(node, "the outputs"):
                name = self.text_of(item, "an output name")
                entries.append(A.OutputEntry(self.span(item), name, A.TensorRef(self.span(item), (name,))))
        if not entries:
            self.fail("output needs at least one name", node)
        return A.OutputDecl(self.span(node), tuple(entries), as_tuple)

    def input(self, node):
        if isinstance(node, yaml.MappingNode):  # several inputs: {image: 3x224x224, depth: 1x224x224}
            decls = []
            for key, value in self.mapping(node, "the inputs"):
                if not key.value.isidentifier():
                    self.fail("an input's name is letters, digits and _, not starting with a digit", key)
                one = self.input(value)
                decls.append(A.InputDecl(self.span(key), one.dims, key.value))
            if not decls:
                self.fail("input needs at least one shape", node)
            return ("inputs", tuple(decls), self.span(node))
        if isinstance(node, yaml.SequenceNode):
            return A.InputDecl(self.span(node), tuple(self.expr(n) for n in node.value))
        text = self.text_of(node, "an input shape like 3x224x224")
        parts = text.split("x")
        if all(p.strip().isdigit() for p in parts):
            span = self.span(node)
            return A.InputDecl(span, tuple(A.Literal(span, int(p)) for p in parts))
        return A.InputDecl(self.span(node), self.expr(node))

    def block(self, name: yaml.ScalarNode, node) -> A.BlockDef:
        formals: list[A.Formal] = []
        body = None
        for key, value in self.mapping(node, f"block '{name.value}'"):
            if key.value == "args":
                for f in self.sequence(value, "the block's arguments"):
                    if isinstance(f, yaml.MappingNode):
                        formals += [A.Formal(self.span(n), n.value, self.expr(v)) for n, v in self.mapping(f, "an argument")]
                    else:
                        formals.append(A.Formal(self.span(f), self.text_of(f, "an argument name"), None))
            elif key.value == "body":
                body = self.body(value)
            else:
                self.fail(f"unknown key '{key.value}' in a block; expected args, body", key)
        if body is None:
            self.fail(f"block '{name.value}' has no body", node)
        return A.BlockDef(self.span(name), name.value, tuple(formals), body)

    # bodies ---------------------------------------------------------------
    def body(self, node) -> A.Sequence:
        return A.Sequence(self.span(node), tuple(self.item(n) for n in self.sequence(node, "a body")))

    def item(self, node) -> A.Item:
        if isinstance(node, yaml.ScalarNode):
            return self.fragment(node, "item")
        pairs = self.mapping(node, "a body item")
        if len(pairs) == 1 and pairs[0][0].value not in _unit_keys():
            key, value = pairs[0]
            name = A.Literal(self.span(key), key.value)
            if isinstance(value, yaml.ScalarNode):
                inner = self.fragment(value, "item")
                if inner.name is not None:
                    self.fail("this item is named twice", value)
                return A.Item(self.span(node), name, inner.unit, inner.repeat, inner.shared)
            unit, repeat, shared = self.structure(value)
            return A.Item(self.span(node), name, unit, repeat, shared)
        unit, repeat, shared = self.structure(node)
        return A.Item(self.span(node), None, unit, repeat, shared)

    def structure(self, node) -> tuple[A.Unit, A.Expr | None, bool]:
        """A structure mapping -> (unit, repeat count or None, shared)."""
        fields = {k.value: (k, v) for k, v in self.mapping(node, "a structure")}
        repeat = self.expr(fields.pop("repeat")[1]) if "repeat" in fields else None
        shared = self.shared(fields.pop("shared", None), repeat)
        kinds = [k for k in _unit_keys() if k in fields and k != "body"]
        if len(kinds) > 1:
            self.fail(f"one structure per item, got {' and '.join(kinds)}", node)
        kind = kinds[0] if kinds else "body"
        allowed = {kind, "body"} | ({"then", "else"} if kind == "if" else set()) | (
            {"shortcut_body"} if kind in structure_keywords() else set())
        for k, (key, _) in fields.items():
            if k not in allowed:
                self.fail(f"unknown key '{k}' in a {kind} item; expected {', '.join(sorted(allowed))}", key)
        if kind == "if":
            return self.if_items(fields, node), repeat, shared
        if "body" not in fields:
            self.fail(f"a {kind} item needs `body:`", node)
        body = self.body(fields["body"][1])
        if kind == "body":
            return body, repeat, shared
        if kind == "for":
            return self.for_loop(fields["for"][1], body, node), repeat, shared
        shortcut = self.body(fields["shortcut_body"][1]) if "shortcut_body" in fields else None
        return A.Structure(self.span(node), kind, self.args(fields[kind][1]), body, shortcut), repeat, shared

    def shared(self, field, repeat) -> bool:
        if field is None:
            return False
        key, value = field
        if not (isinstance(value, yaml.ScalarNode) and value.tag.endswith(":bool")):
            self.fail("`shared:` takes true or false", value)
        if repeat is None:
            self.fail("`shared:` needs `repeat:` (the copies share the first copy's weights)", key)
        return value.value.lower() in _TRUE

    def if_items(self, fields, node) -> A.IfItems:
        cond = self.expr(fields["if"][1])
        then = self.body(fields["then"][1]) if "then" in fields else self.fail("an if needs `then:`", node)
        other = self.body(fields["else"][1]) if "else" in fields else None
        return A.IfItems(self.span(node), cond, then, other)

    def for_loop(self, text: yaml.Node, body: A.Sequence, node) -> A.ForLoop:
        head = self.text_of(text, "a loop head like `i in range(4)`")
        var, sep, rest = head.partition(" in ")
        if not sep or not var.strip().isidentifier():
            self.fail("a loop head looks like `i in range(4)`", text)
        iterable = self.fragment(text, "expr", skip=len(var) + len(sep))
        return A.ForLoop(self.span(node), var.strip(), iterable, body)

    def args(self, node) -> tuple[A.Arg, ...]:
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return ()
        return tuple(A.Arg(self.span(k), k.value, self.expr(v)) for k, v in self.mapping(node, "arguments"))


_ARCH_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TRUE = ("true", "yes", "on", "y")
_FALSE = ("false", "no", "off", "n")
_DECIMAL_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_HEX_INT = re.compile(r"[-+]?0x[0-9a-fA-F]+")
_OTHER_INT = re.compile(r"[-+]?(0[0-7]+|0b[01]+|[0-9][0-9]*(:[0-5]?[0-9])+)")
_DECIMAL_FLOAT = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")
_STANDARD_TAGS = {"str", "int", "float", "bool", "null", "seq", "map"}
MAX_YAML_DEPTH = 64  # nesting of lists and mappings
MAX_YAML_NODES = 100_000  # after expanding aliases (a "billion laughs" file expands to 10^9)


def _unit_keys() -> tuple[str, ...]:
    """Keys that make a mapping a unit rather than a named item: the structures, `body`, `for` and `if`."""
    return structure_keywords() + ("body", "for", "if")


def _tag(node) -> str:
    return node.tag.rsplit(":", 1)[-1]


def _kind(node) -> str:
    return {yaml.ScalarNode: "value", yaml.SequenceNode: "list", yaml.MappingNode: "mapping"}[type(node)]


def parse_yaml(text: str, file: str = "<string>") -> A.SpecFile:
    register_source(file, text, "yaml")
    try:
        root = _EventComposer(_checked_events(text, file)).get_single_node()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        span = Span(file, mark.line + 1, mark.column + 1) if mark else None
        what = err.problem or err.context or "not valid YAML"
        raise ArchError(f"YAML syntax error: {what}", span) from None
    except yaml.reader.ReaderError as err:
        raise ArchError(f"YAML cannot read character {chr(err.character)!r}: {err.reason}",
                        _position_span(text, err.position, file)) from None
    except (yaml.YAMLError, UnicodeError) as err:
        raise ArchError(f"YAML cannot read this file: {err}", Span(file, 1, 1)) from None
    if root is None:
        raise ArchError("the YAML file is empty", Span(file, 1, 1))
    reader = _Reader(file, text)
    _check_tree(root, reader)
    return reader.spec(root)


def _position_span(text: str, position: int, file: str) -> Span:
    """The span of character `position`, counting lines as YAML does."""
    before = _YAML_LINE_BREAKS.split(text[:position])
    return Span(file, len(before), len(before[-1]) + 1)


_YAML_LINE_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _checked_events(text: str, file: str) -> list[yaml.Event]:
    """The parser's events, refusing nesting deeper than MAX_YAML_DEPTH before composing (the composer recurses)."""
    depth = 0
    events = []
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        events.append(event)
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                mark = event.start_mark
                raise ArchError(f"the YAML nests lists and mappings more than {MAX_YAML_DEPTH} deep",
                                Span(file, mark.line + 1, mark.column + 1))
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
    return events


class _EventComposer(yaml.composer.Composer, yaml.resolver.Resolver):
    """SafeLoader's composer fed with events already parsed (the text is scanned once, not twice)."""

    def __init__(self, events: list[yaml.Event]):
        yaml.composer.Composer.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self._events = events
        self._next = 0

    def check_event(self, *choices) -> bool:
        if self._next == len(self._events):
            return False
        return not choices or isinstance(self._events[self._next], choices)

    def peek_event(self) -> yaml.Event:
        return self._events[self._next]

    def get_event(self) -> yaml.Event:
        self._next += 1
        return self._events[self._next - 1]


def _check_tree(root: yaml.Node, reader: _Reader) -> None:
    """Refuse unknown tags, and aliases that expand the tree past MAX_YAML_NODES (counted, not expanded)."""
    sizes: dict[int, int] = {}
    seen_twice: list[yaml.Node] = []
    open_nodes: set[int] = set()  # being counted: meeting one again is an alias inside its own anchor

    def size(node) -> int:
        key = id(node)
        if key in sizes:
            seen_twice.append(node)
            return sizes[key]
        if key in open_nodes:
            reader.fail("a YAML alias refers to its own anchor (a structure that contains itself)", node)
        if _tag(node) not in _STANDARD_TAGS:
            reader.fail(f"unsupported YAML tag '{node.tag}'", node)
        open_nodes.add(key)
        if isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(n) for n in node.value)
        elif isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        else:
            total = 1
        open_nodes.discard(key)
        sizes[key] = total
        return total

    total = size(root)
    if total > MAX_YAML_NODES:
        worst = max(seen_twice, key=lambda n: sizes[id(n)]) if seen_twice else root
        reader.fail(f"YAML aliases expand this spec to {total:,} values (at most {MAX_YAML_NODES:,}); "
                    "write the repeated part once, as a block", worst)
