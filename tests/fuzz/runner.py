"""Run one spec text through archdsl in-process, under a timeout, and classify what happened.

    outcome = run_case(text, "arch", "specs/x.arch", "specs", timeout=10)
    outcome.kind   # "accepted", "located", or one of the failures in FAILURES

The pipeline is `archdsl.loads` then `params`, `macs`, `paths()` and
`summary()`. A refusal must be an `ArchError` whose span points into the
source and whose formatted message shows that source line with the caret
under the span's column:

    accepted        loaded, and every analysis ran
    located         an ArchError, correctly located (a pass as well)
    uncaught        any other exception (RecursionError, ValueError, IRError, MemoryError, ...),
                    also from paths() or summary() of an accepted spec
    hang            still running after `timeout` seconds
    unlocated       an ArchError without a span (or with line/column 0, or naming a file that does not exist)
    span_outside    the span's line or column lies outside the source
    no_source_line  the formatted error lacks the source line or the caret, or shows them wrong
    misplaced       the caret is not under the token the message names ("unexpected token 'x'",
                    "unknown name 'x'", "has no argument 'x'", ...)

The timeout is SIGALRM (signal.setitimer), so run_case must run in the main
thread; it cannot interrupt a long computation inside one C call (a huge
integer multiplication), which pool.py guards against by killing the worker.
"""
from __future__ import annotations

import ast
import re
import resource
import signal
import time
import traceback
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import archdsl
from archdsl.errors import ArchError

PASSES = ("accepted", "located")
FAILURES = ("uncaught", "hang", "unlocated", "span_outside", "no_source_line", "misplaced")
OUTCOMES = PASSES + FAILURES

# .arch lines end at "\n" only; YAML lines also at "\r\n", "\r", NEL, U+2028 and U+2029
_YAML_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
# messages that name the token the caret must sit under
_NAMED_TOKEN = [
    re.compile(r"unexpected (?:token|int|float) '(.+)'; expected"),
    re.compile(r"unknown name '(\w+)'"),
    re.compile(r"unknown function '(\w+)'"),
    re.compile(r"unknown layer or block '(\w+)'"),
    re.compile(r"has no argument '(\w+)'"),
]
_LINE_BREAK_CHARS = ("\r", "\n", "\x85", "\u2028", "\u2029")
_LINE_NUMBER = re.compile(r":\d+ in ")
_UNEXPECTED_CHAR = re.compile(r"unexpected character ('(?:[^'\\]|\\.)+'|\"(?:[^\"\\]|\\.)+\")")


class CaseTimeout(BaseException):
    """Raised by SIGALRM inside the pipeline; a BaseException, so `except Exception` in archdsl cannot swallow it."""


@dataclass
class Outcome:
    """What one case did. `where` is the innermost traceback frame of an uncaught exception."""

    kind: str
    seconds: float
    stage: str = ""  # the step that raised or hung: load, params, macs, paths, summary
    error_type: str = ""  # the exception's class name
    message: str = ""  # the exception's message (first 300 characters)
    where: str = ""  # "archdsl/passes/paths.py:120 in path_stats" (uncaught only)
    detail: str = ""  # why a located-looking error failed the location checks
    span: tuple | None = None  # (file, line, column, end_line, end_column)
    maxrss_kb: int = 0  # the process's peak resident memory after the case
    rss_rise_kb: int = 0  # how much this case raised that peak (0 unless it set a new one)

    @property
    def passed(self) -> bool:
        return self.kind in PASSES

    def signature(self) -> str:
        """A key that groups cases failing the same way: the kind, the exception and where it came from."""
        if self.kind == "uncaught":  # the raising function, not its line: one bug, one class
            return f"uncaught {self.error_type} in {_LINE_NUMBER.sub(' ', self.where)}"
        if self.kind == "hang":
            return f"hang in {self.stage}"
        return f"{self.kind} {self.error_type}: {message_pattern(self.message)}"


def message_pattern(message: str) -> str:
    """A message with its particulars (quoted text, numbers) blanked, for grouping."""
    first = message.splitlines()[0] if message else ""
    pattern = re.sub(r"'[^']*('|…$)|\"[^\"]*(\"|…$)", "'…'", first)  # a quote cut short by _short() as well
    return re.sub(r"\d[\d,._]*", "N", pattern)[:120]


