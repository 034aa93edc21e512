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
or an unnamed structure: a mapping with one of the keys residual, parallel,
dense, stage, body, for, if, multi_residual, poly, fractal, spatial_transformer
(see docs/language.md, "The YAML form"); `repeat: n` and `shared: true` go
beside the structure's key.
"""
from __future__ import annotations

import yaml

from . import ast_nodes as A
from .errors import SOURCES, ArchError, Span
from .parser import build_spec_file, parse_fragment

STRUCTURES = ("residual", "parallel", "dense", "stage", "body", "for", "if",
              "multi_residual", "poly", "fractal", "spatial_transformer")
WITH_SHORTCUT = ("residual", "multi_residual", "poly")  # these take `shortcut_body:`
TOP_KEYS = ("arch", "import", "params", "let", "input", "blocks", "network")


class _Reader:
    def __init__(self, file: str):
        self.file = file

    def span(self, node: yaml.Node) -> Span:
        start, end = node.start_mark, node.end_mark
        return Span(self.file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)

    def fail(self, message: str, node: yaml.Node):
        raise ArchError(message, self.span(node))

    # scalars ------------------------------------------------------------
    def text(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            self.fail(f"expected {what} (a string), got a {_kind(node)}", node)
        return node.value

    def fragment(self, node: yaml.ScalarNode, start: str):
        quoted = 1 if node.style in ('"', "'") else 0
        mark = node.start_mark
        return parse_fragment(node.value, start, self.file, mark.line, mark.column + quoted)

    def expr(self, node: yaml.Node) -> A.Expr:
        """A YAML scalar as an expression: numbers and booleans literally, strings parsed."""
        if isinstance(node, yaml.SequenceNode):
            return A.ListExpr(self.span(node), tuple(self.expr(n) for n in node.value))
        if isinstance(node, yaml.MappingNode):
            return A.MapExpr(self.span(node), tuple((self.expr(k), self.expr(v)) for k, v in node.value))
        tag = node.tag.rsplit(":", 1)[-1]
        span = self.span(node)
        if tag == "int":
            return A.Literal(span, int(node.value.replace("_", ""), 0))
        if tag == "float":
            return A.Literal(span, float(node.value))
        if tag == "bool":
            return A.Literal(span, node.value.lower() in ("true", "yes", "on"))
        if tag == "null":
            self.fail("expected a value, got nothing", node)
        return self.fragment(node, "expr")

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
                decls.append(("arch", self.text(value, "the architecture's name"), self.span(value)))
            elif k == "import":
                paths = value.value if isinstance(value, yaml.SequenceNode) else [value]
                decls += [A.Import(self.span(p), self.text(p, "a file to import")) for p in paths]
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
            else:
                self.fail(f"unknown key '{k}'; a spec has: {', '.join(TOP_KEYS)}", key)
        return build_spec_file(decls, self.file, self.span(root))

    def input(self, node) -> A.InputDecl:
        if isinstance(node, yaml.SequenceNode):
            return A.InputDecl(self.span(node), tuple(self.expr(n) for n in node.value))
        text = self.text(node, "an input shape like 3x224x224")
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
                        formals.append(A.Formal(self.span(f), self.text(f, "an argument name"), None))
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
        if len(pairs) == 1 and pairs[0][0].value not in STRUCTURES:
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
        kinds = [k for k in STRUCTURES if k in fields and k != "body"]
        span = self.span(node)
        repeat = self.expr(fields.pop("repeat")[1]) if "repeat" in fields else None
        shared_field = fields.pop("shared", None)
        shared = False
        if shared_field is not None:
            key, value = shared_field
            if not (isinstance(value, yaml.ScalarNode) and value.tag.endswith(":bool")):
                self.fail("`shared:` takes true or false", value)
            if repeat is None:
                self.fail("`shared:` needs `repeat:` (the copies share the first copy's weights)", key)
            shared = value.value.lower() in ("true", "yes", "on")
        if len(kinds) > 1:
            self.fail(f"one structure per item, got {' and '.join(kinds)}", node)
        kind = kinds[0] if kinds else "body"
        allowed = {"if": {"then", "else"}, **{k: {"shortcut_body"} for k in WITH_SHORTCUT}}.get(kind, set()) | {kind, "body"}
        for k, (key, _) in fields.items():
            if k not in allowed:
                self.fail(f"unknown key '{k}' in a {kind} item; expected {', '.join(sorted(allowed))}", key)
        if kind == "if":
            cond = self.expr(fields["if"][1])
            then = self.body(fields["then"][1]) if "then" in fields else self.fail("an if needs `then:`", node)
            other = self.body(fields["else"][1]) if "else" in fields else None
            return A.IfItems(span, cond, then, other), repeat, shared
        if "body" not in fields:
            self.fail(f"a {kind} item needs `body:`", node)
        body = self.body(fields["body"][1])
        if kind == "body":
            return body, repeat, shared
        if kind == "for":
            text = fields["for"][1]
            head = self.text(text, "a loop head like `i in range(4)`")
            var, sep, rest = head.partition(" in ")
            if not sep or not var.strip().isidentifier():
                self.fail("a loop head looks like `i in range(4)`", text)
            quoted = 1 if text.style in ('"', "'") else 0
            offset = text.start_mark.column + quoted + len(var) + len(sep)
            iterable = parse_fragment(rest, "expr", self.file, text.start_mark.line, offset)
            return A.ForLoop(span, var.strip(), iterable, body), repeat, shared
        args = self.args(fields[kind][1])
        if kind in WITH_SHORTCUT:
            shortcut = self.body(fields["shortcut_body"][1]) if "shortcut_body" in fields else None
            cls = {"residual": A.Residual, "multi_residual": A.MultiResidual, "poly": A.Poly}[kind]
            return cls(span, args, body, shortcut), repeat, shared
        cls = {"parallel": A.Parallel, "dense": A.Dense, "stage": A.Stage, "fractal": A.Fractal,
               "spatial_transformer": A.SpatialTransformer}[kind]
        return cls(span, args, body), repeat, shared

    def args(self, node) -> tuple[A.Arg, ...]:
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return ()
        return tuple(A.Arg(self.span(k), k.value, self.expr(v)) for k, v in self.mapping(node, "arguments"))


def _kind(node) -> str:
    return {yaml.ScalarNode: "value", yaml.SequenceNode: "list", yaml.MappingNode: "mapping"}[type(node)]


def parse_yaml(text: str, file: str = "<string>") -> A.SpecFile:
    SOURCES[file] = text
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        span = Span(file, mark.line + 1, mark.column + 1) if mark else None
        raise ArchError(f"YAML syntax error: {err.problem or err.context}", span) from None
    if root is None:
        raise ArchError("the YAML file is empty", Span(file, 1, 1))
    return _Reader(file).spec(root)
