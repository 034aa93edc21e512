"""No input breaks it: the probes of issue 15, each a located error (or a clean result), never a traceback.

The budgets' speed and memory are measured by bench/bench_budgets.py, not here.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import archdsl
from archdsl.errors import ArchError
from conftest import ROOT, located

HEAD = "arch t\ninput 3x8x8\n"


def refused(text, fragment, fmt="arch"):
    with pytest.raises(ArchError) as info:
        arch = archdsl.loads(text, format=fmt)
        arch.params, arch.macs, arch.paths(), arch.summary()
    err = info.value
    assert fragment in err.message, err.message
    assert err.span is not None and err.span.line >= 1
    return err


@pytest.mark.parametrize("text, fragment", [
    (HEAD + "network {" + "{ " * 300 + "relu" + " }" * 300 + "}\n", "nest more than 100 levels"),
    (HEAD + "network {" + "residual { " * 300 + "relu" + " }" * 300 + "}\n", "nest more than 100 levels"),
    (HEAD + "let a = " + "(" * 3000 + "1" + ")" * 3000 + "\nnetwork { relu }\n", "nest more than 100 levels"),
    (HEAD + "let a = " + "not " * 2000 + "true\nnetwork { relu }\n", "nests more than 100 levels"),
    (HEAD + "network { if false { relu } " + "else if false { relu } " * 1000 + "}\n", "nests more than 100 levels"),
    (HEAD + "".join(f"block b{i}() {{ b{i + 1} }}\n" for i in range(2000)) + "block b2000() { relu }\n"
     "network { b0 }\n", "block calls nest more than"),
    (HEAD + "let a = " + "9" * 5000 + "\nnetwork { relu }\n", "5,000 digits is too large"),
    (HEAD + "let a = int(1e308 * 10)\nnetwork { relu }\n", "not a finite number"),
    (HEAD + "let a = floor(1e300 * 1e300)\nnetwork { relu }\n", "not a finite number"),
    (HEAD + "let a = round(1.5, 1.5)\nnetwork { relu }\n", "must be an integer"),
    (HEAD + "let a = abs(1, 2)\nnetwork { relu }\n", "abs() takes one number"),
    (HEAD + "let a = int(1, 2)\nnetwork { relu }\n", "int() takes one number"),
    (HEAD + "let a = {1: 2}[{1: 2}]\nnetwork { relu }\n", "a map key must be"),
    (HEAD + "let a = range(1000000000000)\nnetwork { relu }\n", "too long"),
    (HEAD + "network { { { } x 100000 } x 100000 }\n", "elaboration steps"),
    (HEAD + "network { for i in range(100000) { for j in range(100000) { } } }\n", "elaboration steps"),
    (HEAD + "network { { relu x 100000 } x 100000 }\n", "nodes"),
    (HEAD + "network { dense { conv(1, 1) x 5000 } }\n", "steps"),
    (HEAD + "let w = [round(log(j + 2) / log(2.25)) for j in range(100000)]\nnetwork { relu }\n", "list work"),
    (HEAD + 'let s0 = "ab"\n' + "".join(f"let s{i + 1} = s{i} + s{i}\n" for i in range(30)) + "network { relu }\n",
     "too long"),
    (HEAD + "network { input: relu }\n", "name 'input' is already used"),
    pytest.param(HEAD.replace("3x8x8", "16x8x8") + "block b() { residual { conv(16, 3, padding=1) } }\n"
                 "network { b x 30000 }\n", "path statistics", marks=pytest.mark.slow),  # builds 90,000 nodes first
])
def test_probe_is_a_located_error(text, fragment):
    refused(text, fragment)


def test_empty_repetitions_within_the_budget_are_counted_not_run():
    # three calls of a block holding `{ } x 100000` (a fuzz case that took 2.2 s and 150 MB): 300,000 steps
    arch = archdsl.loads(HEAD + "block b() { { } x 100000 relu }\nnetwork { b b b }\n")
    assert len(arch.graph) == 4


@pytest.mark.parametrize("value, fragment", [
    ("012", "octal"), ("1:30", "sexagesimal"), (".inf", "not a finite number"), (".nan", "not a finite number"),
    ("!!int abc", "'abc' is not an integer"), ("!!bool abc", "not a boolean"), ("1e999", "too large for a float"),
    ("0x" + "f" * 5000, "digits is too large"), ("9" * 30, "number too large"),
])
def test_yaml_scalars_are_read_or_refused_at_their_place(value, fragment):
    err = refused(f"arch: t\ninput: 3x8x8\nparams: {{a: {value}}}\nnetwork: [relu]\n", fragment, "yaml")
    assert (err.span.line, err.span.column) == (3, 13)


@pytest.mark.parametrize("text, fragment", [
    ("a: &a [*a]\n", "refers to its own anchor"),
    ("arch: t\x01\n", "cannot read character"),
    ("network: " + "[" * 100 + "]" * 100 + "\n", "nests lists and mappings more than"),
    ("arch: t\ninput: 3x8x8\nnetwork:\n  - !!python/object:os.system x\n", "unsupported YAML tag"),
])
def test_bad_yaml_is_a_located_error(text, fragment):
    refused(text, fragment, "yaml")


@pytest.mark.parametrize("text, line, col", [
    ("arch t\ninput 3x8x8\nnetwork {\x0c relu\n conv(\n}\n", 5, 1),  # a form feed is no line break for .arch
    ("arch t\r\ninput 3x8x8\r\nnetwork {\r\n relu\r\n conv(\r\n}\r\n", 6, 1),
    ("arch t\ninput 3x8x8\nnetwork {\u2028 relu\n}\n", 3, 10),
])
def test_carets_stay_on_the_right_line(spec_file, cli, text, line, col):
    path = spec_file(text)
    code, _, err = cli("check", path)
    assert code == 2
    located(err, path, line, col)


def test_yaml_line_breaks_count_as_yaml_counts_them(spec_file, cli):
    path = spec_file("arch: t\rinput: 3x8x8\rnetwork:\r  - convv(3)\r", "t.yaml")
    code, _, err = cli("check", path)
    assert code == 2 and err.startswith(f"{path}:4:5:") and "    4 |   - convv(3)" in err


def test_a_huge_onnx_export_is_refused_before_allocating(tmp_path):
    pytest.importorskip("onnx")
    arch = archdsl.loads("arch t\ninput 4000000\nnetwork { linear(4000000) }\n")
    with pytest.raises(ArchError, match="an ONNX export stores at most"):
        arch.to_onnx(tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_garbage_weights_file_is_an_error(cli, tmp_path):
    (tmp_path / "w.npz").write_bytes(b"not a zip at all")
    (tmp_path / "w.pt").write_bytes(b"\x80\x04garbage")
    for name in ("w.npz", "w.pt"):
        code, _, err = cli("compile", "specs/cifar/resnet20.arch", "--target", "onnx", "--weights", tmp_path / name,
                           "-o", tmp_path / "m.onnx")
        assert code == 2 and "cannot read weights" in err and "Traceback" not in err, err
    np.savez(tmp_path / "ints.npz", **{"conv1.weight": np.zeros((16, 3, 3, 3), np.int64)})
    code, _, err = cli("compile", "specs/cifar/resnet20.arch", "--target", "onnx", "--weights", tmp_path / "ints.npz",
                       "-o", tmp_path / "m.onnx")
    assert code == 2 and ("dtype" in err or "do not fit" in err)
    assert not (tmp_path / "m.onnx").exists()


def test_a_file_name_that_is_not_utf8_gets_no_traceback(tmp_path):
    name = os.fsencode(tmp_path) + b"/caf\xe9.arch"
    with open(name, "w") as f:
        f.write("arch t\ninput 3x8x8\nnetwork { convv(3) }\n")
    proc = subprocess.run([sys.executable, "-m", "archdsl.cli", "check", name], cwd=ROOT, capture_output=True)
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr and b"unknown layer" in proc.stderr


def test_ctrl_c_ends_with_one_line(monkeypatch, capsys):
    from archdsl.cli import commands, main

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "cmd_check", interrupted)
    assert main(["check", "specs/cifar/resnet20.arch"]) == 130
    assert capsys.readouterr().err.strip() == "archdsl: interrupted"
