"""A file's declarations (arch, import, param, let, input, block, network, output) -> its SpecFile.

Shared by both front ends: parser.py (.arch) and yaml_form.py (YAML) build the
declarations, this sorts them and rejects duplicates.
"""
from __future__ import annotations

import re

from . import ast as A
from ..errors import ArchError, Span

_OUTPUT_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


def _printable(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")


def build_spec_file(decls, file: str, span: Span) -> A.SpecFile:
    """Sort a file's declarations into a SpecFile, rejecting duplicates."""
    arch_name = None
    imports, params, lets, blocks = [], [], [], []
    input_decl = None
    more_inputs: tuple = ()
    network = None
    output = None
    seen: dict[str, Span] = {}

    def claim(kind: str, name: str, where: Span):
        key = f"{kind} {name}"
        if key in seen:
            raise ArchError(f"{kind} '{name}' is declared twice in this file (first at {seen[key]})", where)
        seen[key] = where

    for d in decls:
        if isinstance(d, A.Import):
            imports.append(d)
        elif isinstance(d, A.Param):
            claim("name", d.name, d.span)
            params.append(d)
        elif isinstance(d, A.Let):
            claim("name", d.name, d.span)
            lets.append(d)
        elif isinstance(d, A.BlockDef):
            claim("block", d.name, d.span)
            blocks.append(d)
        elif isinstance(d, A.InputDecl):
            if input_decl is not None:
                raise ArchError(f"input is declared twice (first at {input_decl.span})", d.span)
            input_decl = d
        elif isinstance(d, A.OutputDecl):
            if output is not None:
                raise ArchError(f"output is declared twice (first at {output.span})", d.span)
            output = _checked_outputs(d)
        elif d[0] == "inputs":
            if input_decl is not None:
                raise ArchError(f"input is declared twice (first at {input_decl.span})", d[2])
            _unique("input", [(decl.name, decl.span) for decl in d[1]])
            input_decl, more_inputs = d[1][0], d[1][1:]
        elif d[0] == "arch":
            if arch_name is not None:
                raise ArchError(f"arch name is declared twice (first at {arch_name[1]})", d[2])
            arch_name = (d[1], d[2])
        elif d[0] == "network":
            if network is not None:
                raise ArchError(f"network is declared twice (first at {network.span})", d[1].span)
            network = d[1]
    return A.SpecFile(file, arch_name, tuple(imports), tuple(params), tuple(lets), input_decl, tuple(blocks), network,
                      span, output, more_inputs)


def _checked_outputs(d: A.OutputDecl) -> A.OutputDecl:
    for entry in d.entries:
        if not _OUTPUT_KEY.fullmatch(entry.key):
            raise ArchError(f"'{_printable(entry.key)}' is not a valid output name (letters, digits, _, - "
                            "and ., e.g. out, aux, \"0\")", entry.span)
    _unique("output", [(entry.key, entry.span) for entry in d.entries])
    return d


def _unique(what: str, named: list[tuple[str, Span]]) -> None:
    first: dict[str, Span] = {}
    for name, span in named:
        if name in first:
            raise ArchError(f"{what} '{name}' is named twice (first at {first[name]})", span)
        first[name] = span
