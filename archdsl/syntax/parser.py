"""`.arch` text -> AST (ast.py), with a span on every node.

The grammar lives in grammar.lark. `parse_text` parses a whole file;
`parse_fragment` parses one item or expression embedded elsewhere (the YAML
form), shifting spans to where the fragment sits in its file.
"""
from __future__ import annotations

import re
from functools import lru_cache

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import ast as A
from ..errors import ArchError, Span, register_source
from .tables import load_parser


@lru_cache(maxsize=1)
def _lark() -> Lark:
    """The LALR parser, from the tables shipped beside the grammar (JSON, never an unpickled cache)."""
    return load_parser()


# ---------------------------------------------------------------- tree -> AST


@v_args(meta=True)
class _ToAst(Transformer):
    def __init__(self, file: str, line_offset: int = 0, column_offset: int = 0):
        super().__init__()
        self.file = file
        self.line_offset = line_offset
        self.column_offset = column_offset

    # spans --------------------------------------------------------------
    def _at(self, line: int, column: int, end_line: int, end_column: int) -> Span:
        c0 = self.column_offset if line == 1 else 0
        c1 = self.column_offset if end_line == 1 else 0
        return Span(self.file, line + self.line_offset, column + c0, end_line + self.line_offset, end_column + c1)

    def span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.file, self.line_offset + 1, self.column_offset + 1)
        return self._at(meta.line, meta.column, meta.end_line, meta.end_column)

    def tok_span(self, tok: Token) -> Span:
        return self._at(tok.line, tok.column, tok.end_line, tok.end_column)

    # file ---------------------------------------------------------------
    def start(self, meta, decls):
        return decls

    def import_decl(self, meta, c):
        return A.Import(self.span(meta), _unquote(c[0]))

    def arch_decl(self, meta, c):
        return ("arch", str(c[0]), self.span(meta))

    def param_decl(self, meta, c):
        return A.Param(self.span(meta), str(c[0]), c[1])

    def let_decl(self, meta, c):
        return A.Let(self.span(meta), str(c[0]), c[1])

    def input_decl(self, meta, c):
        return A.InputDecl(self.span(meta), c[0])

    def input_shape(self, meta, c):
        value = c[0]
        if isinstance(value, Token):  # DIMS: 3x224x224
            span = self.tok_span(value)
            return tuple(A.Literal(span, int(d)) for d in str(value).split("x"))
        return value

    def block_decl(self, meta, c):
        name, *formals, body = c
        formals = tuple(f for f in formals if f is not None)
        return A.BlockDef(self.span(meta), str(name), formals, body)

    def formal(self, meta, c):
        return A.Formal(self.span(meta), str(c[0]), c[1])

    def network_decl(self, meta, c):
        return ("network", c[0])

    # bodies -------------------------------------------------------------
    def body(self, meta, items):
        return A.Sequence(self.span(meta), tuple(items))

    def item(self, meta, c):
        name, unit, repeat, shared = c
        return A.Item(self.span(meta), name, unit, repeat, shared is not None)

    def item_name(self, meta, c):
        tok = c[0]
        if tok.type == "STRING":
            return _interpolate(_unquote(tok), self.tok_span(tok), self.file)
        return A.Literal(self.tok_span(tok), str(tok))

    def call(self, meta, c):
        return A.Call(self.span(meta), str(c[0]), c[1] or ())

    def call_args(self, meta, c):
        return tuple(a for a in c if a is not None)

    def positional_arg(self, meta, c):
        return A.Arg(self.span(meta), None, c[0])

    def keyword_arg(self, meta, c):
        return A.Arg(self.span(meta), str(c[0]), c[1])

    def structure(self, meta, c):
        keyword, args, body, shortcut = c
        return A.Structure(self.span(meta), str(keyword), args or (), body, shortcut)

    def shortcut_clause(self, meta, c):
        return c[0]

    def for_loop(self, meta, c):
        return A.ForLoop(self.span(meta), str(c[0]), c[1], c[2])

    def if_items(self, meta, c):
        cond, then, otherwise = c
        if isinstance(otherwise, A.IfItems):
            otherwise = A.Sequence(otherwise.span, (A.Item(otherwise.span, None, otherwise),))
        return A.IfItems(self.span(meta), cond, then, otherwise)

    def sequence(self, meta, c):
        return c[0]

    # expressions --------------------------------------------------------
    def if_expr(self, meta, c):
        return A.IfExpr(self.span(meta), c[0], c[1], c[2])

    def or_op(self, meta, c):
        return c[0] if len(c) == 1 else A.BoolOp(self.span(meta), "or", tuple(c))

    def and_op(self, meta, c):
        return c[0] if len(c) == 1 else A.BoolOp(self.span(meta), "and", tuple(c))

    def not_op(self, meta, c):
        return A.Unary(self.span(meta), "not", c[0])

    def compare(self, meta, c):
        if len(c) == 1:
            return c[0]
        rest = tuple((str(c[i]), c[i + 1]) for i in range(1, len(c), 2))
        return A.Compare(self.span(meta), c[0], rest)

    def arith(self, meta, c):
        if len(c) == 1:
            return c[0]
        return A.Arith(self.span(meta), c[0], tuple((str(c[i]), c[i + 1]) for i in range(1, len(c), 2)))

    def neg(self, meta, c):
        return A.Unary(self.span(meta), "-", c[1])

    def pos(self, meta, c):
        return A.Unary(self.span(meta), "+", c[1])

    def index(self, meta, c):
        return A.Index(self.span(meta), c[0], c[1])

    def func_call(self, meta, c):
        return A.FuncCall(self.span(meta), str(c[0]), tuple(a for a in c[1:] if a is not None))

    def int_lit(self, meta, c):
        text = str(c[0]).lstrip("0") or "0"
        if len(text) > 19:  # the evaluator's limit is 10^18; int() of thousands of digits is slow or refused
            raise ArchError(f"integer literal of {len(text):,} digits is too large (the limit is 10^18)",
                            self.tok_span(c[0]))
        return A.Literal(self.tok_span(c[0]), int(text))

    def float_lit(self, meta, c):
        value = float(c[0])
        if value == float("inf"):
            raise ArchError(f"number {str(c[0])[:40]} is too large for a float", self.tok_span(c[0]))
        return A.Literal(self.tok_span(c[0]), value)

    def string_lit(self, meta, c):
        return A.Literal(self.tok_span(c[0]), _unquote(c[0]))

    def true_lit(self, meta, c):
        return A.Literal(self.span(meta), True)

    def false_lit(self, meta, c):
        return A.Literal(self.span(meta), False)

    def name_ref(self, meta, c):
        return A.NameRef(self.tok_span(c[0]), str(c[0]))

    def list_lit(self, meta, c):
        return A.ListExpr(self.span(meta), tuple(x for x in c if x is not None))

    def map_lit(self, meta, c):
        return A.MapExpr(self.span(meta), tuple(x for x in c if x is not None))

    def map_entry(self, meta, c):
        return (c[0], c[1])


