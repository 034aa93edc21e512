"""The AST: what a spec says, before any expression is evaluated.

Both front ends build these nodes -- parser.py from `.arch` text and
yaml_form.py from YAML -- so every later stage has one input type. Every node
carries the `Span` of the text that produced it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import Span

# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Expr:
    span: Span


@dataclass(frozen=True)
class Literal(Expr):
    value: object  # int | float | bool | str


@dataclass(frozen=True)
class NameRef(Expr):
    name: str


@dataclass(frozen=True)
class Unary(Expr):
    op: str  # "-" | "+" | "not"
    operand: Expr


@dataclass(frozen=True)
class Arith(Expr):
    """`a + b - c` or `a * b // c`: left to right, one level of the grammar's precedence."""

    first: Expr
    rest: tuple[tuple[str, Expr], ...]  # (operator, operand): + - * / // %


@dataclass(frozen=True)
class BoolOp(Expr):
    """`a and b and c`, `a or b`: short-circuit, left to right."""

    op: str  # "and" | "or"
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Compare(Expr):
    first: Expr
    rest: tuple[tuple[str, Expr], ...]  # chained like Python: a < b <= c


@dataclass(frozen=True)
class IfExpr(Expr):
    condition: Expr
    then: Expr
    otherwise: Expr


@dataclass(frozen=True)
class TensorRef(Expr):
    """`@name` or `@name.item.item`: the output of an earlier item (docs/language.md, "Named tensors");
    `@"down{k}"`: the path is a string expression."""

    path: tuple[str, ...]
    named: Expr | None = None


@dataclass(frozen=True)
class ListExpr(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class ListComp(Expr):
    """`[item for var in iterable if condition]`."""

    item: Expr
    var: str
    iterable: Expr
    condition: Expr | None


@dataclass(frozen=True)
class MapExpr(Expr):
    entries: tuple[tuple[Expr, Expr], ...]


@dataclass(frozen=True)
class Index(Expr):
    target: Expr
    index: Expr


@dataclass(frozen=True)
class FuncCall(Expr):
    func: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Interpolated(Expr):
    """A name template such as "denselayer{i + 1}": text pieces and expressions."""

    parts: tuple[str | Expr, ...]


# ---------------------------------------------------------------- body items


@dataclass(frozen=True)
class Arg:
    span: Span
    name: str | None  # None for a positional argument
    value: Expr


@dataclass(frozen=True)
class Unit:
    span: Span


@dataclass(frozen=True)
class Call(Unit):
    """`conv(64, 3, stride=2)`, `relu`, or a call of a user block."""

    name: str
    args: tuple[Arg, ...] = ()
    inline: bool = False  # `inline b(...)`: a block's items named in the caller's container


@dataclass(frozen=True)
class Sequence(Unit):
    """`{ a b c }`: items applied one after another."""

    items: tuple[Item, ...]


@dataclass(frozen=True)
class Structure(Unit):
    """`residual(after=relu) { branch } [shortcut { ... }]`, `parallel { a b }`, `fractal(columns=3) { base }`, ...

    One node for every structure keyword (the grammar's STRUCTURE terminal);
    what each one means is its module in archdsl/elaborate/structures/.
    """

    kind: str  # the keyword: residual, parallel, dense, stage, fractal, ...
    args: tuple[Arg, ...]
    body: Sequence
    shortcut: Sequence | None = None  # `shortcut { ... }`, for the structures that take one


@dataclass(frozen=True)
class TensorUnit(Unit):
    """`@name` as an item: the items after it continue from that tensor."""

    ref: TensorRef


@dataclass(frozen=True)
class ForLoop(Unit):
    var: str
    iterable: Expr
    body: Sequence


@dataclass(frozen=True)
class IfItems(Unit):
    condition: Expr
    then: Sequence
    otherwise: Sequence | None


@dataclass(frozen=True)
class Item:
    span: Span
    name: Expr | None  # Literal(str) or Interpolated; None: numbered by position
    unit: Unit
    repeat: Expr | None = None
    shared: bool = False  # `x n shared`: the copies reuse the first copy's weights


# ---------------------------------------------------------------- declarations


@dataclass(frozen=True)
class Formal:
    span: Span
    name: str
    default: Expr | None


@dataclass(frozen=True)
class BlockDef:
    span: Span
    name: str
    formals: tuple[Formal, ...]
    body: Sequence


@dataclass(frozen=True)
class Param:
    span: Span
    name: str
    default: Expr


@dataclass(frozen=True)
class Let:
    span: Span
    name: str
    value: Expr


@dataclass(frozen=True)
class InputDecl:
    span: Span
    dims: tuple[Expr, ...] | Expr  # a tuple of ints (3x224x224) or one list expression
    name: str | None = None  # `input image: 3x224x224`; the first input is "input" unless named


@dataclass(frozen=True)
class OutputEntry:
    span: Span
    key: str  # the key of the output in forward's dict, the ONNX output's name
    ref: TensorRef  # `@key` when only the key is written


@dataclass(frozen=True)
class OutputDecl:
    """`output out, aux` or `output (a, b)`: the network's outputs (else its last tensor, alone)."""

    span: Span
    entries: tuple[OutputEntry, ...]
    as_tuple: bool = False


@dataclass(frozen=True)
class Import:
    span: Span
    path: str


@dataclass(frozen=True)
class SpecFile:
    """One source file, `.arch` or YAML, exactly as written."""

    path: str
    arch_name: tuple[str, Span] | None
    imports: tuple[Import, ...]
    params: tuple[Param, ...]
    lets: tuple[Let, ...]
    input: InputDecl | None
    blocks: tuple[BlockDef, ...]
    network: Sequence | None
    span: Span = field(default=None)  # type: ignore[assignment]
    output: OutputDecl | None = None
    more_inputs: tuple[InputDecl, ...] = ()  # `input a: ..., b: ...`: the inputs after the first


@dataclass(frozen=True)
class Program:
    """A spec with its imports resolved: what the elaborator consumes.

    Declarations of an importing file override those it imports (params by
    name keep their position but take the new default; blocks likewise).
    """

    name: str
    main_path: str
    params: tuple[Param, ...]
    lets: tuple[Let, ...]
    input: InputDecl | None
    blocks: dict[str, BlockDef]
    network: Sequence
    output: OutputDecl | None = None
    more_inputs: tuple[InputDecl, ...] = ()
