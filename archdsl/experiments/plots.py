"""The experiments' figures, in the style of the papers' (matplotlib with the Agg backend, imported here only).

    training_curves   error vs epoch: dashed training error, solid test error (He et al. 2015, Fig. 1 and 6)
    lesion_figure     test error with each block deleted, and vs the number deleted (Veit et al. 2016, Fig. 3, 5a)
    reorder_figure    test error vs Kendall's tau of the block order (Veit et al. 2016, Fig. 5b)
    paths_figure      path lengths, gradient per path and total gradient by length (Veit et al. 2016, Fig. 6)
"""
from __future__ import annotations

from pathlib import Path

from ..errors import ArchError
from ..files import atomic_path

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ArchError("--plot needs matplotlib: pip install 'archdsl[experiments]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str, follow_symlinks: bool = False) -> None:
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in ("png", "svg", "pdf"):
        raise ArchError(f"--plot writes .png, .svg or .pdf; got '{path}'")
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {"Software": None}}[fmt]
    with atomic_path(path, follow_symlinks) as tmp:
        fig.savefig(tmp, format=fmt, dpi=110, metadata=metadata)


def _style(ax, xlabel: str, ylabel: str, title: str = "", integer_x: bool = True) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if integer_x:
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)


def training_curves(panels: dict, path: str, title: str = "") -> None:
    """`panels`: {panel title: {label: History}}; one axis per panel, a colour per label."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8), squeeze=False,
                             constrained_layout=True)
    for ax, (panel, histories) in zip(axes[0], panels.items()):
        for colour, (label, h) in zip(COLOURS, histories.items()):
            epochs = range(1, len(h.train_error) + 1)
            ax.plot(epochs, [100 * e for e in h.train_error], "--", color=colour, linewidth=1.2)
            ax.plot(epochs, [100 * e for e in h.test_error], "-", color=colour, linewidth=2, label=label)
        _style(ax, "epoch", "error (%)", panel)
        ax.legend(title="solid: test, dashed: train", fontsize=8, title_fontsize=8)
    if title:
        fig.suptitle(title)
    _save(fig, path)
    plt.close(fig)


def lesion_figure(residual, path: str, plain=None, title: str = "", classes: int = 10) -> None:
    """Each block deleted in turn (downsampling blocks marked), the plain net's layers for contrast, and the
    error vs the number of blocks deleted at random (when measured)."""
    plt = _pyplot()
    panels = 1 + (plain is not None) + bool(residual.random)
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 3.8), squeeze=False, constrained_layout=True)
    axes = list(axes[0])
    _single_deletions(axes.pop(0), residual, "residual block deleted", classes)
    if plain is not None:
        _single_deletions(axes.pop(0), plain, "layer deleted (identity: the chain broken)", classes, COLOURS[1])
    if residual.random:
        ax = axes.pop(0)
        ks = sorted(residual.random)
        means = [100 * sum(v) / len(v) for v in (residual.random[k] for k in ks)]
        for k in ks:
            ax.plot([k] * len(residual.random[k]), [100 * e for e in residual.random[k]], ".", color="#999999")
        ax.plot(ks, means, "-o", color=COLOURS[0], label=f"{residual.name} (mean of draws)")
        _style(ax, "blocks deleted at random", "test error (%)", "error grows with the number deleted")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    _save(fig, path)
    plt.close(fig)


def _single_deletions(ax, result, xlabel: str, classes: int, colour: str = COLOURS[0]) -> None:
    xs = range(1, len(result.deleted) + 1)
    errors = [100 * e for _, e, _ in result.deleted]
    ax.plot(xs, errors, "-o", color=colour, markersize=4, label=result.name)
    marked = [(x, 100 * e) for x, (_, e, down) in zip(xs, result.deleted) if down]
    if marked:
        ax.plot(*zip(*marked), "s", color="black", markersize=6, fillstyle="none", label="downsampling block")
    ax.axhline(100 * result.baseline, color=colour, linestyle=":", label="nothing deleted")
    chance = 100 * (1 - 1 / classes)
    ax.axhline(chance, color="#777777", linestyle="--", linewidth=0.8, label=f"chance ({classes} classes)")
    ax.set_ylim(0, 100)
    _style(ax, f"index of the {xlabel}", "test error (%)")
    ax.legend(fontsize=8)


def reorder_figure(result, path: str, title: str = "") -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.4, 3.8), constrained_layout=True)
    taus = [r["tau"] for r in result.rows]
    ax.plot(taus, [100 * r["error"] for r in result.rows], ".", color="#999999", label="one order")
    by_target: dict[float, list] = {}
    for r in result.rows:
        by_target.setdefault(r["target_tau"], []).append(r)
    xs = [sum(r["tau"] for r in rows) / len(rows) for rows in by_target.values()]
    ys = [100 * sum(r["error"] for r in rows) / len(rows) for rows in by_target.values()]
    ax.plot(xs, ys, "-o", color=COLOURS[0], label=f"{result.name} (mean)")
    ax.axhline(100 * result.baseline, color=COLOURS[0], linestyle=":", label="original order")
    ax.invert_xaxis()
    _style(ax, "Kendall's tau of the block order", "test error (%)", "blocks reordered within their stage", integer_x=False)
    ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    _save(fig, path)
    plt.close(fig)


def paths_figure(ep, path: str, title: str = "") -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8), constrained_layout=True)
    total_paths = sum(ep.path_counts)
    axes[0].bar(ep.lengths, [100 * c / total_paths for c in ep.path_counts], color=COLOURS[0], width=0.85)
    _style(axes[0], "path length (residual modules)", "share of paths (%)", "(a) path lengths (exact)")
    below = [min(s, 0.9 * m) for s, m in zip(ep.spread, ep.per_path)]  # a log axis: keep the bars above 0
    axes[1].errorbar(ep.lengths, ep.per_path, yerr=[below, ep.spread], fmt="-o", color=COLOURS[1], markersize=3,
                     capsize=2)
    axes[1].set_yscale("log")
    _style(axes[1], "path length", "gradient magnitude at input", "(b) gradient along one path")
    low, high = ep.range_holding()
    axes[2].bar(ep.lengths, ep.total, color=COLOURS[2], width=0.85)
    axes[2].axvspan(low - 0.5, high + 0.5, color="#999999", alpha=0.2, linewidth=0)
    _style(axes[2], "path length", "total gradient magnitude", f"(c) all paths of a length: 90% in {low}..{high}")
    fig.suptitle(title or f"{ep.name}: {ep.units} residual units, {ep.samples} draws per length")
    _save(fig, path)
    plt.close(fig)
