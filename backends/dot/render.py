"""IR -> graphviz diagrams: DOT text, and SVG/PNG/PDF through the `dot` binary.

    write(arch, "resnet50.svg", RenderOptions(level="block"))      # or .png, .pdf, .dot
    to_dot(build_view(arch, "stage"))                          # the DOT text itself

What is drawn is decided in view.py (levels, fusing, folding "x N") and
unravel.py (every path of a small residual net); this file only styles and
writes. Boxes are coloured by op family; shortcut edges are dashed and red.
The same spec always gives the same bytes: items, clusters and edges come out
in the graph's topological order and nothing depends on dict hashing or time.
Without `dot` on PATH, `write` writes the .dot file and says how to
turn it into an image.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from archdsl.errors import ArchError
from archdsl.files import atomic_write, checked_target

from archdsl.targets import OutputOptions, RenderOptions

from .unravel import build_unravel_view, module_fill
from .view import Cluster, Item, View, build_view

FORMATS = ("svg", "png", "pdf", "dot")
FONT = "Helvetica"

# Fill colours by op family (ops/base.py `family`); "stage" is a whole stage at --level stage.
FAMILY_FILL = {
    "io": "#ffffff",
    "conv": "#d6e6f5",
    "norm": "#fbf0c9",
    "act": "#f9dcd6",
    "pool": "#d9efd5",
    "linear": "#e4dcf1",
    "merge": "#fde3c8",
    "gate": "#f3d9ec",
    "sample": "#d5efee",
    "shortcut": "#ececec",
    "shape": "#f0f0f0",
    "reg": "#f0f0f0",
    "stage": "#dfe9f6",
}
DEFAULT_FILL = "#f0f0f0"
SKIP_COLOUR = "#c0392b"
EDGE_COLOUR = "#505050"
CLUSTER_STYLE = {
    "stage": 'style="rounded,filled" fillcolor="#f4f6f9" color="#b4bfcc" penwidth=1',
    "block": 'style="rounded,filled" fillcolor="#ffffff" color="#8c96a3" penwidth=0.8',
    "fold": 'style="rounded,filled" fillcolor="#fff6df" color="#d4a017" penwidth=2',
    "unravel": 'style="rounded,filled" fillcolor="#ffffff" color="#bbbbbb" penwidth=0.8',
}


# ---------------------------------------------------------------- DOT text


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _item_label(item: Item) -> str:
    parts = []
    show_title = (item.title and item.family != "io" and not item.title.rsplit(".", 1)[-1].isdigit()
                  and item.title != item.ops[0][0])
    if show_title:
        size = 11 if item.family == "stage" else 8
        colour = "#1a1a1a" if item.family == "stage" else "#5a5a5a"
        title = f"<B>{_esc(item.title)}</B>" if item.family == "stage" else _esc(item.title)
        parts.append(f'<FONT POINT-SIZE="{size}" COLOR="{colour}">{title}</FONT>')
    ops = " · ".join(f"<B>{_esc(text)}</B>" if main and len(item.ops) > 1 else _esc(text) for text, main in item.ops)
    parts.append(ops)
    if item.shape:
        parts.append(f'<FONT POINT-SIZE="8" COLOR="#333333">{_esc(item.shape)}</FONT>')
    if item.note:
        parts.append(f'<FONT POINT-SIZE="8" COLOR="#5a5a5a">{_esc(item.note)}</FONT>')
    return "<" + "<BR/>".join(parts) + ">"


def _item_line(item: Item, straight: bool = True) -> str:
    if item.family == "pass":
        return f'  {item.key} [shape=point width=0.09 color="{SKIP_COLOUR}" label=""];'
    fill = FAMILY_FILL.get(item.family) or module_fill(item.family) or DEFAULT_FILL
    attrs = [f"label={_item_label(item)}", f'fillcolor="{fill}"']
    if item.join:
        attrs.append('shape=box style="rounded,filled" margin="0.08,0.02"')
    if item.shortcut:
        attrs.append('style="rounded,filled,dashed" color="#7a7a7a"')
    if item.family == "stage":
        attrs.append('penwidth=1.2 margin="0.2,0.08"')
    if straight and not item.shortcut:
        attrs.append(f'group="{item.cluster or "main"}"')  # keeps each main line straight
    return f"  {item.key} [{' '.join(attrs)}];"


def _cluster_label(c: Cluster) -> str:
    if c.style == "fold":
        head = f'<B>{_esc(c.subtitle)}</B>  <FONT POINT-SIZE="9" COLOR="#6b5200">{_esc(c.title)}</FONT>'
    elif c.style == "stage":
        head = f'<B>{_esc(c.title)}</B>  <FONT POINT-SIZE="9" COLOR="#555555">{_esc(c.subtitle)}</FONT>'
    else:
        head = f'{_esc(c.title)}  <FONT POINT-SIZE="8" COLOR="#666666">{_esc(c.subtitle)}</FONT>'
    return f"<{head}>"


def to_dot(view: View) -> str:
    lines = [
        f"digraph {_quote(view.title)} {{",
        f'  graph [rankdir={view.rankdir} fontname="{FONT}" fontsize=10 nodesep=0.22 ranksep=0.26 '
        f'pad=0.25 labelloc=t labeljust=c newrank=true outputorder=edgesfirst '
        f'label=<<FONT POINT-SIZE="14"><B>{_esc(view.title)}</B></FONT><BR/> >];',
        f'  node [shape=box style="rounded,filled" fontname="{FONT}" fontsize=9 penwidth=0.7 color="#555555" '
        f'margin="0.1,0.03" height=0.3];',
        f'  edge [color="{EDGE_COLOUR}" arrowsize=0.55 penwidth=0.8];',
    ]
    children: dict[str | None, list[Cluster]] = {}
    for c in view.clusters:
        children.setdefault(c.parent, []).append(c)
    items_in: dict[str | None, list[Item]] = {}
    for item in view.items:
        items_in.setdefault(item.cluster, []).append(item)

    def emit(cluster_key: str | None, indent: str):
        for item in items_in.get(cluster_key, ()):
            lines.append(indent + _item_line(item, view.straight).lstrip())
        for c in children.get(cluster_key, ()):
            lines.append(f"{indent}subgraph {c.key} {{")
            lines.append(f'{indent}  {CLUSTER_STYLE[c.style]} label={_cluster_label(c)} labeljust=l fontsize=9 margin=8;')
            emit(c.key, indent + "  ")
            lines.append(f"{indent}}}")

    emit(None, "  ")
    for rank in view.ranks:
        lines.append("  {rank=same; " + " ".join(rank) + "}")
        lines += [f"  {a} -> {b} [style=invis];" for a, b in zip(rank, rank[1:])]  # keeps the order
    for e in view.edges:
        style = f' [style=dashed color="{SKIP_COLOUR}" penwidth=1.1]' if e.skip else ""
        lines.append(f"  {e.src} -> {e.dst}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------- views and files


def make_view(arch, level: str = "block", expand: bool = False, unravel: bool = False) -> View:
    if unravel:
        return build_unravel_view(arch)
    return build_view(arch, level, expand)


def dot_text(arch, level: str = "block", expand: bool = False, unravel: bool = False) -> str:
    return to_dot(make_view(arch, level, expand, unravel))


def run_dot(text: str, fmt: str) -> bytes:
    """`dot -T<fmt>` on the text; ArchError if graphviz fails."""
    exe = shutil.which("dot")
    if exe is None:
        raise FileNotFoundError("dot")
    env = dict(os.environ, SOURCE_DATE_EPOCH="0")  # cairo's PDF creation date: fixed, for identical bytes
    extra = ["-Gdpi=144"] if fmt == "png" else []
    done = subprocess.run([exe, f"-T{fmt}", *extra], input=text.encode("utf-8"), capture_output=True, env=env)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ArchError(f"graphviz's dot failed: {message[-1] if message else 'exit status ' + str(done.returncode)}")
    return _fixed_dates(done.stdout) if fmt == "pdf" else done.stdout


_PDF_DATE = re.compile(rb"/(CreationDate|ModDate) \(D:[0-9Z+\-']*\)")


def _fixed_dates(pdf: bytes) -> bytes:
    """cairo stamps the time into a PDF; a fixed date of the same length keeps the bytes (and offsets) stable."""
    def fixed(m):
        stamp = m.group(0)
        head = b"/" + m.group(1) + b" (D:"
        return head + (b"19700101000000" + b"Z" * 64)[: len(stamp) - len(head) - 1] + b")"

    return _PDF_DATE.sub(fixed, pdf)


def write(arch, path: str | os.PathLike, options: RenderOptions = RenderOptions(),
          output: OutputOptions = OutputOptions()) -> tuple[Path, str | None]:
    """Write the diagram; the format is the file's extension. Returns (path written, note or None).

    Without graphviz's `dot`, an image request writes FILE.dot instead and the
    note says how to get the image.
    """
    target = Path(path)
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ArchError(f"render writes .svg, .png, .pdf or .dot files; got '{target}'")
    follow_symlinks = output.follow_symlinks
    checked_target(target, follow_symlinks)  # refuse a bad target before the work
    text = dot_text(arch, options.level, options.expand, options.unravel)
    if fmt == "dot":
        atomic_write(target, text, follow_symlinks)
        return target, None
    try:
        data = run_dot(text, fmt)
    except FileNotFoundError:
        fallback = target.with_suffix(".dot")
        atomic_write(fallback, text, follow_symlinks)
        return fallback, (
            f"graphviz's `dot` is not installed, so wrote {fallback} instead of {target}; install graphviz "
            f"(apt-get install graphviz, brew install graphviz or conda install graphviz) and run: "
            f"dot -T{fmt} {fallback} -o {target}"
        )
    atomic_write(target, data, follow_symlinks)
    return target, None


def svg_text(arch, level: str = "block") -> str | None:
    """The diagram as SVG text (Jupyter's _repr_svg_); None without graphviz."""
    try:
        return run_dot(dot_text(arch, level), "svg").decode("utf-8")
    except (FileNotFoundError, ArchError):
        return None
