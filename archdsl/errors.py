"""Source spans and the one error type of archdsl.

Every AST node and every IR node carries a `Span`. An `ArchError` prints as

    specs/resnet.arch:12:5: error: unknown layer 'convv' (did you mean 'conv'?)
       12 |     convv(64, 3)
          |     ^~~~~

The source text of each file is kept in `SOURCES` so that an error raised
anywhere (the parser, the elaborator, shape inference) can show the line.
"""
from __future__ import annotations

from dataclasses import dataclass

# file name -> full source text; filled by the parser and the YAML reader.
SOURCES: dict[str, str] = {}


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
        text = SOURCES.get(span.file)
        if text is not None:
            source_lines = text.splitlines()
            if 0 < span.line <= len(source_lines):
                src = source_lines[span.line - 1].rstrip("\n").expandtabs(1)
                gutter = f"{span.line:>5} | "
                lines.append(gutter + src)
                width = 1
                if span.end_line == span.line and span.end_column > span.column:
                    width = span.end_column - span.column
                width = max(1, min(width, len(src) - span.column + 1))
                lines.append(" " * (len(gutter) - 2) + "| " + " " * (span.column - 1) + "^" + "~" * (width - 1))
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def suggest(word: str, choices) -> str:
    """' (did you mean 'x'?)' for the closest choice, or ''."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
