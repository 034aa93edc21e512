"""`archdsl train | lesion | reorder | effective-paths` end to end on a tiny net, their errors, and every
script in examples/experiments/ in its quick mode (the full reproductions' times: bench/bench_experiments.py)."""
import importlib
import json
import sys

import pytest

from conftest import ROOT

pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

TINY = ["specs/cifar/resnet20.arch", "-p", "depth=14", "--input", "3x8x8"]
EXAMPLES = ["degradation", "lesion", "reorder", "effective_paths"]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    from archdsl.cli import main

    folder = tmp_path_factory.mktemp("trained")
    path = folder / "w.pt"
    assert main(["train", *TINY, "--epochs", "1", "-o", str(path), "--history", str(folder / "h.json")]) == 0
    history = json.loads((folder / "h.json").read_text())
    assert len(history["train_error"]) == 1 and history["config"]["seed"] == 0
    return path


@pytest.mark.slow  # trains a net first; the commands' mechanics are test_experiments.py's, their errors below
def test_lesion_reorder_and_effective_paths_run_on_trained_weights(cli, weights, tmp_path):
    code, out, _ = cli("lesion", *TINY, "--weights", weights, "--random", "1,2", "--samples", "2", "--json",
                       "--plot", tmp_path / "l.png")
    data = json.loads(out)
    assert code == 0 and [d["block"] for d in data["deleted"]][:3] == ["layer1.0", "layer1.1", "layer2.0"]
    assert [d["downsampling"] for d in data["deleted"]] == [False, False, True, False, True, False]
    assert set(data["random"]) == {"1", "2"} and (tmp_path / "l.png").stat().st_size > 1000
    code, out, _ = cli("reorder", *TINY, "--weights", weights, "--tau", "1,0", "--samples", "2")
    assert code == 0 and "layer1.0..layer1.1" in out and "tau -1.000" not in out
    code, out, _ = cli("effective-paths", *TINY, "--weights", weights, "--samples", "2", "--batch", "8",
                       "--json")
    data = json.loads(out)
    assert code == 0 and data["units"] == 6 and data["path_counts"] == ["1", "6", "15", "20", "15", "6", "1"]


@pytest.mark.parametrize("argv, message", [
    (["lesion", "specs/cifar/plain20.arch", "--weights", "w.pt"], "breaks the chain"),
    (["reorder", "specs/cifar/resnet20.arch", "-p", "depth=8", "--weights", "w.pt"], "nothing to reorder"),
    (["effective-paths", "specs/cifar/plain20.arch"], "no residual units"),
    (["effective-paths", "specs/cifar/densenet40_k12.arch"], "no residual units"),
    (["effective-paths", "specs/cifar/polynet_small.arch"], "not those of its 9 residual units in series"),
    (["lesion", *TINY, "--weights", "missing.pt"], "<--weights>:1:1: error: --weights: no file"),
    (["train", *TINY, "-o", "/nonexistent/w.pt"], "does not exist"),
    (["train", *TINY, "-o", "w.pt", "--epochs", "zero"], "<--epochs>:1:1"),
    (["train", *TINY, "-o", "w.pt", "--data", "nothing.npz"], "<--data>:1:1"),
    (["train", "specs/resnet18.arch", "-p", "classes=5", "-o", "w.pt"], "10 classes but the spec's output has 5"),
])
def test_bad_input_is_a_located_error_and_exit_2(cli, argv, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [str(ROOT / a) if a.startswith("specs/") else a for a in argv]
    code, out, err = cli(*argv)
    assert code == 2 and message in err and "Traceback" not in err, err
    assert not (tmp_path / "w.pt").exists()


def test_the_lesion_error_of_a_plain_net_points_at_its_blocks(cli):
    code, _, err = cli("lesion", "specs/cifar/plain20.arch", "--weights", "w.pt")
    assert code == 2 and err.startswith("specs/families/cifar_resnet.arch:31:29: error: plain20 has no residual")


def test_a_tensor_file_trains_and_a_wrong_one_is_refused(cli, tmp_path):
    import numpy

    rng = numpy.random.default_rng(0)
    numpy.savez(tmp_path / "d.npz", x=rng.integers(0, 255, (40, 12, 12)).astype("uint8"), y=rng.integers(0, 3, 40))
    code, out, err = cli("train", *TINY, "--data", tmp_path / "d.npz", "--epochs", "1", "-o", tmp_path / "w.pt")
    assert code == 0 and "32 training and 8 test images, 3x8x8, 3 classes" in err
    numpy.savez(tmp_path / "bad.npz", x=rng.random((4, 3, 8, 8)), y=rng.random(4))
    code, _, err = cli("train", *TINY, "--data", tmp_path / "bad.npz", "-o", tmp_path / "w2.pt")
    assert code == 2 and "class indices" in err and not (tmp_path / "w2.pt").exists()


def _example(name):
    sys.path.insert(0, str(ROOT / "examples" / "experiments"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)


@pytest.mark.parametrize("name", [pytest.param(n, marks=() if n in ("degradation", "effective_paths") else pytest.mark.slow)
                                  for n in EXAMPLES])  # the lesion and reorder scripts' mechanics: test_experiments.py
def test_each_reproduction_runs_in_its_quick_mode(name, tmp_path):
    _example(name).main(["--quick", "--out", str(tmp_path)])
    assert (tmp_path / f"{name}.png").stat().st_size > 1000
    assert json.loads((tmp_path / f"{name}.json").read_text())["seconds"] > 0
