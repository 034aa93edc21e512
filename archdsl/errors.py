"""Source spans and the one error type of archdsl.

Every AST node and every IR node carries a `Span`. An `ArchError` prints as

    specs/resnet.arch:12:5: error: unknown layer 'convv' (did you mean 'conv'?)
       12 |     convv(64, 3)
          |     ^~~~~

The source lines of each file are kept (`register_source`) so that an error
raised anywhere (the parser, the elaborator, shape inference) can show the
line. They are split as the front end counts lines: the .arch parser breaks
lines at `\n` only, YAML also at `\r`, NEL, U+2028 and U+2029; a form feed or
a U+2028 inside an .arch line is shown as a space, so the caret stays under
its column.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# file name -> its source lines, split the way its front end counts them
SOURCES: dict[str, list[str]] = {}
_YAML_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def register_source(file: str, text: str, style: str = "arch") -> None:
    """Keep `text` for error display; `style` is "arch" (lines end at \\n) or "yaml"."""
    SOURCES[file] = _YAML_BREAKS.split(text) if style == "yaml" else text.split("\n")


def visible(line: str) -> str:
    """A source line safe to print: control and separator characters become spaces (one column each)."""
    line = line.rstrip("\r")
    return "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs") else c for c in line)


@dataclass(frozen=True)
class Span:
    file: str
    line: int  # 1-based
    column: int  # 1-based
    end_line: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


UNKNOWN_SPAN = Span("<unknown>", 0, 0)


class ArchError(Exception):
    """A located, user-facing error. Anything a spec can get wrong raises this."""

    exit_code = 2

    def __init__(self, message: str, span: Span | None = None, *, note: str | None = None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.note = note
        self.partial = None  # set by the elaborator: the Architecture built so far

    def format(self) -> str:
        span = self.span
        if span is None or span.line <= 0:
            head = f"error: {self.message}"
            return head + (f"\n  note: {self.note}" if self.note else "")
        lines = [f"{span}: error: {self.message}"]
        source_lines = SOURCES.get(span.file)
        if source_lines is not None and 0 < span.line <= len(source_lines):
            src = visible(source_lines[span.line - 1].expandtabs(1))
            width = 1
            if span.end_line == span.line and span.end_column > span.column:
                width = span.end_column - span.column
            src, column = _window(src, span.column)
            width = max(1, min(width, len(src) - column + 1))
            gutter = f"{span.line:>5} | "
            lines.append(gutter + src)
            lines.append(" " * (len(gutter) - 2) + "| " + " " * (column - 1) + "^" + "~" * (width - 1))
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


WINDOW = 120  # a longer source line is shown as this many characters around the caret, with ellipses


def _window(src: str, column: int) -> tuple[str, int]:
    """(the part of a long line to show, the caret's column in it)."""
    if len(src) <= WINDOW:
        return src, column
    start = max(0, min(column - 1 - WINDOW // 2, len(src) - WINDOW))
    shown = ("…" if start else "") + src[start : start + WINDOW] + ("…" if start + WINDOW < len(src) else "")
    return shown, column - start + (1 if start else 0)


def suggest(word: str, choices) -> str:
    """' (did you mean 'x'?)' for the closest choice, or ''."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
