"""`.arch` text -> AST (ast.py), with a span on every node.

The grammar lives in grammar.lark. `parse_text` parses a whole file;
`parse_fragment` parses one item or expression embedded elsewhere (the YAML
form), shifting spans to where the fragment sits in its file.
"""
from __future__ import annotations

import re
from functools import lru_cache

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from . import ast as A
from ..errors import ArchError, Span, register_source
from .declarations import build_spec_file
from .tables import load_parser


@lru_cache(maxsize=1)
def _lark() -> Lark:
    """The LALR parser, from the tables shipped beside the grammar (JSON, never an unpickled cache)."""
    return load_parser()


# ---------------------------------------------------------------- tree -> AST


class Locator:
    """Maps (line, column) in a parsed text to its place in the file.

    A whole file maps to itself. A fragment (a YAML scalar) is either shifted
    (`line_offset`, `column_offset`: a plain one-line scalar) or mapped
    character by character (`positions[i]` = the file's (line, column) of the
    fragment's character i: escapes, block and folded scalars).
    """

    def __init__(self, text: str = "", line_offset: int = 0, column_offset: int = 0, positions=None):
        self.line_offset, self.column_offset, self.positions = line_offset, column_offset, positions
        self.starts = [0]
        if positions is not None:
            for i, c in enumerate(text):
                if c == "\n":
                    self.starts.append(i + 1)

    def _entry(self, line: int, column: int) -> tuple[int, int, int]:
        """(line, column, end column) in the file of the fragment's character at (line, column)."""
        index = self.starts[min(max(line, 1), len(self.starts)) - 1] + column - 1
        if not self.positions:
            return 1, 1, 2
        if index >= len(self.positions):  # just past the end (an unexpected end of input)
            last_line, _, last_end = self.positions[-1]
            return last_line, last_end + index - len(self.positions), last_end + 1 + index - len(self.positions)
        return self.positions[max(index, 0)]

    def __call__(self, line: int, column: int) -> tuple[int, int]:
        if self.positions is None:
            return line + self.line_offset, column + (self.column_offset if line == 1 else 0)
        return self._entry(line, column)[:2]

    def end(self, line: int, column: int) -> tuple[int, int]:
        """Where the fragment's character at (line, column) ends in the file (exclusive)."""
        if self.positions is None:
            first = self(line, column)
            return first[0], first[1] + 1
        entry = self._entry(line, column)
        return entry[0], entry[2]

    def sub(self, text: str, line: int, column: int) -> "Locator":
        """The locator of a piece of this text that starts at (line, column) of it (a name template's hole)."""
        if self.positions is None:
            first = self(line, column)
            return Locator(text, first[0] - 1, first[1] - 1)
        index = self.starts[min(max(line, 1), len(self.starts)) - 1] + column - 1
        return Locator(text, positions=self.positions[index:] or self.positions[-1:])

    def span(self, file: str, line: int, column: int, end_line: int | None = None, end_column: int | None = None):
        first = self(line, column)
        if end_line is None:
            return Span(file, *first)
        return Span(file, *first, *self.end(end_line, max(end_column - 1, 1)))


class _ToAst:
    """One method per grammar rule, `rule(meta, children) -> AST`; `transform` walks the tree bottom-up
    without recursion (a spec's nesting is bounded by MAX_NODES, not by Python's stack)."""

    def __init__(self, file: str, locate: Locator):
        self.file = file
        self.locate = locate

    def transform(self, tree: Tree):
        done: dict[int, object] = {}
        stack = [(tree, False)]
        while stack:
            node, expanded = stack.pop()
            if not expanded:
                stack.append((node, True))
                stack.extend((child, False) for child in node.children if isinstance(child, Tree))
                continue
            children = [done.pop(id(c)) if isinstance(c, Tree) else c for c in node.children]
            done[id(node)] = getattr(self, node.data)(node.meta, children)
        return done[id(tree)]

    # spans --------------------------------------------------------------
    def _at(self, line: int, column: int, end_line: int, end_column: int) -> Span:
        return self.locate.span(self.file, line, column, end_line, end_column)

    def span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return self.locate.span(self.file, 1, 1)
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

    def inputs_decl(self, meta, c):
        return ("inputs", tuple(c), self.span(meta))

    def named_input(self, meta, c):
        return A.InputDecl(self.span(meta), c[1], str(c[0]))

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

    def output_dict(self, meta, c):
        return A.OutputDecl(self.span(meta), tuple(c))

    def output_tuple(self, meta, c):
        return A.OutputDecl(self.span(meta), tuple(c), as_tuple=True)

    def output_entry(self, meta, c):
        key, ref = c
        span = self.span(meta)
        text = _unquote(key) if key.type == "STRING" else str(key)
        if ref is None and key.type == "NAME":
            return A.OutputEntry(span, text, A.TensorRef(self.tok_span(key), (text,)))
        if ref is None:
            raise ArchError(f'output "{text}" needs a tensor: write "{text}" = @name', span)
        return A.OutputEntry(span, text, self.tensor_ref(meta, [ref]))

    # bodies -------------------------------------------------------------
    def body(self, meta, items):
        return A.Sequence(self.span(meta), tuple(items))

    def item(self, meta, c):
        name, unit, repeat, shared = c
        return A.Item(self.span(meta), name, unit, repeat, shared is not None)

    def item_name(self, meta, c):
        tok = c[0]
        if tok.type == "STRING":
            return _interpolate(_unquote(tok), self.tok_span(tok), self.file, self.locate.sub(str(tok), tok.line,
                                                                                                tok.column + 1))
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

    def tensor_unit(self, meta, c):
        return A.TensorUnit(self.span(meta), self.tensor_ref(meta, c))

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

    def tensor_ref(self, meta, c):
        tok = c[0]
        span = self.tok_span(tok)
        if tok.type == "TENSOR_NAMED":
            text = str(tok)[2:-1]
            named = _interpolate(text, span, self.file, self.locate.sub(str(tok), tok.line, tok.column + 2))
            return A.TensorRef(span, (text,), named)
        return A.TensorRef(span, tuple(str(tok)[1:].split(".")))

    def inline_call(self, meta, c):
        call = c[0]
        return A.Call(call.span, call.name, call.args, inline=True)  # errors point at the block's name

    def name_ref(self, meta, c):
        return A.NameRef(self.tok_span(c[0]), str(c[0]))

    def list_lit(self, meta, c):
        return A.ListExpr(self.span(meta), tuple(x for x in c if x is not None))

    def list_comp(self, meta, c):
        item, var, iterable, condition = c
        return A.ListComp(self.span(meta), item, str(var), iterable, condition)

    def map_lit(self, meta, c):
        return A.MapExpr(self.span(meta), tuple(x for x in c if x is not None))

    def map_entry(self, meta, c):
        return (c[0], c[1])


