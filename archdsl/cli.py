"""The `archdsl` command line.

    archdsl check SPEC                  parse, elaborate, verify; prints one line
    archdsl info SPEC [--json]          table of layers/blocks/stages with shapes, params, MACs
    archdsl paths SPEC [--json]         exact number of paths and their lengths (pictures_cli.py)
    archdsl render SPEC -o FILE         graphviz diagram: svg, png, pdf or dot (pictures_cli.py)

Every command takes `-p NAME=VALUE` (repeatable) and `--input CxHxW`. A bad
spec prints `file:line:col: error: ...`, the source line and a caret, and
exits with status 2.
"""
from __future__ import annotations

import argparse
import json
import sys

from .errors import ArchError

EXIT_BAD_INPUT = 2


def parse_param(text: str) -> tuple[str, object]:
    """`depth=101` -> ("depth", 101); values are spec literals, a bare word is a string."""
    from . import ast_nodes as A
    from .expressions import evaluate
    from .parser import parse_fragment

    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise ArchError(f"-p expects NAME=VALUE, got '{text}'")
    where = f"<-p {name}>"
    from .errors import register_source

    register_source(where, value)
    expr = parse_fragment(value.strip() or '""', "expr", where)
    if isinstance(expr, A.NameRef):
        return name, expr.name
    return name, evaluate(expr, {})


def parse_input(text: str) -> tuple[int, ...]:
    parts = text.lower().replace(",", "x").split("x")
    if not all(p.strip().isdigit() for p in parts) or len(parts) not in (1, 3):
        raise ArchError(f"--input expects CxHxW such as 3x224x224, got '{text}'")
    dims = tuple(int(p) for p in parts)
    if any(d <= 0 for d in dims):
        raise ArchError(f"--input sizes must be positive, got '{text}'")
    return dims


def _load(args):
    from .api import load

    params = dict(parse_param(p) for p in args.param)
    shape = parse_input(args.input) if args.input else None
    arch = load(args.spec, input_shape=shape, import_path=args.import_path, **params)
    if getattr(args, "column", None) is not None:  # FractalNet: one column as a plain network
        arch = arch.extract_column(args.column)
    return arch


# ---------------------------------------------------------------- commands


def cmd_check(args) -> int:
    from .ir import verify

    arch = _load(args)
    verify(arch.graph)
    print(f"{args.spec}: ok: {arch.name}, {len(arch.graph)} nodes, {arch.params:,} params, {arch.macs:,} MACs")
    return 0


def cmd_info(args) -> int:
    from .report import build_table, info_dict, totals_text
    from .structure_report import structure_lines

    color = sys.stdout.isatty()
    try:
        arch = _load(args)
    except ArchError as err:
        partial = err.partial
        if partial is None or args.json or len(partial.graph) <= 1:
            raise
        print(build_table(partial, args.level, args.elementwise, args.per_position, error=err).render(color))
        print(f"(stopped at the error below, after {len(partial.graph) - 1} layers)")
        raise
    if args.json:
        json.dump(info_dict(arch, elementwise=args.elementwise), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    print(build_table(arch, args.level, args.elementwise, args.per_position).render(color))
    print(totals_text(arch, args.elementwise))
    for line in structure_lines(arch):  # fractals, stochastic depth, weight sharing
        print(line)
    return 0


def cmd_compile(args) -> int:
    arch = _load(args)
    if args.target == "torch":
        from backends.torch_module import compile_to_file
    else:
        from backends.onnx_model import compile_to_file
    compile_to_file(arch, args.output, args)
    print(f"wrote {args.output} ({args.target}: {arch.name}, {arch.params:,} params)")
    return 0


# Commands other modules add: name -> (help, configure(parser)); each sets its own func.
COMMANDS: dict = {}

from .pictures_cli import COMMANDS as _PICTURE_COMMANDS  # noqa: E402  (paths, render: issue 7)

COMMANDS.update(_PICTURE_COMMANDS)
from .compare import COMMANDS as _COMPARE_COMMANDS  # noqa: E402  (compare: issue 3)

COMMANDS.update(_COMPARE_COMMANDS)


def _common(p: argparse.ArgumentParser):
    p.add_argument("spec", help="a .arch or .yaml spec file")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a spec parameter (repeatable), e.g. -p depth=101")
    p.add_argument("--input", metavar="CxHxW", help="override the input shape, e.g. 3x320x320")
    p.add_argument("--column", type=int, metavar="K",
                   help="fractal networks: keep only column K (1 = shallowest) at every join")
    p.add_argument("--import-path", action="append", default=[], metavar="DIR",
                   help="also allow imports from DIR (repeatable); by default imports must lie in the spec's "
                        "folder tree or archdsl's specs/")
    p.add_argument("--follow-symlinks", action="store_true",
                   help="an output path that is a symbolic link: write the file it points to (default: refuse)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="archdsl", description="Describe, analyse and compile CNN architectures.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("check", help="parse and verify a spec")
    _common(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("info", help="layers, shapes, params and MACs")
    _common(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--level", choices=("layer", "block", "stage"), default="layer", help="group rows (default: layer)")
    p.add_argument("--per-position", action="store_true", help="also show MACs per output position")
    p.add_argument("--elementwise", action="store_true",
                   help="also count elementwise work (BN, activations, pooling, adds, concats); see docs/language.md (Counting conventions)")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("compile", help="lower a spec to PyTorch source or an ONNX model")
    _common(p)
    p.add_argument("--target", choices=("torch", "onnx"), required=True)
    p.add_argument("-o", "--output", required=True, help="output file (.py for torch, .onnx for onnx)")
    p.add_argument("--fuse-bn", action="store_true", help="fold batch norm into the preceding conv (inference)")
    p.add_argument("--weights", help="a state_dict saved from the torch backend (onnx target)")
    p.add_argument("--seed", type=int, default=0, help="seed for the initialisation (default 0)")
    p.set_defaults(func=cmd_compile)

    for name, (help_text, configure) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        _common(p)
        configure(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ArchError as err:
        sys.stdout.flush()
        print(err.format(), file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # `archdsl info ... | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
