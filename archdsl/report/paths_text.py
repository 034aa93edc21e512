"""Text, JSON and pictures for `archdsl paths` (the numbers come from passes/paths.py).

    resnet110: 18,014,398,509,481,984 paths (2^54) from input to output
                 modules   layers
    shortest           0        2
    ...
"""
from __future__ import annotations

from fractions import Fraction

from ..errors import ArchError
from ..files import atomic_path
from ..passes.paths import UNITS, Histogram, PathStats

UNIT_TITLES = {"modules": "modules passed", "layers": "weight layers"}
MAX_ROWS = 28  # text histogram rows; longer ranges are bucketed
BAR = 40


def count_text(n: int) -> str:
    """18,014,398,509,481,984 (2^54); very long numbers are shortened to ~1.23e+100 (2^333)."""
    exact = f"{n:,}"
    if len(exact) > 40:
        digits = str(n)
        exact = f"~{digits[0]}.{digits[1:3]}e+{len(digits) - 1}"
    if n > 1 and n & (n - 1) == 0:
        exact += f" (2^{n.bit_length() - 1})"
    return exact


def percent(share: Fraction) -> str:
    if share == 0:
        return "0"
    if share < Fraction(1, 10**4):
        return "<0.01%"
    return f"{float(share) * 100:.2f}%"


def stats_text(name: str, stats: PathStats, unit: str = "modules", within: tuple[int, int] | None = None) -> str:
    noun = "path" if stats.total == 1 else "paths"
    lines = [f"{name}: {count_text(stats.total)} {noun} from input to output", ""]
    h = {u: stats.histogram(u) for u in UNITS}
    width = max(len(t) for t in UNIT_TITLES.values())
    lines.append(f"{'':10}" + "".join(f"{UNIT_TITLES[u]:>{width + 2}}" for u in UNITS))
    rows = (
        ("shortest", lambda x: str(x.shortest)),
        ("longest", lambda x: str(x.longest)),
        ("mean", lambda x: f"{float(x.mean):.2f}"),
        ("median", lambda x: str(x.median)),
    )
    for title, value in rows:
        lines.append(f"{title:10}" + "".join(f"{value(h[u]):>{width + 2}}" for u in UNITS))
    if within is not None:
        low, high = within
        inside = h[unit].count_within(low, high)
        share = Fraction(inside, stats.total)
        lines += [
            "",
            f"paths with {low}..{high} {UNIT_TITLES[unit]}: {percent(share)}",
            f"  = {inside:,} / {stats.total:,}",
        ]
    lines += ["", f"share of paths by length ({UNIT_TITLES[unit]}):"]
    lines += histogram_lines(h[unit], within)
    return "\n".join(lines)


def histogram_lines(h: Histogram, within: tuple[int, int] | None = None) -> list[str]:
    """One row per length (or per bucket of lengths), a bar scaled to the largest row."""
    low, high = h.shortest, h.longest
    size = -(-(high - low + 1) // MAX_ROWS)
    buckets = []
    for start in range(low, high + 1, size):
        end = min(start + size - 1, high)
        buckets.append((start, end, h.count_within(start, end)))
    peak = max(c for _, _, c in buckets)
    label_width = len(str(high)) * (2 if size > 1 else 1) + (1 if size > 1 else 0)
    out = []
    for start, end, c in buckets:
        label = f"{start}" if start == end else f"{start}-{end}"
        bar = "█" * round(BAR * c / peak) if c else ""
        if c and not bar:
            bar = "▏"
        mark = " *" if within and start >= within[0] and end <= within[1] else ""
        out.append(f"  {label:>{label_width}} │{bar:<{BAR}} {percent(Fraction(c, h.total)):>7}{mark}")
    if within:
        out.append(f"  (* rows inside {within[0]}..{within[1]})")
    return out


def write_plot(path: str, name: str, stats: PathStats, within: tuple[int, int] | None = None, unit: str = "modules",
               follow_symlinks: bool = False) -> None:
    """Both histograms side by side as PNG, SVG or PDF (matplotlib, imported here only)."""
    from pathlib import Path

    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in ("png", "svg", "pdf"):
        raise ArchError(f"--plot writes .png, .svg or .pdf; got '{path}'")
    try:
        import matplotlib
    except ImportError:
        raise ArchError("--plot needs matplotlib: pip install 'archdsl[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "archdsl"  # stable ids: the same spec gives the same bytes
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for ax, u, colour in zip(axes, UNITS, ("#4c72b0", "#dd8452")):
        h = stats.histogram(u)
        xs = [k for k, _ in h.items()]
        ys = [100 * float(Fraction(c, h.total)) for _, c in h.items()]
        ax.bar(xs, ys, width=0.9 if u == "modules" else 0.9 * _step(xs), color=colour, linewidth=0)
        if within is not None and u == unit:
            ax.axvspan(within[0] - 0.5, within[1] + 0.5, color="#999999", alpha=0.18, linewidth=0)
            share = percent(h.fraction_within(*within))
            ax.text(0.02, 0.95, f"{share} of paths in {within[0]}..{within[1]}", transform=ax.transAxes, va="top")
        ax.set_xlabel(f"path length ({UNIT_TITLES[u]})")
        ax.set_ylabel("share of paths (%)")
        ax.set_title(f"mean {float(h.mean):.1f}, median {h.median}, {h.shortest}..{h.longest}", fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(f"{name}: {count_text(stats.total)} paths")
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {"Software": None}}[fmt]
    with atomic_path(path, follow_symlinks) as tmp:
        fig.savefig(tmp, format=fmt, dpi=120, metadata=metadata)
    plt.close(fig)


def _step(xs: list[int]) -> int:
    """The usual gap between lengths (ResNet layer counts go up in 2s)."""
    gaps = [b - a for a, b in zip(xs, xs[1:])]
    return min(gaps) if gaps else 1
