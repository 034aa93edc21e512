"""Where each character of a YAML scalar's value stands in the file.

A YAML scalar's value is not its text: quotes are stripped, escapes decoded
(`"\\"a\\": conv(4)"`), block scalars (`|`, `>`) lose their indentation, and
multi-line scalars are folded. The .arch parser parses the value, so its
positions are mapped back through `scalar_positions`: for value character i,
the file's (line, column), 1-based. Plain one-line scalars map one to one.

    - "x: conv(4, 3, \\"a\\")"     value  x: conv(4, 3, "a")
                                  each value character -> the column of its source text
"""
from __future__ import annotations

_BREAKS = "\r\n\x85\u2028\u2029"
_ESCAPE_LENGTH = {"x": 2, "u": 4, "U": 8}
_SIMPLE_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
                   "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
                   "L": "\u2028", "P": "\u2029"}


def raw_positions(text: str, start: int, end: int, line: int, column: int) -> list[tuple[str, int, int]]:
    """(character, line, column) of text[start:end], counting lines as YAML does."""
    out = []
    i = start
    while i < end:
        c = text[i]
        out.append((c, line, column))
        if c == "\r" and i + 1 < end and text[i + 1] == "\n":
            out.append(("\n", line, column + 1))
            i += 1
        if c in _BREAKS:
            line, column = line + 1, 1
        else:
            column += 1
        i += 1
    return out


def _skip_properties(raw, j: int) -> int:
    """Past a tag (`!!str`) and an anchor (`&a`) before the scalar itself."""
    while j < len(raw) and raw[j][0] in "!&":
        while j < len(raw) and not raw[j][0].isspace():
            j += 1
        while j < len(raw) and raw[j][0] in " \t":
            j += 1
    return j


def _skip_header(raw, j: int) -> tuple[int, int]:
    """Past a block scalar's `|` or `>` line (indicators, comment, empty lines): (index, content indentation)."""
    while j < len(raw) and raw[j][0] not in _BREAKS:
        j += 1
    while j < len(raw) and raw[j][0] in _BREAKS:
        j += 1
    k = j
    while k < len(raw) and raw[k][0] == " ":
        k += 1
    return j, k - j


def _decode_escape(raw, j: int) -> tuple[str | None, int]:
    """The character a double-quoted escape at raw[j] (a backslash) stands for, and the next index."""
    if j + 1 >= len(raw):
        return None, j + 1
    code = raw[j + 1][0]
    if code in _ESCAPE_LENGTH:
        n = _ESCAPE_LENGTH[code]
        digits = "".join(c for c, _, _ in raw[j + 2 : j + 2 + n])
        try:
            return chr(int(digits, 16)), j + 2 + n
        except ValueError:
            return None, j + 2
    if code in _BREAKS:  # an escaped line break: nothing, and the next line's indentation is dropped
        j += 2
        while j < len(raw) and raw[j][0] in " \t":
            j += 1
        return None, j
    return _SIMPLE_ESCAPES.get(code), j + 2


def _skip_indent(raw, j: int, indent: int | None) -> int:
    """Past the indentation at raw[j]: all of it (flow and plain scalars), or `indent` spaces (block scalars)."""
    limit = len(raw) if indent is None else min(len(raw), j + indent)
    while j < limit and raw[j][0] in (" \t" if indent is None else " "):
        j += 1
    return j


def scalar_positions(text: str, node) -> list[tuple[int, int, int]] | None:
    """For each character of `node.value`, (line, column, end column) in `text` (an escape `\\"` spans two
    columns); None if they cannot be aligned."""
    start, end = node.start_mark, node.end_mark
    raw = raw_positions(text, start.index, end.index, start.line + 1, start.column + 1)
    j = _skip_properties(raw, 0)
    style = node.style
    indent = None  # a block scalar's content indentation: only that much is dropped after a line break
    if style in ('"', "'"):
        j += 1
    elif style in ("|", ">"):
        j, indent = _skip_header(raw, j)
        j = _skip_indent(raw, j, indent)
    out = []
    for v in node.value:
        while j < len(raw):
            c = raw[j][0]
            if style == '"' and c == "\\":
                decoded, after = _decode_escape(raw, j)
                if decoded is None:
                    j = after
                    continue
                if decoded == v:
                    last = raw[min(after, len(raw)) - 1]
                    out.append((raw[j][1], raw[j][2], last[2] + 1 if last[1] == raw[j][1] else raw[j][2] + 1))
                    j = after
                    break
                j = after
                continue
            first = j
            if style == "'" and c == "'" and j + 1 < len(raw) and raw[j + 1][0] == "'":
                j += 1  # '' stands for one quote
                c = raw[j][0]
            if c == v or (v in " \n" and (c in _BREAKS or c in " \t")):
                out.append((raw[first][1], raw[first][2], raw[j][2] + 1))
                j += 1
                if v in " \n" and c in _BREAKS:  # a line break: skip the next line's indentation
                    j = _skip_indent(raw, j, indent)
                break
            j += 1
        else:
            return None
    return out
