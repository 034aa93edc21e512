"""The options every command takes, and the one loader that honours them all.

    -p NAME=VALUE (repeatable)   --input CxHxW   --column K   --drop BLOCK (repeatable)   --import-path DIR

A mistake in an option's value is a located error in a pseudo-file named after
the option (`<-p depth>:1:3`, `<--input>:1:1`) showing the value and a caret.
"""
from __future__ import annotations

import argparse

from ..architecture import Architecture, load
from ..elaborate.params import ParamText
from ..errors import ArchError, Span, register_source


def option_error(option: str, value: str, message: str, column: int = 1, width: int | None = None) -> ArchError:
    """An ArchError located in the option's value."""
    source = f"<{option}>"
    register_source(source, value)
    end = column + (width if width is not None else max(len(value) - column + 1, 1))
    return ArchError(message, Span(source, 1, column, 1, end))


def parse_param(text: str) -> tuple[str, ParamText]:
    """`depth=101` -> ("depth", ParamText("101")): the value is read by the parameter's type when the spec loads."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise option_error("-p", text, f"-p expects NAME=VALUE, got '{text}'")
    return name, ParamText(value, f"<-p {name}>")


def parse_inputs(texts: list[str]):
    """`--input 3x320x320` (the first input) and `--input depth=1x320x320` (any input by name)."""
    shapes: dict = {}
    for text in texts:
        name, sep, dims = text.partition("=")
        if sep and not name.strip().isidentifier():
            raise option_error("--input", text, f"--input expects CxHxW or NAME=CxHxW, got '{text}'")
        key = name.strip() if sep else None
        if key in shapes:
            raise option_error("--input", text, f"--input gives {'input ' + key if key else 'the first input'} twice")
        shapes[key] = parse_input(dims if sep else text)
    if not shapes:
        return None
    if list(shapes) == [None]:
        return shapes[None]
    if None in shapes:
        raise option_error("--input", texts[0], "with several --input options, name each: --input image=3x224x224")
    return shapes


def parse_input(text: str) -> tuple[int, ...]:
    parts = text.lower().replace(",", "x").split("x")
    if not all(p.strip().isdigit() and len(p.strip()) <= 9 for p in parts) or len(parts) not in (1, 3):
        raise option_error("--input", text, f"--input expects CxHxW such as 3x224x224 (or a feature count), "
                                            f"got '{text}'")
    dims = tuple(int(p) for p in parts)
    if any(d <= 0 for d in dims):
        raise option_error("--input", text, f"--input sizes must be positive, got '{text}'")
    return dims


def nonnegative_int(option: str):
    def convert(text: str) -> int:
        value = text.strip()
        if not value.isdigit() or len(value) > 18:
            raise option_error(option, text, f"{option} expects a non-negative integer, got '{text}'")
        return int(value)

    return convert


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="a .arch or .yaml spec file, or - for standard input")
    add_shared(p)


def add_shared(p: argparse.ArgumentParser) -> None:
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a spec parameter (repeatable), e.g. -p depth=101")
    p.add_argument("--input", action="append", default=[], metavar="[NAME=]CxHxW",
                   help="override the input shape, e.g. 3x320x320; several inputs: depth=1x320x320 (repeatable)")
    p.add_argument("--column", metavar="K",
                   help="fractal networks: keep only column K (1 = shallowest) at every join")
    p.add_argument("--drop", action="append", default=[], metavar="BLOCK",
                   help="replace a residual block by its shortcut first (repeatable), e.g. --drop layer2.3")
    p.add_argument("--import-path", action="append", default=[], metavar="DIR",
                   help="also allow imports from DIR (repeatable); by default imports must lie in the spec's "
                        "folder tree or archdsl's specs/")


def add_output(p: argparse.ArgumentParser, help_text: str) -> None:
    p.add_argument("-o", "--output", required=True, help=help_text)
    p.add_argument("--follow-symlinks", action="store_true",
                   help="an output path that is a symbolic link: write the file it points to (default: refuse)")


def load_arch(args, spec: str | None = None) -> Architecture:
    """The spec with every common option applied: parameters, input, import path, column, drops."""
    params = dict(parse_param(p) for p in args.param)
    shape = parse_inputs(args.input)
    try:
        arch = load(spec or args.spec, input_shape=shape, import_path=args.import_path, **params)
    except ArchError as err:
        if err.span is None and args.input:  # an input the spec does not have
            raise option_error("--input", args.input[-1], err.message) from None
        raise
    if args.column is not None:  # FractalNet: one column as a plain network
        k = nonnegative_int("--column")(args.column)
        arch = located(lambda: arch.extract_column(k), "--column", args.column)
    for block in args.drop:
        arch = located(lambda: arch.without(block), "--drop", block)
    return arch


def located(transform, option: str, value: str):
    """Run a transform; an error it cannot place in the spec is placed in the option's value."""
    try:
        return transform()
    except ArchError as err:
        if err.span is None:
            raise option_error(option, value, err.message) from None
        raise