def _unquote(tok) -> str:
    return str(tok)[1:-1]


_HOLE = re.compile(r"\{([^{}]*)\}")


def _interpolate(text: str, span: Span, file: str, locate: Locator) -> A.Expr:
    """"denselayer{i + 1}" -> Interpolated(("denselayer", <i + 1>)); plain text -> Literal.

    `locate` maps positions in `text` (the string without its quotes) to the file.
    """
    if "{" not in text and "}" not in text:
        return A.Literal(span, text)
    parts: list = []
    pos = 0
    for m in _HOLE.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        parts.append(_parse(m.group(1), "expr", file, locate.sub(m.group(1), 1, m.start(1) + 1)))
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
    "TENSOR_REF": "a tensor (@name)",
    "TENSOR_NAMED": 'a tensor (@"name")',
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


def _syntax_error(err: UnexpectedInput, file: str, locate: Locator, start: str) -> ArchError:
    line = getattr(err, "line", 1) or 1
    column = getattr(err, "column", 1) or 1
    if line < 0 or column < 0:  # lark's unexpected end of input has no position
        line, column = 1, 1
    span = locate.span(file, line, column, line, column + 1)
    if isinstance(err, UnexpectedToken):
        tok = err.token
        if tok.type == "$END":
            what = "unexpected end of input"
        else:
            what = f"unexpected {tok.type.lower() if tok.type in ('INT', 'FLOAT') else 'token'} '{tok}'"
            span = locate.span(file, line, column, line, column + len(str(tok)))
        return ArchError(f"syntax error: {what}; {_expected(err.expected, start)}", span)
    if isinstance(err, UnexpectedCharacters):
        return ArchError(f"syntax error: unexpected character {err.char!r}; {_expected(err.allowed, start)}", span)
    if isinstance(err, UnexpectedEOF):
        return ArchError(f"syntax error: unexpected end of input; {_expected(err.expected, start)}", span)
    return ArchError(f"syntax error: {err}", span)


MAX_NESTING = 100  # levels of the parse tree: brackets, bodies, `not`s, `else if`s (well below Python's recursion limit)


def _check_nesting(tree, file: str, locate: Locator) -> None:
    """Refuse a parse tree deeper than MAX_NESTING before the transformer walks it."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            meta = node.meta
            raise ArchError(f"the spec nests more than {MAX_NESTING} levels deep here (brackets, bodies, `not`s or "
                            "`else if`s); archdsl refuses deeper nesting",
                            locate.span(file, getattr(meta, "line", 1), getattr(meta, "column", 1)))
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def _prescan_brackets(text: str, file: str, locate: Locator) -> None:
    """Refuse brackets nested past MAX_NESTING before parsing (lark's reductions make deep nesting slow)."""
    depth, line, column, i, n = 0, 1, 0, 0, len(text)
    while i < n:
        c = text[i]
        column += 1
        if c == "\n":
            line, column = line + 1, 0
        elif c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        elif c == '"':
            j = text.find('"', i + 1)
            k = text.find("\n", i + 1)
            end = n if j < 0 else j
            if 0 <= k < end:
                end = k - 1  # an unterminated string: the parser reports it
            column += end - i
            i = end + 1
            continue
        elif c in "([{":
            depth += 1
            if depth > MAX_NESTING:
                raise ArchError(f"brackets nest more than {MAX_NESTING} levels deep here; archdsl refuses deeper "
                                "nesting", locate.span(file, line, column, line, column + 1))
        elif c in ")]}":
            depth = max(depth - 1, 0)
        i += 1


def _parse(text: str, start: str, file: str, locate: Locator):
    _prescan_brackets(text, file, locate)
    try:
        tree = _lark().parse(text, start=start)
    except UnexpectedInput as err:
        raise _syntax_error(err, file, locate, start) from None
    _check_nesting(tree, file, locate)
    return _ToAst(file, locate).transform(tree)


def parse_fragment(text: str, start: str, file: str, line_offset: int = 0, column_offset: int = 0,
                   positions=None):
    """Parse one `item` or `expr` found inside another file (YAML); spans shifted or mapped (see Locator)."""
    return _parse(text, start, file, Locator(text, line_offset, column_offset, positions))


def parse_text(text: str, file: str = "<string>") -> A.SpecFile:
    """Parse a whole `.arch` file."""
    register_source(file, text, "arch")
    decls = _parse(text, "start", file, Locator())
    return build_spec_file(decls, file, Span(file, 1, 1))