def _unquote(tok) -> str:
    return str(tok)[1:-1]


_HOLE = re.compile(r"\{([^{}]*)\}")


def _interpolate(text: str, span: Span, file: str) -> A.Expr:
    """"denselayer{i + 1}" -> Interpolated(("denselayer", <i + 1>)); plain text -> Literal."""
    if "{" not in text and "}" not in text:
        return A.Literal(span, text)
    parts: list = []
    pos = 0
    for m in _HOLE.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        hole_col = span.column + 1 + m.start(1)  # +1: the opening quote
        parts.append(parse_fragment(m.group(1), "expr", file, span.line - 1, hole_col - 1))
        pos = m.end()
    if "{" in text[pos:] or "}" in text[pos:]:
        raise ArchError("unbalanced '{' or '}' in a name template", span)
    if pos < len(text):
        parts.append(text[pos:])
    return A.Interpolated(span, tuple(parts))


# ---------------------------------------------------------------- entry points

_TOKEN_WORDS = {
    "NAME": "a name",
    "INT": "an integer",
    "FLOAT": "a number",
    "STRING": "a string",
    "DIMS": "a shape like 3x224x224",
    "COMP_OP": "a comparison",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "MUL_OP": "an operator",
    "_TIMES": "'x' (repetition)",
    "SHARED": "'shared'",
    "STRUCTURE": "a structure (residual, parallel, ...)",
    "$END": "end of input",
}


@lru_cache(maxsize=1)
def structure_keywords() -> tuple[str, ...]:
    """The structure keywords, as the grammar's STRUCTURE terminal lists them."""
    pattern = _lark().get_terminal("STRUCTURE").pattern.value
    return tuple(re.match(r"\(([^)]*)\)", pattern).group(1).split("|"))


def _describe_expected(names) -> str:
    terminals = {t.name: t for t in _lark().terminals}
    words = set()
    for n in names:
        if n in _TOKEN_WORDS:
            words.add(_TOKEN_WORDS[n])
        elif n in terminals and terminals[n].pattern.type == "str":
            words.add(f"'{terminals[n].pattern.value}'")
        else:
            words.add(n.lower())
    words = sorted(words)
    if len(words) > 8:
        words = words[:8] + ["..."]
    return ", ".join(words)


def _expected(names, start: str) -> str:
    words = _describe_expected(names)
    if words:
        return f"expected {words}"
    if start == "item":
        return "expected nothing more: one item per entry (put the next item in an entry of its own)"
    return "expected the end of the expression" if start == "expr" else "expected the end of the file"


