"""docs/language.md's layer tables, generated from the op registry (so they cannot drift).

    python -m archdsl.report.layer_table           # rewrite the tables in docs/language.md
    python -m archdsl.report.layer_table --check   # exit 1 if they are stale (a test runs this)

Each table sits between `<!-- NAME:begin -->` and `<!-- NAME:end -->` markers:
`layers` (the ops a spec calls, with their arguments and parameter counts),
`joins` (the ops structures make) and `elementwise` (the `--elementwise`
counting convention of every op).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from ..ops import REGISTRY
from ..ops.args import REQUIRED
from ..values import show
from .generated import write_or_check

DOC = Path(__file__).resolve().parents[2] / "docs" / "language.md"


def _summary(cls) -> str:
    doc = (cls.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(doc.split()).replace("|", "\\|")


def _default(spec) -> str:
    if spec.default is REQUIRED:
        return ""
    if spec.default is None:
        return f" ({spec.doc})" if spec.doc else ""
    return f" ({show(spec.default)})"


def _args(cls) -> str:
    parts = []
    for spec in cls.ARGS:
        mark = "*pos* " if spec.positional else ""
        parts.append(f"{mark}{spec.name}{_default(spec)}")
    return ", ".join(parts) or "—"


def _callable(cls) -> bool:
    return not cls.TRAITS.source and cls.min_inputs == 1 and cls.max_inputs == 1


def layers_table() -> str:
    rows = ["| layer | arguments (default) | params | what it computes |", "|---|---|---|---|"]
    for kind, cls in sorted(REGISTRY.items()):
        if _callable(cls):
            rows.append(f"| `{kind}` | {_args(cls)} | {cls.PARAMS_DOC} | {_summary(cls)} |")
    return "\n".join(rows)


def joins_table() -> str:
    rows = ["| op | made by | inputs | what it computes |", "|---|---|---|---|"]
    for kind, cls in sorted(REGISTRY.items()):
        if not cls.TRAITS.source and not _callable(cls):
            merge = cls.TRAITS.merge.value
            rows.append(f"| `{kind}` | `{cls.EXAMPLE}` | {merge} | {_summary(cls)} |")
    return "\n".join(rows)


def elementwise_table() -> str:
    rows = ["| op | elementwise ops |", "|---|---|"]
    for kind, cls in sorted(REGISTRY.items()):
        if not cls.TRAITS.source:
            rows.append(f"| `{kind}` | {cls.ELEMENTWISE_DOC} |")
    return "\n".join(rows)


TABLES = {"layers": layers_table, "joins": joins_table, "elementwise": elementwise_table}


def render(text: str) -> str:
    for name, make in TABLES.items():
        pattern = re.compile(rf"(<!-- {name}:begin -->\n)(?:.*?\n)?(<!-- {name}:end -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"{DOC} has no <!-- {name}:begin --> ... <!-- {name}:end --> markers")
        text = pattern.sub(lambda m, table=make(): m.group(1) + table + "\n" + m.group(2), text)
    return text


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render(DOC.read_text(encoding="utf-8"))
    return write_or_check(DOC, text, "--check" in args, "python -m archdsl.report.layer_table")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
