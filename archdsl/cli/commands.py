"""The commands `check`, `info`, `compile` and `compare`."""
from __future__ import annotations

import argparse
import json
import sys

from ..errors import ArchError
from ..ir import verify
from ..report.compare import compare, comparison_text
from ..report.tables import build_table, info_dict, outputs_text, totals_text
from ..report.structure import structure_lines
from ..targets import OnnxOptions, OutputOptions, TorchOptions, backend
from .options import add_common, add_output, load_arch, nonnegative_int, option_error

EXIT_DIFFERENT = 1  # compare: the specs differ (like cmp)


def cmd_check(args) -> int:
    arch = load_arch(args)
    verify(arch.graph)
    if args.dump:
        sys.stdout.write(arch.dump())
        return 0
    print(f"{args.spec}: ok: {arch.name}, {len(arch.graph)} nodes, {arch.params:,} params, {arch.macs:,} MACs")
    return 0


def cmd_info(args) -> int:
    color = sys.stdout.isatty()
    try:
        arch = load_arch(args)
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
    print(outputs_text(arch), end="")
    for line in structure_lines(arch):  # fractals, stochastic depth, weight sharing
        print(line)
    return 0


def cmd_compile(args) -> int:
    arch = load_arch(args)
    output = OutputOptions(args.follow_symlinks)
    if args.target == "torch":
        options = TorchOptions(fuse_bn=args.fuse_bn, flat=args.flat)
    else:
        options = OnnxOptions(weights=args.weights, fuse_bn=args.fuse_bn, seed=nonnegative_int("--seed")(args.seed),
                              functions=args.onnx_functions)
    if args.output == "-":  # standard output: the torch source (ONNX is binary: name a file)
        if args.target != "torch":
            raise option_error("-o", "-", "-o -: standard output takes the torch target's source; "
                                          "for ONNX name a file")
        sys.stdout.write(backend("torch").source(arch, options))
        return 0
    backend(args.target).write(arch, args.output, options, output)
    print(f"wrote {args.output} ({args.target}: {arch.name}, {arch.params:,} params)")
    return 0


def cmd_compare(args) -> int:
    a, b = load_arch(args), load_arch(args, args.other)
    result = compare(a, b)
    print(comparison_text(result))
    return 0 if result.equal else EXIT_DIFFERENT


def configure_check(p):
    add_common(p)
    p.add_argument("--dump", action="store_true", help="print the IR as text (nodes, structure records, modules)")
    p.set_defaults(func=cmd_check)


def configure_info(p):
    add_common(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--level", choices=("layer", "block", "stage"), default="layer", help="group rows (default: layer)")
    p.add_argument("--per-position", action="store_true", help="also show MACs per output position")
    p.add_argument("--elementwise", action="store_true",
                   help="also count elementwise work (BN, activations, pooling, adds, concats); see "
                        "docs/language.md (Counting conventions)")
    p.set_defaults(func=cmd_info)


def configure_compile(p):
    add_common(p)
    p.add_argument("--target", choices=("torch", "onnx"), required=True)
    add_output(p, "output file (.py for torch, .onnx for onnx); - prints the torch source")
    p.add_argument("--fuse-bn", action="store_true", help="fold batch norm into the preceding conv (inference)")
    p.add_argument("--flat", action="store_true",
                   help="torch: one straight-line class (every layer assigned and called in turn) instead of a "
                        "class per block template")
    p.add_argument("--weights", help="a state_dict saved from the torch backend (.pt, or .npz; onnx target)")
    p.add_argument("--seed", default="0", help="seed for the initialisation (default 0)")
    p.add_argument("--onnx-functions", action=argparse.BooleanOptionalAction, default=True,
                   help="onnx: one local function per block template, so viewers show block calls (default: on)")
    p.set_defaults(func=cmd_compile)


def configure_compare(p):
    p.add_argument("spec", help="the first spec")
    p.add_argument("other", help="the second spec")
    from .options import add_shared

    add_shared(p)
    p.set_defaults(func=cmd_compare)
