"""Python source the way `ruff format` writes it: literals, calls wrapped at 88 columns, comments.

    literal("row")                          ->  '"row"'
    wrap("self.layer1 = nn.Sequential(", ["Bottleneck(64, 64, downsample=True)", ...], ")", 8)
        ->  the one-line form if it fits, else the arguments on one indented line,
            else one argument a line with a trailing comma (ruff's magic trailing comma)

The structured emitter (structured.py) builds every line with these, so the
files it writes pass `ruff format --check` and `ruff check` unchanged
(tests/test_torch_structured.py runs both).
"""
from __future__ import annotations

LINE = 88  # ruff's default line length


class Source(str):
    """A value that is Python source, written as is: a class passed as an argument (`nn.ReLU`)."""


def literal(value) -> str:
    """A Python literal for a validated value, strings in double quotes (ruff's preference)."""
    if isinstance(value, Source):
        return str(value)
    if isinstance(value, str):
        text = repr(value)
        if text.startswith("'") and '"' not in value:
            text = '"' + text[1:-1].replace("\\'", "'") + '"'
        return text
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        return repr(float(value))
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    raise TypeError(f"no literal for {type(value).__name__}")  # a bug: ops and block arguments hold only these


def wrap(head: str, args: list[str], tail: str, indent: int) -> list[str]:
    """`head` + args joined + `tail` as ruff formats it: one line, or the arguments split out.

    `head` ends with the opening bracket, `tail` starts with the closing one.
    Returns lines without the indent of the first one (inner lines carry
    their extra indentation relative to it).
    """
    joined = ", ".join(args)
    if indent + len(head) + len(joined) + len(tail) <= LINE:
        return [head + joined + tail]
    inner = " " * 4
    if args and indent + 4 + len(joined) <= LINE:
        return [head, inner + joined, tail]
    lines = [head]
    for arg in args:
        lines += [inner + part for part in split_expression(arg + ",", indent + 4)]
    return lines + [tail]


def split_expression(text: str, indent: int) -> list[str]:
    """One expression (maybe ending in a comma) on as many lines as ruff would use at `indent`."""
    if indent + len(text) <= LINE:
        return [text]
    call = _last_brackets(text)
    if call is None:
        return [text]  # no bracket to split at: ruff leaves it too
    head, args, tail = call
    clause = _comprehension(args[0]) if len(args) == 1 and head.endswith("[") else None
    if clause is not None and indent + 4 + len(args[0]) > LINE:  # the element, then its `for` clause
        element = args[0][: len(args[0]) - len(clause)].rstrip()
        return [head] + ["    " + line for line in split_expression(element, indent + 4)] + ["    " + clause, tail]
    return wrap(head, args, tail, indent)


def _comprehension(text: str) -> str | None:
    """The top-level `for ...` clause of a comprehension's body, or None."""
    depth, quoted = 0, False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "([{":
            depth += 1
        elif not quoted and ch in ")]}":
            depth -= 1
        elif not quoted and depth == 0 and text.startswith(" for ", i):
            return text[i + 1:]
    return None


def _last_brackets(text: str):
    """'f(a, g(b), c),' -> ('f(', ['a', 'g(b)', 'c'], '),'): the last top-level bracket pair."""
    depth, start, end, quoted = 0, None, None, False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        if quoted:
            continue
        if ch in "([{":
            if depth == 0:
                start = i
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                end = i
    if start is None or end is None or end < start:
        return None
    return text[: start + 1], top_level_split(text[start + 1: end]), text[end:]


def top_level_split(text: str) -> list[str]:
    """'a, g(b, c), "x, y"' -> ['a', 'g(b, c)', '"x, y"']."""
    parts, depth, quoted, current = [], 0, False, ""
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if not quoted:
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(current.strip())
                current = ""
                continue
        current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def statement(code: str, indent: int, comment: str | None = None) -> list[str]:
    """One statement at `indent` (lines without the indent), its comment after it or, if that is too
    long, on the line above (ruff moves neither)."""
    lines = split_expression(code, indent)
    if comment is None:
        return lines
    if len(lines) == 1 and indent + len(lines[0]) + 4 + len(comment) <= LINE:
        return [f"{lines[0]}  # {comment}"]
    return [f"# {comment}"] + lines
