"""The LALR tables of grammar.lark, generated at build time and shipped beside it as JSON.

Building the parser from the grammar takes ~0.1 s, so archdsl ships the built
tables (`grammar.lark.json`) and loads them when they match the grammar text and
the installed lark. They are plain JSON, never pickle: no file on disk can make
archdsl run code. (lark's own `cache=True` unpickles a predictably named file in
the shared temporary folder; archdsl never uses it.)

    python -m archdsl.syntax.tables          # regenerate after editing grammar.lark
    python -m archdsl.syntax.tables --check  # exit 1 if the shipped tables are stale (a test runs this)
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import lark
from lark import Lark
from lark.grammar import Rule
from lark.lexer import TerminalDef

GRAMMAR = Path(__file__).with_name("grammar.lark")
TABLES = GRAMMAR.with_name("grammar.lark.json")
OPTIONS = dict(parser="lalr", start=["start", "item", "expr"], propagate_positions=True, maybe_placeholders=True)


def grammar_key(grammar: str) -> str:
    """What the tables depend on: the grammar, the options and lark's version."""
    text = grammar + json.dumps(OPTIONS, sort_keys=True) + lark.__version__
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _encode(value):
    """JSON keeps str-keyed dicts, lists and scalars; tuples and int-keyed dicts are tagged."""
    if isinstance(value, tuple):
        return {"__t": [_encode(v) for v in value]}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {"__d": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store {type(value).__name__} in the parser tables")


def _decode(value):
    if isinstance(value, dict):
        if "__t" in value:
            return tuple(_decode(v) for v in value["__t"])
        if "__d" in value:
            return {_decode(k): _decode(v) for k, v in value["__d"]}
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def build(grammar: str) -> Lark:
    return Lark(grammar, **OPTIONS)


def tables_text(parser: Lark, key: str) -> str:
    data, memo = parser.memo_serialize([TerminalDef, Rule])
    return json.dumps({"key": key, "parser": _encode({"data": data, "memo": memo})}, separators=(",", ":")) + "\n"


def load_parser() -> Lark:
    """The parser: from the shipped tables when they are current, else built from the grammar."""
    grammar = GRAMMAR.read_text(encoding="utf-8")
    key = grammar_key(grammar)
    try:
        stored = json.loads(TABLES.read_text(encoding="utf-8"))
        if stored.get("key") == key:
            return Lark.__new__(Lark)._load(_decode(stored["parser"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # missing, stale or damaged: build from the grammar
    return build(grammar)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    grammar = GRAMMAR.read_text(encoding="utf-8")
    text = tables_text(build(grammar), grammar_key(grammar))
    if "--check" in args:
        current = TABLES.read_text(encoding="utf-8") if TABLES.exists() else ""
        if json.loads(current or "{}").get("key") != grammar_key(grammar):
            print(f"{TABLES} is stale: run `python -m archdsl.syntax.tables`", file=sys.stderr)
            return 1
        return 0
    TABLES.write_text(text, encoding="utf-8")
    print(f"wrote {TABLES} ({len(text):,} bytes)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