def _syntax_error(err: UnexpectedInput, file: str, line_offset: int, column_offset: int, start: str) -> ArchError:
    line = getattr(err, "line", 1) or 1
    column = getattr(err, "column", 1) or 1
    c0 = column_offset if line == 1 else 0
    span = Span(file, line + line_offset, column + c0, line + line_offset, column + c0 + 1)
    if isinstance(err, UnexpectedToken):
        tok = err.token
        if tok.type == "$END":
            what = "unexpected end of input"
        else:
            what = f"unexpected {tok.type.lower() if tok.type in ('INT', 'FLOAT') else 'token'} '{tok}'"
            span = Span(file, line + line_offset, column + c0, line + line_offset, column + c0 + len(str(tok)))
        return ArchError(f"syntax error: {what}; {_expected(err.expected, start)}", span)
    if isinstance(err, UnexpectedCharacters):
        return ArchError(f"syntax error: unexpected character {err.char!r}; {_expected(err.allowed, start)}", span)
    if isinstance(err, UnexpectedEOF):
        return ArchError(f"syntax error: unexpected end of input; {_expected(err.expected, start)}", span)
    return ArchError(f"syntax error: {err}", span)


MAX_NESTING = 100  # levels of the parse tree: brackets, bodies, `not`s, `else if`s (well below Python's recursion limit)


def _check_nesting(tree, file: str, line_offset: int, column_offset: int) -> None:
    """Refuse a parse tree deeper than MAX_NESTING before the (recursive) transformer walks it."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            meta = node.meta
            line = getattr(meta, "line", 1)
            column = getattr(meta, "column", 1) + (column_offset if line == 1 else 0)
            raise ArchError(f"the spec nests more than {MAX_NESTING} levels deep here (brackets, bodies, `not`s or "
                            "`else if`s); archdsl refuses deeper nesting", Span(file, line + line_offset, column))
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def _parse(text: str, start: str, file: str, line_offset: int, column_offset: int):
    try:
        tree = _lark().parse(text, start=start)
    except UnexpectedInput as err:
        raise _syntax_error(err, file, line_offset, column_offset, start) from None
    except RecursionError:  # pragma: no cover - the LALR parser is iterative; a guard all the same
        raise ArchError("the spec nests too deeply to parse", Span(file, line_offset + 1, column_offset + 1)) from None
    _check_nesting(tree, file, line_offset, column_offset)
    try:
        return _ToAst(file, line_offset, column_offset).transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, ArchError):
            raise err.orig_exc from None
        raise


def parse_fragment(text: str, start: str, file: str, line_offset: int = 0, column_offset: int = 0):
    """Parse one `item` or `expr` found inside another file (YAML), spans shifted."""
    return _parse(text, start, file, line_offset, column_offset)


def parse_text(text: str, file: str = "<string>") -> A.SpecFile:
    """Parse a whole `.arch` file."""
    register_source(file, text, "arch")
    decls = _parse(text, "start", file, 0, 0)
    return build_spec_file(decls, file, Span(file, 1, 1))


def build_spec_file(decls, file: str, span: Span) -> A.SpecFile:
    """Sort a file's declarations into a SpecFile, rejecting duplicates."""
    arch_name = None
    imports, params, lets, blocks = [], [], [], []
    input_decl = None
    network = None
    seen: dict[str, Span] = {}

    def claim(kind: str, name: str, where: Span):
        key = f"{kind} {name}"
        if key in seen:
            raise ArchError(f"{kind} '{name}' is declared twice in this file (first at {seen[key]})", where)
        seen[key] = where

    for d in decls:
        if isinstance(d, A.Import):
            imports.append(d)
        elif isinstance(d, A.Param):
            claim("name", d.name, d.span)
            params.append(d)
        elif isinstance(d, A.Let):
            claim("name", d.name, d.span)
            lets.append(d)
        elif isinstance(d, A.BlockDef):
            claim("block", d.name, d.span)
            blocks.append(d)
        elif isinstance(d, A.InputDecl):
            if input_decl is not None:
                raise ArchError(f"input is declared twice (first at {input_decl.span})", d.span)
            input_decl = d
        elif d[0] == "arch":
            if arch_name is not None:
                raise ArchError(f"arch name is declared twice (first at {arch_name[1]})", d[2])
            arch_name = (d[1], d[2])
        elif d[0] == "network":
            if network is not None:
                raise ArchError(f"network is declared twice (first at {network.span})", d[1].span)
            network = d[1]
    return A.SpecFile(file, arch_name, tuple(imports), tuple(params), tuple(lets), input_decl, tuple(blocks), network, span)
