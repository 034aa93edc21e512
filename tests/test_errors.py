"""Every kind of bad input: file:line:col, the source line, a caret, what was expected, exit 2."""
import subprocess
import sys

import pytest
from pathlib import Path

from conftest import ROOT, located

GOOD_HEAD = "arch t\ninput 3x32x32\n"


CASES = {
    # name: (spec text, expected line, expected column, message fragment)
    "syntax": (GOOD_HEAD + "network {\n  conv(16, 3\n  relu\n}\n", 5, 3, "expected ')', ','"),
    "unknown_layer": (GOOD_HEAD + "network {\n  convv(16, 3)\n}\n", 4, 3, "unknown layer or block 'convv' (did you mean 'conv'?)"),
    "unknown_argument": (GOOD_HEAD + "network {\n  conv(16, 3, strid=2)\n}\n", 4, 15, "has no argument 'strid' (did you mean 'stride'?)"),
    "wrong_type": (GOOD_HEAD + 'network {\n  conv(16, "3")\n}\n', 4, 12, "argument 'kernel': expected a positive integer, got string \"3\""),
    "fraction": (GOOD_HEAD + "network {\n  conv(16 / 3, 3)\n}\n", 4, 8, "expected a positive integer, got the fraction"),
    "zero_channels": (GOOD_HEAD + "network {\n  conv(0, 3)\n}\n", 4, 8, "expected a positive integer, got 0"),
    "negative_size": (GOOD_HEAD + "network {\n  conv(16, 3, padding=-1)\n}\n", 4, 23, "expected a non-negative integer, got -1"),
    "window_too_big": (GOOD_HEAD + "network {\n  conv(16, 3, stride=2) x 5\n}\n", 4, 3, "smaller than the window"),
    "stride_not_dividing": ("arch t\ninput 3x15x15\nnetwork {\n  maxpool(2)\n}\n", 4, 3, "stride 2 does not divide the input height 15"),
    "division_by_zero": ("arch t\nparam k = 0\ninput 3x32x32\nnetwork {\n  conv(64 // k, 3)\n}\n", 5, 14, "division by zero"),
    "add_mismatch": (GOOD_HEAD + "network {\n  residual(shortcut=identity) { conv(32, 3, padding=1) }\n}\n", 4, 3,
                     "residual add: the branch gives 32x32x32 but the shortcut gives 3x32x32"),
    "concat_mismatch": (GOOD_HEAD + "network {\n  parallel { conv(8, 1)  conv(8, 3) }\n}\n", 4, 3,
                        "concat needs inputs that differ only in channels, got 8x32x32 (input 0) and 8x30x30 (input 1)"),
    "recursive_block": (GOOD_HEAD + "block a(c) { b(c) }\nblock b(c) { a(c) }\nnetwork {\n  a(3)\n}\n", 4, 14,
                        "a recursive block needs an `if` that stops it"),
    "unknown_name": (GOOD_HEAD + "network {\n  conv(widht, 3)\n}\n", 4, 8, "unknown name 'widht'"),
    "bad_map_key": ("arch t\nparam depth = 19\nlet blocks = {18: 2, 34: 3}[depth]\ninput 3x8x8\nnetwork { relu }\n", 3, 29,
                    "19 is not a key of this map; expected one of 18, 34"),
    "missing_arg": (GOOD_HEAD + "block b(c, k) { conv(c, k) }\nnetwork {\n  b(3)\n}\n", 5, 3, "block 'b' needs argument 'k'"),
    "duplicate_name": (GOOD_HEAD + "network {\n  a: relu\n  a: relu\n}\n", 5, 3, "name 'a' is already used"),
    "linear_needs_flat": (GOOD_HEAD + "network {\n  linear(10)\n}\n", 4, 3, "linear needs flat features, got 3x32x32 (add `flatten` before it"),
    "huge_repeat": (GOOD_HEAD + "network {\n  relu x 1000000000\n}\n", 4, 10, "repetition of 1,000,000,000 is absurd"),
    "huge_channels": (GOOD_HEAD + "network {\n  conv(1000000000000, 1)\n}\n", 4, 8, "is absurdly large"),
    "groups": (GOOD_HEAD + "network {\n  conv(16, 3, groups=2)\n}\n", 4, 3, "groups=2 does not divide the 3 input channels"),
    "stage_without_stride_param": (GOOD_HEAD + "block b(c) { conv(c, 3) }\nnetwork {\n  stage(stride=2) { b(8) }\n}\n", 5, 21,
                                   "block 'b' has no 'stride' parameter"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_spec_is_located(case, cli, spec_file):
    text, line, col, fragment = CASES[case]
    path = spec_file(text)
    code, out, err = cli("check", path)  # absurd sizes are refused before anything is built
    assert code == 2
    assert fragment in err, err
    located(err, path, line, col)


def test_import_cycle(cli, tmp_path):
    (tmp_path / "a.arch").write_text('import "b.arch"\narch a\ninput 3x8x8\nnetwork { relu }\n')
    (tmp_path / "b.arch").write_text('import "a.arch"\n')
    code, _, err = cli("check", tmp_path / "a.arch")
    assert code == 2 and "import cycle: a.arch -> b.arch -> a.arch" in err
    located(err, tmp_path / "b.arch", 1, 1)


def test_missing_import(cli, spec_file):
    path = spec_file('import "families/nothere.arch"\narch t\n')
    code, _, err = cli("check", path)
    assert code == 2 and "cannot find imported file 'families/nothere.arch'" in err
    located(err, path, 1, 1)


def test_missing_spec_file(cli):
    code, _, err = cli("info", "specs/nothere.arch")
    assert code == 2 and "cannot find spec file 'specs/nothere.arch'" in err


def test_unknown_cli_parameter(cli):
    code, _, err = cli("info", "specs/resnet50.arch", "-p", "dept=101")
    assert code == 2
    assert "unknown parameter 'dept' (did you mean 'depth'?)" in err


def test_cli_parameter_of_wrong_type(cli):
    code, _, err = cli("info", "specs/resnet50.arch", "-p", "depth=deep")
    assert code == 2 and "parameter 'depth' expects a int" in err


def test_cli_parameter_unsupported_value_points_at_spec(cli):
    code, _, err = cli("check", "specs/resnet50.arch", "-p", "depth=77")
    assert code == 2 and "77 is not a key of this map; expected one of 18, 34, 50, 101, 152" in err
    lines = Path("specs/families/resnet.arch").read_text().split("\n")
    located(err, "specs/families/resnet.arch", next(i for i, t in enumerate(lines, 1) if t.startswith("}[depth]")), 3)


def test_cifar_depth_must_be_6n_plus_2(cli):
    code, _, err = cli("check", "specs/cifar/resnet20.arch", "-p", "depth=21")
    assert code == 2 and "depth must be 6n + 2, got 21" in err


def test_yaml_errors_are_located(cli, spec_file):
    path = spec_file("arch: t\ninput: 3x8x8\nnetwork:\n  - conv(8, 3, padding=1)\n  - convv(8)\n", "t.yaml")
    code, _, err = cli("check", path)
    assert code == 2 and "unknown layer or block 'convv'" in err
    located(err, path, 5, 5)
    path = spec_file("arch: t\ninput: 3x8x8\nnetwork:\n  - conv(8, 3, padding=1\n", "u.yaml")
    code, _, err = cli("check", path)
    assert code == 2 and "syntax error: unexpected end of input" in err
    located(err, path, 4, 24)
    path = spec_file("arch: t\nnetwork: [relu\n", "v.yaml")
    code, _, err = cli("check", path)
    assert code == 2 and "YAML syntax error" in err


def test_info_shows_the_table_up_to_the_failing_layer(cli, spec_file):
    path = spec_file(GOOD_HEAD + "network {\n  c1: conv(16, 3, padding=1)\n  r1: relu\n  c2: conv(16, 3, groups=5)\n}\n")
    code, out, err = cli("info", path)
    assert code == 2
    assert "c1" in out and "r1" in out and "16x32x32" in out
    assert "c2" not in out
    assert "stopped at the error below, after 2 layers" in out
    located(err, path, 6, 7)


def test_no_traceback_and_exit_2_from_the_real_command(tmp_path):
    bad = tmp_path / "bad.arch"
    bad.write_text("arch bad\ninput 3x8x8\nnetwork { conv(8, 3 }\n")
    proc = subprocess.run([sys.executable, "-m", "archdsl.cli", "info", str(bad)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"{bad}:3:21: error: syntax error")
    assert "Traceback" not in proc.stderr and proc.stdout == ""
