"""The `paths` and `render` commands.

    archdsl paths SPEC [--json] [--plot hist.png] [--range 19:35] [--unit modules|layers] [--drop BLOCK]...
    archdsl render SPEC -o FILE [--level stage|block|layer] [--expand] [--unravel] [--drop BLOCK]...

matplotlib is imported only by --plot, the dot backend only by render.
"""
from __future__ import annotations

import json
import sys

from ..report.paths_text import stats_text, write_plot
from ..targets import OutputOptions, RenderOptions, backend
from .options import add_common, add_output, load_arch, located, option_error


def parse_range(text: str) -> tuple[int, int]:
    """'19:35' -> (19, 35), both ends included."""
    low, sep, high = text.partition(":")
    if not sep or not low.strip().isdigit() or not high.strip().isdigit() or int(low) > int(high):
        raise option_error("--range", text, f"--range expects LOW:HIGH with 0 <= LOW <= HIGH, such as 19:35; "
                                            f"got '{text}'")
    return int(low), int(high)


def configure_paths(p):
    add_common(p)
    p.add_argument("--follow-symlinks", action="store_true", help="--plot to a symbolic link: write its target")
    p.add_argument("--json", action="store_true", help="machine-readable output (counts as decimal strings)")
    p.add_argument("--plot", metavar="FILE", help="also draw both histograms (.png, .svg or .pdf)")
    p.add_argument("--range", metavar="LOW:HIGH", help="the share of paths with a length in LOW..HIGH, e.g. 19:35")
    p.add_argument("--unit", choices=("modules", "layers"), default="modules",
                   help="length unit of --range and the text histogram (default: modules)")
    p.add_argument("--of", metavar="OUTPUT", help="a network with several outputs: the paths to this one "
                                                  "(default: the first)")
    p.set_defaults(func=cmd_paths)


def cmd_paths(args) -> int:
    within = parse_range(args.range) if args.range else None
    arch = load_arch(args)
    if args.of is not None:
        arch = located(lambda: arch.output(args.of), "--of", args.of)
    elif arch.graph.outputs:
        arch = arch.output(next(iter(arch.graph.outputs)))
    stats = arch.paths()
    if args.plot:
        write_plot(args.plot, arch.name, stats, within, args.unit, args.follow_symlinks)
    if args.json:
        data = {"name": arch.name, "dropped": list(args.drop)}
        data.update(stats.to_dict(within, args.unit))
        json.dump(data, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(stats_text(arch.name, stats, args.unit, within))
        if args.plot:
            print(f"wrote {args.plot}")
    return 0


def configure_render(p):
    add_common(p)
    add_output(p, "output file: .svg, .png, .pdf or .dot")
    p.add_argument("--level", choices=("stage", "block", "layer"), default="block",
                   help="one box per stage, a cluster per block (default), or every op")
    p.add_argument("--expand", action="store_true", help="draw every block instead of folding repeats into 'x N'")
    p.add_argument("--unravel", action="store_true", help="draw every path of a small residual net (Veit et al.'s view)")
    p.set_defaults(func=cmd_render)


def cmd_render(args) -> int:
    name = str(args.output)
    stem, dot, suffix = name.rpartition(".")
    if not (dot and stem and "/" not in suffix and suffix.lower() in backend("dot").FORMATS):  # before the work
        raise option_error("-o", name, "render writes .svg, .png, .pdf or .dot files" +
                           (" (a diagram is not text for standard output)" if name == "-" else ""),
                           column=len(stem) + 2 if dot and "/" not in suffix else 1)
    arch = load_arch(args)
    options = RenderOptions(level=args.level, expand=args.expand, unravel=args.unravel)
    written, note = backend("dot").write(arch, args.output, options, OutputOptions(args.follow_symlinks))
    print(note or f"wrote {written}")
    return 0
