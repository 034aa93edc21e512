"""The `paths` and `render` commands (registered in cli.COMMANDS).

    archdsl paths SPEC [--json] [--plot hist.png] [--range 19:35] [--unit modules|layers] [--drop BLOCK]...
    archdsl render SPEC -o FILE [--level stage|block|layer] [--expand] [--unravel] [--drop BLOCK]...

Heavy imports (matplotlib, the dot backend) happen inside the commands.
"""
from __future__ import annotations

import json
import sys


def _load(args):
    from .cli import _load as load_spec

    arch = load_spec(args)
    if args.drop:
        arch = arch.without(*args.drop)
    return arch


def _drop_option(p):
    p.add_argument("--drop", action="append", default=[], metavar="BLOCK",
                   help="replace a residual block by its shortcut first (repeatable), e.g. --drop layer2.3")


def configure_paths(p):
    p.add_argument("--json", action="store_true", help="machine-readable output (counts as decimal strings)")
    p.add_argument("--plot", metavar="FILE", help="also draw both histograms (.png, .svg or .pdf)")
    p.add_argument("--range", metavar="LOW:HIGH", help="the share of paths with a length in LOW..HIGH, e.g. 19:35")
    p.add_argument("--unit", choices=("modules", "layers"), default="modules",
                   help="length unit of --range and the text histogram (default: modules)")
    _drop_option(p)
    p.set_defaults(func=cmd_paths)


def cmd_paths(args) -> int:
    from .paths_report import parse_range, stats_text, write_plot

    within = parse_range(args.range) if args.range else None
    arch = _load(args)
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
    p.add_argument("-o", "--output", required=True, help="output file: .svg, .png, .pdf or .dot")
    p.add_argument("--level", choices=("stage", "block", "layer"), default="block",
                   help="one box per stage, a cluster per block (default), or every op")
    p.add_argument("--expand", action="store_true", help="draw every block instead of folding repeats into 'x N'")
    p.add_argument("--unravel", action="store_true", help="draw every path of a small residual net (Veit et al.'s view)")
    _drop_option(p)
    p.set_defaults(func=cmd_render)


def cmd_render(args) -> int:
    from backends.dot import render_to_file

    arch = _load(args)
    written, note = render_to_file(arch, args.output, level=args.level, expand=args.expand, unravel=args.unravel,
                                   follow_symlinks=args.follow_symlinks)
    print(note or f"wrote {written}")
    return 0


COMMANDS = {
    "paths": ("exact number of input-to-output paths and their lengths", configure_paths),
    "render": ("draw the architecture with graphviz (svg, png, pdf, dot)", configure_render),
}
