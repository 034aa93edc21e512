"""Fuzzing: every mangled or random spec is accepted or refused with a located ArchError.

`test_fuzz_sample` runs a fixed sample of 2,000 cases (mutations of every
spec and example, generated specs, both formats) in two worker processes (one
under `make test`, whose other xdist worker has the second core) in well under
a minute; `test_regressions_replay` replays the corpus that bench/fuzz.py writes.
The full 20,000-case run is `make fuzz` (bench/fuzz.py, ~2.5 min on 2 cores; exit
status 1 on any failure), kept out of `make test` so the suite stays under 6 min.
A failure message lists each failure class with a case number:
`python bench/fuzz.py --case N --seed S --profile quick` shows that case.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

import archdsl
from archdsl.errors import ArchError

from . import corpus
from .cases import make_case
from .generate import generate
from .mutate import mutate
from .pool import run_cases, run_sample
from .report import classes_table, failure_classes, outcome_table
from .runner import FAILURES, run_case
from .seeds import load_seeds

SAMPLE_SEED = 2024
SAMPLE_CASES = 2_000
SAMPLE_TIMEOUT = 5.0  # seconds per case: a refusal must take < 1 s, a 100,000-node net < 5 s (bench/bench_budgets.py)
CONFIRM_TIMEOUT = 10.0  # a case over SAMPLE_TIMEOUT is rerun with this before it counts as a hang (a loaded
#                        machine may be slow)
JOBS = 1 if os.environ.get("PYTEST_XDIST_WORKER") else 2  # under `make test` the other xdist worker has the second core


def assert_no_failures(results, rerun: str) -> None:
    classes = failure_classes(results)
    counts = {kind: sum(r.outcome.kind == kind for r in results) for kind in FAILURES}
    assert not classes, (f"{sum(map(len, classes.values()))} failing cases {counts}\n\n{outcome_table(results)}\n\n"
                         f"{classes_table(results)}\n\nrerun one: {rerun}")


def confirm_hangs(results):
    """Rerun the cases that ran out of time with CONFIRM_TIMEOUT: a big spec may be slow, yet accepted."""
    slow = [r.case for r in results if r.outcome.kind == "hang"]
    rerun = {r.case.index: r for r in run_cases(slow, JOBS, CONFIRM_TIMEOUT)} if slow else {}
    return [rerun.get(r.case.index, r) for r in results]


def test_fuzz_sample():
    results = confirm_hangs(run_sample(SAMPLE_CASES, SAMPLE_SEED, JOBS, SAMPLE_TIMEOUT, profile="quick"))
    assert len(results) == SAMPLE_CASES
    assert_no_failures(results, f"python bench/fuzz.py --seed {SAMPLE_SEED} --profile quick --timeout "
                                f"{SAMPLE_TIMEOUT:g} --case N")


def _hang(case) -> bool:
    return Path(case.origin).name.startswith("hang_")


@pytest.mark.parametrize("which", ["refusals and crashes", pytest.param("former hangs", marks=pytest.mark.slow)])
def test_regressions_replay(which):
    """Every saved case passes; the former hangs (100,000-node nets that now take ~2 s each) in the slow tier."""
    cases = [c for c in corpus.load() if _hang(c) == (which == "former hangs")]
    if not cases:
        pytest.skip("no such regression cases")
    # a former hang is a 100,000-node net (~2 s on a quiet machine): a generous limit still catches a real hang
    # (they ran past 60 s) without failing on a loaded one; the speed itself is bench/bench_budgets.py's
    timeout = corpus.REPLAY_TIMEOUT if which == "refusals and crashes" else 30.0
    results = run_cases(cases, JOBS, timeout=timeout)
    failing = [f"{r.case.origin}: {r.outcome.kind} {r.outcome.signature()}" for r in results if not r.outcome.passed]
    assert not failing, f"{len(failing)} of {len(cases)} regression cases fail:\n" + "\n".join(failing)


# ---------------------------------------------------------------- the harness itself


def test_cases_are_reproducible():
    for index in (0, 1, 500, 1999):
        assert make_case(SAMPLE_SEED, index, "quick") == make_case(SAMPLE_SEED, index, "quick")
    assert generate(random.Random(5), "yaml") == generate(random.Random(5), "yaml")
    seed = load_seeds()[0]
    assert mutate(seed.text, random.Random(9))[0] == mutate(seed.text, random.Random(9))[0]


def test_sample_mutates_every_seed():
    seeds = load_seeds()
    origins = {make_case(SAMPLE_SEED, i, "quick").origin.split(":")[0] for i in range(len(seeds))}
    assert origins == {f"mutate {s.name}" for s in seeds}
    assert {s.fmt for s in seeds} == {"arch", "yaml"}


@pytest.mark.slow  # every spec is loaded by test_all_specs already; this checks the harness on all 130 seeds
def test_every_seed_is_accepted_unchanged():
    for s in load_seeds():
        assert run_case(s.text, s.fmt, s.name, s.base_dir).kind == "accepted", s.name


def test_generated_specs_are_mostly_accepted():
    for fmt in ("arch", "yaml"):
        kinds = [run_case(generate(random.Random(i), fmt, mistakes=False), fmt, f"specs/g.{fmt}", "specs").kind
                 for i in range(40)]
        assert kinds.count("accepted") >= 30, (fmt, kinds)


def test_runner_classifies():
    head = "arch t\ninput 3x8x8\n"
    assert run_case(head + "network { relu }\n", "arch", "t.arch", "specs").kind == "accepted"
    refused = run_case(head + "network { convv(8, 3) }\n", "arch", "t.arch", "specs")
    assert (refused.kind, refused.span[1:3]) == ("located", (3, 11)), refused
    assert run_case(head + "network { relu x 100000 }\n", "arch", "t.arch", "specs", timeout=0.001).kind == "hang"


def test_generated_forms_agree():
    """The .arch and YAML renderings of one generated spec are the same network (a differential check)."""
    for i in range(40):
        texts = {fmt: generate(random.Random(i), fmt, mistakes=False) for fmt in ("arch", "yaml")}
        try:
            archs = {fmt: archdsl.loads(t, fmt, name=f"specs/g.{fmt}", base_dir="specs") for fmt, t in texts.items()}
        except ArchError:
            continue
        a, y = archs["arch"], archs["yaml"]
        assert (a.params, a.macs, len(a.graph), a.paths().total) == (y.params, y.macs, len(y.graph), y.paths().total), i