@contextmanager
def deadline(seconds: float):
    """Raise CaseTimeout in the main thread once `seconds` have passed."""

    def expire(signum, frame):
        raise CaseTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_case(text: str, fmt: str, name: str, base_dir: str, timeout: float = 10) -> Outcome:
    """Load `text` and run every analysis on it, at most `timeout` seconds; classify the result."""
    stage = ["load"]
    peak_before = _maxrss_kb()
    start = time.perf_counter()
    try:
        with deadline(timeout):
            _pipeline(text, fmt, name, base_dir, stage)
        kind, fields = "accepted", {}
    except CaseTimeout:
        kind, fields = "hang", {}
    except ArchError as err:
        kind, fields = classify_error(err, text, fmt, name)
    except BaseException as err:  # noqa: BLE001 - anything else is the finding
        if isinstance(err, (KeyboardInterrupt, SystemExit)):
            raise
        kind, fields = "uncaught", {"error_type": type(err).__name__, "message": _short(str(err)),
                                    "where": innermost_frame(err)}
    seconds = time.perf_counter() - start
    peak = _maxrss_kb()
    return Outcome(kind, seconds, stage=stage[0], maxrss_kb=peak, rss_rise_kb=peak - peak_before, **fields)


def _pipeline(text: str, fmt: str, name: str, base_dir: str, stage: list) -> None:
    arch = archdsl.loads(text, format=fmt, name=name, base_dir=base_dir)
    stage[0] = "params"
    arch.params
    stage[0] = "macs"
    arch.macs
    stage[0] = "paths"
    stats = arch.paths()
    stats.total, stats.modules.longest, stats.layers.mean
    stage[0] = "summary"
    arch.summary()


# ---------------------------------------------------------------- error location checks


def classify_error(err: ArchError, text: str, fmt: str, name: str) -> tuple[str, dict]:
    """("located", fields) for a well-located ArchError, else the failure kind and why."""
    span = err.span
    fields = {"error_type": type(err).__name__, "message": _short(err.message)}
    if span is not None:
        fields["span"] = (span.file, span.line, span.column, span.end_line, span.end_column)
    kind, detail = check_location(err, text, fmt, name)
    fields["detail"] = detail
    return kind, fields


def check_location(err: ArchError, text: str, fmt: str, name: str) -> tuple[str, str]:
    """(kind, detail): whether the span lies in the source and the formatted error shows it."""
    span = err.span
    if span is None:
        return "unlocated", "no span"
    if span.line <= 0 or span.column <= 0:
        return "unlocated", f"span {span.line}:{span.column}"
    lines = source_lines(span.file, text, fmt, name)
    if lines is None:
        return "unlocated", f"span names a file that is neither the spec nor on disk: {span.file!r}"
    if not 1 <= span.line <= len(lines):
        return "span_outside", f"line {span.line} of {len(lines)}"
    line = lines[span.line - 1]
    if span.column > len(line) + 1:
        return "span_outside", f"column {span.column} on line {span.line} of {len(line)} characters"
    shown = check_formatted(err, line)
    if shown:
        return "no_source_line", shown
    wrong = check_named_token(err.message, line, span.column, fmt if span.file == name else "arch")
    if wrong:
        return "misplaced", wrong
    return "located", ""


def source_lines(file: str, text: str, fmt: str, name: str) -> list[str] | None:
    """The lines of `file` as its front end counts them: the case's own text, or an imported file on disk."""
    if file == name:
        return split_lines(text, fmt)
    path = Path(file)
    if not path.is_file():
        return None
    return split_lines(path.read_text(encoding="utf-8"), "yaml" if path.suffix in (".yaml", ".yml") else "arch")


def split_lines(text: str, fmt: str) -> list[str]:
    return _YAML_BREAKS.split(text) if fmt == "yaml" else text.split("\n")


_GUTTER = re.compile(r"^ *(\d+) \| (.*)$")
_CARET = re.compile(r"^ *\| ( *)\^~*$")


