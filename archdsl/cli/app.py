"""The `archdsl` command line.

    archdsl check SPEC                  parse, elaborate, verify; prints one line (--dump: the IR)
    archdsl info SPEC [--json]          table of layers/blocks/stages with shapes, params, MACs
    archdsl compile SPEC --target torch|onnx -o FILE
    archdsl compare A B                 params and MACs side by side
    archdsl paths SPEC [--json]         exact number of paths and their lengths
    archdsl render SPEC -o FILE         graphviz diagram: svg, png, pdf or dot
    archdsl train SPEC -o W.pt          train on digits (or --data); then, with --weights W.pt:
    archdsl lesion | reorder | effective-paths SPEC   the experiments of docs/experiments.md

Every command takes `-p NAME=VALUE` (repeatable), `--input CxHxW`, `--column K`,
`--drop BLOCK` and `--import-path DIR` (cli/options.py), and SPEC may be `-`
for standard input. A bad spec or option prints `file:line:col: error: ...`,
the source line and a caret, and exits with status 2; nothing is written.
"""
from __future__ import annotations

import argparse
import sys

from ..errors import ArchError
from ..gcpause import paused_gc
from ..version import __version__
from . import commands, experiments, pictures

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

# name -> (help, configure(parser)); listed here, so no command module imports the CLI back
COMMANDS = {
    "check": ("parse and verify a spec", commands.configure_check),
    "info": ("layers, shapes, params and MACs", commands.configure_info),
    "compile": ("lower a spec to PyTorch source or an ONNX model", commands.configure_compile),
    "compare": ("two specs' params and MACs side by side, and whether they are equal", commands.configure_compare),
    "paths": ("exact number of input-to-output paths and their lengths", pictures.configure_paths),
    "render": ("draw the architecture with graphviz (svg, png, pdf, dot)", pictures.configure_render),
    "train": ("train a spec on digits or your data (SGD, step or cosine schedule)", experiments.configure_train),
    "lesion": ("delete residual blocks of a trained net, one by one or k at random", experiments.configure_lesion),
    "reorder": ("run a trained net's blocks in another order, at a Kendall tau", experiments.configure_reorder),
    "effective-paths": ("gradient magnitude at the input by path length (Veit et al.)",
                        experiments.configure_effective_paths),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="archdsl", description="Describe, analyse and compile CNN architectures.")
    parser.add_argument("--version", action="version", version=f"archdsl {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, configure) in COMMANDS.items():
        configure(sub.add_parser(name, help=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # an ASCII terminal or a non-UTF-8 file name must not crash us
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    try:
        with paused_gc():  # one command, then the process ends: the collector has nothing to find
            return args.func(args)
    except ArchError as err:
        sys.stdout.flush()
        print(err.format(), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("archdsl: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `archdsl info ... | head`
        return 0
