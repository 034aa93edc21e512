"""`archdsl compare A B`: two specs side by side, and whether they compute the same amount.

    $ archdsl compare specs/resnext50_32x4d.arch specs/resnext50_32x4d_branches.arch
                      resnext50_32x4d  resnext50_32x4d_branches  difference
    params                 25,028,904                25,028,904           0
    MACs                4,230,479,872             4,230,479,872           0
    ...
    equal: same params (25,028,904) and MACs (4,230,479,872)

Params and MACs decide equality; input/output shapes, depth and node counts are
shown for context, and per-stage params and MACs when both specs have the same
stages. Exit status: 0 equal, 1 different (like `cmp`), 2 for a bad spec.
`-p` and `--input` apply to both specs.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..ops import fmt

@dataclass(frozen=True)
class Comparison:
    left: str
    right: str
    rows: tuple[tuple[str, object, object], ...]  # (what, left value, right value)
    equal: bool  # same params and MACs

    def verdict(self) -> str:
        (_, p1, p2), (_, m1, m2) = self.rows[0], self.rows[1]
        if self.equal:
            return f"equal: same params ({p1:,}) and MACs ({m1:,})"
        parts = []
        if p1 != p2:
            parts.append(f"params differ by {p2 - p1:+,}")
        if m1 != m2:
            parts.append(f"MACs differ by {m2 - m1:+,}")
        return "different: " + ", ".join(parts)


def compare(a, b) -> Comparison:
    """Compare two `Architecture`s (see `archdsl.load`)."""
    rows = [
        ("params", a.params, b.params),
        ("MACs", a.macs, b.macs),
        ("input", fmt(a.input_shape), fmt(b.input_shape)),
        ("output", fmt(a.output_shape), fmt(b.output_shape)),
        ("depth", a.depth, b.depth),
        ("nodes", len(a.graph) - 1, len(b.graph) - 1),
    ]
    stages = a.stages()
    if stages == b.stages():
        for stage in stages:
            ca, cb = a.module_counts.get(stage), b.module_counts.get(stage)
            if ca is not None and cb is not None:
                rows.append((f"{stage} params", ca.params, cb.params))
                rows.append((f"{stage} MACs", ca.macs, cb.macs))
    equal = a.params == b.params and a.macs == b.macs
    return Comparison(a.name, b.name, tuple(rows), equal)


def comparison_text(c: Comparison) -> str:
    def show(v):
        return f"{v:,}" if isinstance(v, int) else str(v)

    table = [("", c.left, c.right, "difference")]
    for what, x, y in c.rows:
        if x == y:
            diff = "0" if isinstance(x, int) else "same"
        else:
            diff = f"{y - x:+,}" if isinstance(x, int) and isinstance(y, int) else "differs"
        table.append((what, show(x), show(y), diff))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    lines = [
        "  ".join([row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:])]).rstrip()
        for row in table
    ]
    lines.append(c.verdict())
    return "\n".join(lines)