def check_formatted(err: ArchError, line: str) -> str:
    """'' if err.format() is "file:line:col: error: message", the source line, a caret under the column."""
    span = err.span
    out = err.format().split("\n")
    head = f"{span.file}:{span.line}:{span.column}: error: "
    if not out[0].startswith(head):
        return f"first line is {out[0][:80]!r}"
    if len(out) < 3:
        return f"{len(out)} lines: no source line and caret"
    gutter, caret = _GUTTER.match(out[1]), _CARET.match(out[2])
    if gutter is None or int(gutter.group(1)) != span.line:
        return f"second line {out[1][:80]!r} is not line {span.line} of the source"
    shifts = window_shifts(gutter.group(2), line)
    if not shifts:
        return f"second line shows {gutter.group(2)[:60]!r}, the source line is {line[:60]!r}"
    if caret is None:
        return f"third line {out[2][:80]!r} is not a caret line"
    if not any(len(caret.group(1)) + 1 - shift == span.column for shift in shifts):
        return f"caret at column {len(caret.group(1)) + 1 - shifts[0]}, span column {span.column}"
    return ""


def window_shifts(shown: str, line: str) -> list[int]:
    """A long source line is shown as a window with ellipses: every shift of the shown columns against the
    line's under which the shown text is the line's (none: it is not)."""
    if same_line(shown, line):
        return [0]
    inner = shown[1:] if shown.startswith("…") else shown
    inner = inner[:-1] if inner.endswith("…") else inner
    lead = 1 if shown.startswith("…") else 0
    return [lead - offset for offset in range(len(line) - len(inner) + 1)
            if same_line(inner, line[offset : offset + len(inner)])]


def same_line(shown: str, line: str) -> bool:
    """Whether `shown` is `line` with one column per character, invisible characters shown as spaces."""
    line = line.rstrip("\r")
    if len(shown) != len(line):
        return False
    return all(s == c or (s == " " and _invisible(c)) for s, c in zip(shown, line))


def _invisible(c: str) -> bool:
    return c == "\t" or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs")


_YAML_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)")


def yaml_unescaped(text: str) -> str:
    """`text` with YAML double-quoted escapes decoded (\\" -> ", \\x63 -> c): how a token inside one reads."""
    def decode(m):
        code = m.group(1)
        return chr(int(code[1:], 16)) if code[0] in "xuU" and len(code) > 1 else {"n": "\n", "t": "\t"}.get(code, code)

    return _YAML_ESCAPE.sub(decode, text)


def check_named_token(message: str, line: str, column: int, fmt: str = "arch") -> str:
    """'' unless the message names a token ('unexpected token ...') that is not at the caret.

    In YAML a token inside a double-quoted scalar is compared with the escapes decoded.
    """
    at = line[column - 1:]
    for pattern in _NAMED_TOKEN:
        m = pattern.search(message)
        if m and not at.startswith(m.group(1)) and not (fmt == "yaml" and yaml_unescaped(at).startswith(m.group(1))):
            return f"message names {m.group(1)[:40]!r}, the caret is on {at[:40]!r}"
    m = _UNEXPECTED_CHAR.search(message)
    if m:
        char = ast.literal_eval(m.group(1))
        ends_line = char in _LINE_BREAK_CHARS and column == len(line) + 1  # the character that ends this line
        if not at.startswith(char) and not ends_line:
            return f"message names character {char!r}, the caret is on {at[:20]!r}"
    return ""


# ---------------------------------------------------------------- helpers


def innermost_frame(err: BaseException) -> str:
    """'archdsl/passes/paths.py:120 in path_stats': the innermost function (not a comprehension) that raised."""
    frames = traceback.extract_tb(err.__traceback__)
    named = [f for f in frames if not f.name.startswith("<")] or frames
    if not named:
        return "?"
    frame = named[-1]
    return f"{_short_path(frame.filename)}:{frame.lineno} in {frame.name}"


def _short_path(filename: str) -> str:
    parts = Path(filename).parts
    for anchor in ("archdsl", "backends", "lark", "yaml", "tests"):
        if anchor in parts:
            i = len(parts) - 1 - parts[::-1].index(anchor)
            return "/".join(parts[i:])
    return Path(filename).name


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _maxrss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
