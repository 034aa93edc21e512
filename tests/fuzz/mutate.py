"""Mutations of a spec's text: characters, grammar tokens, numbers, names, lines and nesting.

    text, ops = mutate(seed_text, random.Random(7), fmt="arch", donors=[...])

Each mutator takes (rng, text, fmt) and returns the new text; `mutate`
applies one to three of them, chosen by weight, and names them in `ops`.
Everything is drawn from `rng`, so a mutation is a function of the seed text
and the generator's state. The pools below are the interesting values: sizes
at and beyond archdsl's budgets (10^18, 100,000 repetitions, 100 levels of
nesting), numbers a float cannot hold, characters that end a line in one
front end but not the other, and YAML's aliases, tags and scalar styles.
"""
from __future__ import annotations

import random
import re
from typing import Callable

MAX_TEXT = 400_000  # stay under archdsl's 512 KiB file limit (that refusal is file-wide, by design)

TOKEN = re.compile(r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>"[^"\n]*")
  | (?P<number>\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\.\d+|\d+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|//|[-+*/%<>=:,.\[\]{}()])
  | (?P<space>\s+)
  | (?P<other>.)
""", re.X | re.S)

KEYWORDS = ["arch", "param", "let", "input", "block", "network", "import", "residual", "parallel", "dense", "stage",
            "fractal", "multi_residual", "poly", "spatial_transformer", "shortcut", "for", "in", "if", "then",
            "else", "and", "or", "not", "true", "false", "x", "shared"]
OPERATORS = ["{", "}", "(", ")", "[", "]", ":", ",", "=", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/",
             "//", "%", ".", '"', "#", "x"]
LAYERS = ["conv", "bn", "relu", "maxpool", "avgpool", "linear", "flatten", "gap", "dropout", "dwconv", "identity",
          "zeropad", "gate", "scale", "sigmoid", "tanh", "prelu", "elu", "leaky_relu", "adaptive_avgpool",
          "adaptive_maxpool", "affine_theta", "affine_grid", "stochastic_depth", "one_minus", "grid_sample",
          "add", "concat", "join", "mul", "mean", "max"]
FUNCTIONS = ["min", "max", "abs", "int", "float", "floor", "ceil", "round", "len", "sum", "range", "error"]
NAMES = KEYWORDS + LAYERS + FUNCTIONS + ["in_channels", "stride", "planes", "depth", "n", "i", "_", "x1", "a" * 300,
                                          "convv", "strid", "downsample", "shortcut_name", "columns", "merge"]
NUMBERS = ["0", "-1", "1", "2", "3", "7", "00", "007", "16777216", "16777217", "100000", "100001", "99999",
           "1000000", str(2**31), str(2**63), str(2**64), str(10**18), str(10**18 + 1), str(10**30), "9" * 5000,
           "1.5", "0.0", "-0.0", "1e308", "1e309", "1e-320", "2.", ".5", "1e400", "0.1", "-1.5",
           "(1e308 * 10 - 1e308 * 10)", "(1e308 * 1e308)", "(-1e308 * 10)", "(0.0 / 0.0)", "(1 / 0)", "(1 // 0)",
           "(1 % 0)", "(999999999999999999 * 999999999999999999)", "(-(10**18))", "(10 ** 18)",
           "len(range(100000))", "sum(range(100000))", "round(1e308)", "int(1e308)", "floor(-1e308)",
           "ceil(1e300 * 1e10)", "round(1.5, 1000000)", "round(1.5, -1000000)", "abs(-9223372036854775808)",
           "float(\"nan\")", "int(\"12\")", "min(range(0))", "max([])", "sum([1e308, 1e308])", "[1, 2][5]",
           "[1, 2][-3]", "{1: 2}[3]", "{}[0]", "\"a\"[0]", "len(5)", "range(10**18)", "range(0, 10**18, 10**17)",
           "range(0, 100000, 0)", "error(\"boom\")", "error()", "error(1e308)", "(true + 1)", "(\"a\" + 1)",
           "(\"ab\" * 100000)", "([1] * 100000)", "(range(100000) + range(100000))", "(1 < 2 < 3)",
           "(if true then 1 else 1 / 0)", "0x10", "0x" + "f" * 5000, "0o17", "0b101", "1_000", "+5", "-0x1"]
STRINGS = ['""', '"{"', '"}"', '"{i"', '"{}"', '"{1 / 0}"', '"{undefined}"', '"a{i}{i}"', '"{{i}}"', '"{"{"}"',
           '"\x00"', '"\t"', '"' + "a" * 20000 + '"', '"../../../etc/passwd.arch"', '"/dev/zero.arch"',
           '"missing.arch"', '"."', '"a.b"', '"é"', '"\u2028"', '"{i + }"', '"{1e308 * 10}"']
CHARACTERS = ["{", "}", "(", ")", "[", "]", ":", ",", "=", '"', "#", "x", "0", "9", "-", "+", "*", "/", ".", "_",
              "\n", "\r", "\r\n", "\t", "\f", "\v", "\x00", "\x1b", "\x7f", "\x85", "\u2028", "\u2029", "\ufeff",
              "\u200b", "\u202e", "\u0301", "\U0001f600", "\ud800", "é", "ß", "\uffff", "'", "&", "*", "!", "|",
              ">", "%", "@", "`", "\\", "?", " "]
LINE_BREAKS = ["\r", "\r\n", "\x85", "\u2028", "\u2029", "\f", "\v", "\n\n", "\n\r"]
REPEATS = ["0", "-1", "1", "100000", "100001", "1000000", str(10**18), str(10**30), "1.5", "-0", "true", '"2"',
           "2 shared", "3 shared", "100000 shared", "n * 100000", "len(range(100000))", "[2]", "1e308", "x 2"]
NEST_COUNTS = [5, 50, 99, 100, 101, 200, 1000, 5000, 30000]
# structures and items dropped into a body
SNIPPETS = ["residual { conv(8, 3, padding=1) }", "residual(shortcut=identity) { conv(7, 3, stride=2) }",
            "residual(shortcut=projection, after=none, scale=0.5) { relu }", "residual { } shortcut { }",
            "residual(shortcut=zeropad) { conv(4, 1, stride=2) } shortcut { relu }",
            "residual(gate=exclusive, gate_kernel=2) { relu }", "residual(survival=0.0, decay=linear) { relu }",
            "residual(survival=1.5) { relu }", "residual(scale=1e308) { relu }", "residual(after=bn_relu) { }",
            "parallel(merge=add) { conv(4, 1) conv(8, 1) }", "parallel { }", "parallel(merge=mul) { relu }",
            "parallel(merge=max) { identity x 100000 }", "parallel(merge=concat) { flatten gap }",
            "dense { conv(4, 3, padding=1) x 3 }", "dense { }", "dense { flatten }", "dense { linear(3) }",
            "fractal(columns=16) { conv(4, 3, padding=1) }", "fractal(columns=0) { relu }",
            "fractal(columns=3, join=concat) { conv(1, 1) }", "fractal(columns=2) { }",
            "fractal(columns=2, drop=global, group=\"g\") { relu }"
            " fractal(columns=3, drop=global, group=\"g\") { relu }",
            "multi_residual { }", "multi_residual { relu x 100000 }", "poly { relu x 3 shared }", "poly { }",
            "poly { conv(5, 1) x 2 shared }", "spatial_transformer { flatten linear(8) }",
            "spatial_transformer(size=0) { flatten linear(8) }", "spatial_transformer { }", "stage(stride=2) { relu }",
            "stage(stride=0) { }", "for i in range(3) { relu }", "for i in range(100000) { }", "for i in 5 { relu }",
            "if true { relu } else { bn }", "if 1 { }", "{ } x 100000", "relu x 100000", "{ relu x 1000 } x 1000",
            "conv(0, 3)", "conv(8, 0)", "conv(8, 100)", "conv(8, 3, groups=0)", "conv(8, 3, dilation=0)",
            "conv(8, [3, 3, 3])", "conv(8, 3, padding=[1, 2, 3])", "conv(8, 3, padding=-1)", "maxpool(0)",
            "maxpool(3, stride=0)", "avgpool(100)", "linear(0)", "linear(-5)", "flatten flatten", "gap gap",
            "adaptive_avgpool(0)", "adaptive_avgpool([2, 2, 2])", "dropout(1.0)", "dropout(-0.1)", "zeropad(1)",
            "zeropad(100000, stride=0)", "gate(4, 2)", "scale(1e308)", "prelu(per_channel=2)", "bn(eps=0)",
            "affine_grid(4)", "grid_sample", "add", "concat", "join", "x: relu x: relu", "\"{i}\": relu",
            "dwconv(3, multiplier=0)", "dwconv(3, multiplier=100000)", "stochastic_depth(0.5)",
            "identity(1)", "relu(inplace=true)", "conv(out=8, kernel=3, out=9)", "conv(8, 3, 8)",
            "block_that_does_not_exist(1)", "in_channels", "bn x 3 shared", "conv(4, 3) x 3 shared"]
YAML_SNIPPETS = ["- {residual: {shortcut: identity}, body: [relu]}", "- {body: []}", "- {for: \"i in 5\", body: []}",
                 "- {if: \"true\", then: [relu]}", "- {if: 1}", "- {parallel: null, body: [relu, relu]}",
                 "- {body: [relu], repeat: 100000}", "- {body: [relu], shared: true}",
                 "- {stage: {stride: 2}, body: [relu], repeat: 2, shared: true}", "- {relu: relu}",
                 "- {dense: [], body: [relu]}", "- {residual: null, parallel: null, body: []}", "- []", "- {}",
                 "- null", "- 5", "- 1.5e308", "- !!binary aGVsbG8=", "- !!python/object:os.system ls",
                 "- &x {body: [relu]}", "- *x", "- relu x 100000", "- \"relu\\nrelu\"", "- 'relu'' x 2'",
                 "- |\n    conv(4, 3,\n      strid=2)", "- >\n    conv(4,\n    strid=2)",
                 "- \"conv(4, 3, \\tstrid=2)\"",
                 "- \"\\x63onv(4, 3, strid=1)\"", "- conv(4,\n    3, strid=1)", "- \"convv(4)\"", "- 'convv(4)'",
                 "- {for: \"i in range(3)\", body: [\"\\\"l{i}\\\": relu\"]}", "- 0x10", "- 0o17", "- 1:20",
                 "- .inf", "- .nan", "- ~", "- yes", "- 2001-12-14", "- {? [a]: b}"]

Mutator = Callable[[random.Random, str, str], str]


# ---------------------------------------------------------------- helpers


def tokens(text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of every token of `text` (comments, strings, numbers, names, operators, spaces)."""
    return [(m.lastgroup, m.start(), m.end()) for m in TOKEN.finditer(text)]


def _pick_token(rng: random.Random, text: str, *kinds: str):
    """A random token of one of `kinds` (any non-space token if none given), or None."""
    found = [t for t in tokens(text) if (t[0] in kinds if kinds else t[0] != "space")]
    return rng.choice(found) if found else None


def _replace(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def _position(rng: random.Random, text: str) -> int:
    return rng.randrange(len(text) + 1)


def _boundary(rng: random.Random, text: str) -> int:
    """A position between two tokens."""
    ends = [0] + [end for _, _, end in tokens(text)]
    return rng.choice(ends)


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer("\n", text)]


# ---------------------------------------------------------------- character mutators


def delete_chars(rng, text, fmt):
    if not text:
        return text
    i = rng.randrange(len(text))
    return _replace(text, i, i + rng.choice([1, 1, 1, 2, 5]), "")


def insert_char(rng, text, fmt):
    i = _position(rng, text)
    return _replace(text, i, i, rng.choice(CHARACTERS) * rng.choice([1, 1, 1, 2, 3]))


def duplicate_chars(rng, text, fmt):
    if not text:
        return text
    i = rng.randrange(len(text))
    j = min(len(text), i + rng.choice([1, 2, 8, 40]))
    return _replace(text, j, j, text[i:j] * rng.choice([1, 2, 10]))


def insert_control(rng, text, fmt):
    """Control, separator and format characters, at a token boundary or anywhere."""
    i = _boundary(rng, text) if rng.random() < 0.5 else _position(rng, text)
    special = rng.choice(["\f", "\v", "\x00", "\x1b", "\x85", "\u2028", "\u2029", "\ufeff", "\u200b", "\u202e", "\r",
                          "\t", "\x7f", "\x01", "\ud800", "\u0301"])
    return _replace(text, i, i, special)


def change_line_breaks(rng, text, fmt):
    """Replace one, some or all line breaks by another line ending."""
    new = rng.choice(LINE_BREAKS)
    breaks = [m.start() for m in re.finditer("\n", text)]
    if not breaks:
        return text
    mode = rng.choice(["one", "some", "all"])
    if mode == "all":
        return text.replace("\n", new)
    chosen = set(rng.sample(breaks, 1 if mode == "one" else max(1, len(breaks) // 4)))
    return "".join(new if i in chosen else c for i, c in enumerate(text))


# ---------------------------------------------------------------- token mutators


def delete_token(rng, text, fmt):
    t = _pick_token(rng, text)
    return _replace(text, t[1], t[2], "") if t else text


def insert_token(rng, text, fmt):
    token = rng.choice(KEYWORDS + OPERATORS)
    i = _boundary(rng, text)
    return _replace(text, i, i, rng.choice(["", " "]) + token + rng.choice(["", " "]))


def duplicate_token(rng, text, fmt):
    t = _pick_token(rng, text)
    return _replace(text, t[2], t[2], " " + text[t[1]:t[2]]) if t else text


def swap_tokens(rng, text, fmt):
    found = [t for t in tokens(text) if t[0] != "space"]
    if len(found) < 2:
        return text
    a, b = sorted(rng.sample(found, 2), key=lambda t: t[1])
    return text[:a[1]] + text[b[1]:b[2]] + text[a[2]:b[1]] + text[a[1]:a[2]] + text[b[2]:]


def replace_number(rng, text, fmt):
    t = _pick_token(rng, text, "number")
    return _replace(text, t[1], t[2], rng.choice(NUMBERS)) if t else insert_token(rng, text, fmt)


def replace_name(rng, text, fmt):
    """Swap a name for another one of the spec's names, a keyword, a layer or a near miss."""
    t = _pick_token(rng, text, "name")
    if not t:
        return text
    own = sorted({text[s:e] for kind, s, e in tokens(text) if kind == "name"})
    pool = own if own and rng.random() < 0.5 else NAMES
    return _replace(text, t[1], t[2], rng.choice(pool))


def replace_string(rng, text, fmt):
    t = _pick_token(rng, text, "string")
    return _replace(text, t[1], t[2], rng.choice(STRINGS)) if t else text


def truncate(rng, text, fmt):
    return text[:_position(rng, text)]


# ---------------------------------------------------------------- line mutators


def duplicate_lines(rng, text, fmt):
    starts = _line_starts(text)
    i = rng.randrange(len(starts))
    j = min(len(starts) - 1, i + rng.choice([1, 1, 3, 10]))
    start, end = starts[i], starts[j] if j > i else len(text)
    chunk = text[start:end] or "\n"
    copies = rng.choice([1, 2, 5, 50, 500])
    return text[:end] + chunk * copies + text[end:]


def delete_lines(rng, text, fmt):
    starts = _line_starts(text) + [len(text)]
    i = rng.randrange(len(starts) - 1)
    j = min(len(starts) - 1, i + rng.choice([1, 1, 2, 5]))
    return text[:starts[i]] + text[starts[j]:]


def swap_lines(rng, text, fmt):
    lines = text.split("\n")
    if len(lines) < 2:
        return text
    a, b = rng.sample(range(len(lines)), 2)
    lines[a], lines[b] = lines[b], lines[a]
    return "\n".join(lines)


# ---------------------------------------------------------------- structure mutators


def nest_deeply(rng, text, fmt):
    """Wrap a number or a body position in many brackets, `not`s, minus signs, residuals or `else if`s."""
    n = rng.choice(NEST_COUNTS)
    num = _pick_token(rng, text, "number")
    if num and rng.random() < 0.5:
        value = text[num[1]:num[2]]
        wrapped = rng.choice([
            "(" * n + value + ")" * n,
            "[" * n + value + "]" * n + "[0]" * min(n, 3),
            "- " * n + value,
            "+" * n + value,
            "if true then " * n + value + " else 0" * n,
            " + ".join([value] * n),
            "min(" * n + value + ")" * n,
        ])
        return _replace(text, num[1], num[2], wrapped)
    inner = rng.choice(["relu", "conv(8, 3, padding=1)", ""])
    body = rng.choice([
        "{ " * n + inner + " }" * n,
        "residual { " * n + inner + " }" * n,
        "parallel { " * n + inner + " }" * n,
        "dense { " * n + inner + " }" * n,
        "stage { " * n + inner + " }" * n,
        "fractal(columns=2) { " * min(n, 20) + inner + " }" * min(n, 20),
        "if true { " + inner + " } " + "else if false { relu } " * n,
        "for i in range(2) { " * n + inner + " }" * n,
    ])
    return _insert_in_body(rng, text, fmt, body)


def wrap_repeat(rng, text, fmt):
    """Append `x N` (N from REPEATS) after a call, a name or a closing brace."""
    found = [t for t in tokens(text) if t[0] == "name" or text[t[1]:t[2]] in (")", "}")]
    if not found:
        return text
    t = rng.choice(found)
    return _replace(text, t[2], t[2], " x " + rng.choice(REPEATS))


def insert_snippet(rng, text, fmt):
    """Drop a structure or a doubtful layer call into a body."""
    if fmt == "yaml" and rng.random() < 0.6:
        return _insert_yaml_item(rng, text, rng.choice(YAML_SNIPPETS))
    return _insert_in_body(rng, text, fmt, rng.choice(SNIPPETS))


def _insert_in_body(rng, text, fmt, item: str) -> str:
    """`item` after an opening brace (.arch), or as a new list item of a YAML body."""
    if fmt == "yaml":
        return _insert_yaml_item(rng, text, "- " + _yaml_quote(item))
    braces = [m.end() for m in re.finditer(r"\{", text)]
    i = rng.choice(braces) if braces else len(text)
    return _replace(text, i, i, " " + item + " ")


def _insert_yaml_item(rng, text, item: str) -> str:
    """A new `- item` line with the indentation of an existing list item."""
    items = [m for m in re.finditer(r"(?m)^( *)- ", text)]
    if not items:
        return text + "\n" + item + "\n"
    m = rng.choice(items)
    indent = m.group(1)
    return _replace(text, m.start(), m.start(), indent + item.replace("\n", "\n" + indent) + "\n")


def _yaml_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def splice_donor(rng, text, fmt, donors=()):
    """Insert a random slice of another seed's text (crossover)."""
    if not donors:
        return text
    donor = rng.choice(donors)
    a = rng.randrange(len(donor) + 1)
    b = min(len(donor), a + rng.choice([10, 50, 200, 1000]))
    i = _position(rng, text)
    return _replace(text, i, i, donor[a:b])


# ---------------------------------------------------------------- YAML mutators


def yaml_alias_bomb(rng, text, fmt):
    """A "billion laughs" of aliases, inside a value or as an extra key."""
    levels, width = rng.choice([(3, 3), (6, 6), (9, 9), (20, 2)])
    lines = ['bomb0: &b0 ["relu", "relu"]']
    lines += [f"bomb{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * width) + "]" for i in range(1, levels)]
    where = rng.choice(["top", "network"])
    if where == "network":
        return text.replace("network:", "\n".join(lines[:-1]) + f"\nnetwork: *b{levels - 2}\nnetwork_old:", 1)
    return "\n".join(lines) + "\n" + text


def yaml_recursive_alias(rng, text, fmt):
    """An anchor that contains its own alias: a cyclic node graph."""
    form = rng.choice(["network: &n [*n]\n", "network: &n [{body: *n}]\n", "params: &p {a: *p}\n",
                       "let: &l {a: [*l]}\n", "blocks: &b {x: {body: [relu], args: *b}}\n"])
    if rng.random() < 0.5 and "network:" in text:
        return text.replace("network:", "network_:", 1) + "\n" + form
    return form + text


def yaml_tag(rng, text, fmt):
    tag = rng.choice(["!!python/object/apply:os.system ['true']", "!!binary aGk=", "!custom x", "!!str 5", "!!int x",
                      "!!float 1e400", "!!timestamp 2001-12-14", "!!set {a, b}", "!!omap [a: 1]", "!<tag:x> 1"])
    colons = [m.end() for m in re.finditer(r": ", text)]
    if not colons:
        return text
    i = rng.choice(colons)
    end = text.find("\n", i)
    return _replace(text, i, end if end >= 0 else len(text), tag)


def yaml_indent(rng, text, fmt):
    """Indent or dedent one line."""
    starts = _line_starts(text)
    i = rng.choice(starts)
    if rng.random() < 0.5:
        return _replace(text, i, i, rng.choice([" ", "  ", "\t", "    "]))
    n = len(text[i:]) - len(text[i:].lstrip(" "))
    return _replace(text, i, i + min(n, rng.choice([1, 2])), "")


def yaml_scalar_style(rng, text, fmt):
    """Rewrite a value as a double-quoted scalar with escapes, a single-quoted one, a block scalar or folded lines."""
    values = [m for m in re.finditer(r"(?m)(: |- )([^\n\[\]{}#&*!|>'\"][^\n#]*)$", text)]
    if not values:
        return text
    m = rng.choice(values)
    value, indent = m.group(2), " " * (m.start() - text.rfind("\n", 0, m.start()) + 1)
    style = rng.choice(["escaped", "single", "literal", "folded", "split", "tab"])
    if style == "escaped":
        chars = [f"\\x{ord(c):02x}" if c.isalpha() and rng.random() < 0.3 else c for c in value]
        new = '"' + "".join(chars).replace('"', '\\"') + '"'
    elif style == "single":
        new = "'" + value.replace("'", "''") + "'"
    elif style == "literal":
        new = "|\n" + indent + value
    elif style == "folded":
        new = ">\n" + indent + value.replace(", ", ",\n" + indent, 1)
    elif style == "split":
        new = value.replace(", ", ",\n" + indent, 1)
    else:
        new = '"' + value.replace(", ", ",\\t", 1).replace('"', '\\"') + '"'
    return _replace(text, m.start(2), m.end(2), new)


def yaml_structure(rng, text, fmt):
    """Duplicate a key, add document markers or directives, or turn a mapping into a list."""
    choice = rng.randrange(5)
    if choice == 0:
        keys = re.findall(r"(?m)^([a-z_]+):.*$", text)
        return text + "\n" + rng.choice(keys) + ": 1\n" if keys else text
    if choice == 1:
        return rng.choice(["%YAML 1.1\n---\n", "---\n", "%TAG ! tag:x,2000:\n---\n"]) + text
    if choice == 2:
        return text + rng.choice(["\n---\n", "\n...\n", "\n--- {}\n", "\n---\narch: other\n"])
    if choice == 3:
        return text.replace("network:\n", "network: {}\n", 1)
    return rng.choice(["[]\n", "5\n", "~\n", "\"text\"\n", ""]) if rng.random() < 0.2 else text.replace("- ", "-", 1)


# ---------------------------------------------------------------- the engine

# (mutator, weight, formats it applies to)
MUTATORS: list[tuple[Mutator, int, tuple[str, ...]]] = [
    (delete_chars, 6, ("arch", "yaml")),
    (insert_char, 6, ("arch", "yaml")),
    (duplicate_chars, 3, ("arch", "yaml")),
    (insert_control, 4, ("arch", "yaml")),
    (change_line_breaks, 3, ("arch", "yaml")),
    (delete_token, 6, ("arch", "yaml")),
    (insert_token, 6, ("arch", "yaml")),
    (duplicate_token, 3, ("arch", "yaml")),
    (swap_tokens, 3, ("arch", "yaml")),
    (replace_number, 8, ("arch", "yaml")),
    (replace_name, 6, ("arch", "yaml")),
    (replace_string, 3, ("arch", "yaml")),
    (truncate, 3, ("arch", "yaml")),
    (duplicate_lines, 2, ("arch", "yaml")),
    (delete_lines, 3, ("arch", "yaml")),
    (swap_lines, 2, ("arch", "yaml")),
    (nest_deeply, 3, ("arch", "yaml")),
    (wrap_repeat, 4, ("arch", "yaml")),
    (insert_snippet, 8, ("arch", "yaml")),
    (splice_donor, 2, ("arch", "yaml")),
    (yaml_alias_bomb, 2, ("yaml",)),
    (yaml_recursive_alias, 2, ("yaml",)),
    (yaml_tag, 2, ("yaml",)),
    (yaml_indent, 4, ("yaml",)),
    (yaml_scalar_style, 8, ("yaml",)),
    (yaml_structure, 3, ("yaml",)),
]


def mutate(text: str, rng: random.Random, fmt: str = "arch", donors=(), steps: int | None = None,
           ) -> tuple[str, list[str]]:
    """`text` changed by `steps` mutations (default: one to three), and the mutators' names."""
    usable = [(m, w) for m, w, formats in MUTATORS if fmt in formats]
    funcs, weights = zip(*usable)
    count = steps if steps is not None else rng.choice([1, 1, 1, 2, 2, 3])
    applied = []
    for _ in range(count):
        fn = rng.choices(funcs, weights)[0]
        new = fn(rng, text, fmt, donors) if fn is splice_donor else fn(rng, text, fmt)
        if len(new) <= MAX_TEXT:
            text = new
            applied.append(fn.__name__)
    return text, applied
