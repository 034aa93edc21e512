"""The full fuzz run: 20,000+ mutated and generated specs through archdsl, failures saved as regressions.

    python bench/fuzz.py                          # 20,000 cases, seed 1, 2 worker processes
    python bench/fuzz.py --cases 50000 --seed 7 --jobs 4
    python bench/fuzz.py --case 4711              # rerun one case and print its text and outcome

Each case runs in a worker process with a 10 s timeout (tests/fuzz/pool.py;
the harness is described in tests/fuzz/__init__.py). The script prints
markdown tables -- outcomes, failure classes, the slowest cases -- then
minimises every failing case (deleting lines while it fails the same way)
and writes it into tests/fuzz/regressions/ as <outcome>_<hash>.arch or .yaml,
which tests/fuzz/test_fuzz.py replays. Exit status 1 when a case failed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fuzz import corpus  # noqa: E402
from tests.fuzz.cases import PROFILES, make_case  # noqa: E402
from tests.fuzz.pool import Job, Pool, run_sample  # noqa: E402
from tests.fuzz.report import (classes_table, failure_classes, memory_table, outcome_table,  # noqa: E402
                               slowest_table)
from tests.fuzz.runner import run_case  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=20_000, help="number of cases (default 20,000)")
    p.add_argument("--seed", type=int, default=1, help="sample seed (default 1)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per case (default 10)")
    p.add_argument("--profile", choices=PROFILES, default="full", help="case mix (default full)")
    p.add_argument("--no-save", action="store_true", help="do not write failing cases into the corpus")
    p.add_argument("--minimize-budget", type=float, default=20.0, help="seconds to shrink each failing case")
    p.add_argument("--max-saved", type=int, default=5, help="cases saved per failure class (default 5; 0: all)")
    p.add_argument("--json", metavar="PATH", help="also write every case's outcome (no texts) to this JSON file")
    p.add_argument("--case", type=int, help="rerun this one case in-process and show it")
    return p.parse_args(argv)


def show_case(args) -> int:
    case = make_case(args.seed, args.case, args.profile)
    outcome = run_case(case.text, case.fmt, case.name, case.base_dir, args.timeout)
    print(f"case #{case.index}: {case.origin}\nformat {case.fmt}, name {case.name}, base_dir {case.base_dir}\n")
    print(case.text if len(case.text) < 20_000 else case.text[:20_000] + f"\n... ({len(case.text):,} characters)")
    print(f"\noutcome: {outcome}")
    if outcome.kind not in ("accepted", "hang"):
        print("\n" + explain(case))
    return 0 if outcome.passed else 1


def explain(case) -> str:
    """The formatted ArchError, or the traceback, of a refused case."""
    import traceback

    import archdsl

    try:
        arch = archdsl.loads(case.text, format=case.fmt, name=case.name, base_dir=case.base_dir)
        arch.params, arch.macs, arch.paths(), arch.summary()
    except archdsl.ArchError as err:
        return err.format()
    except Exception:  # noqa: BLE001 - shown, not handled
        return traceback.format_exc()
    return "accepted on the rerun"


def save_failures(results, args) -> list[Path]:
    """Minimise up to --max-saved cases of every failure class in the pool, and write them to the corpus."""
    limit = args.max_saved or None
    chosen = [r for members in failure_classes(results).values() for r in members[:limit]]
    if not chosen:
        return []
    jobs = []
    for r in chosen:
        hang = r.outcome.kind == "hang"  # each try of a hang takes REPLAY_TIMEOUT: a bigger budget
        jobs.append(Job("minimize", timeout=corpus.REPLAY_TIMEOUT, case=r.case, signature=r.outcome.signature(),
                        budget=args.minimize_budget * (4 if hang else 1)))
    print(f"\nminimising {len(jobs)} failing cases ...", file=sys.stderr)
    outcomes = {r.case.index: r.outcome for r in chosen}
    with Pool(args.jobs) as pool:
        shrunk = [(case, outcomes[job.case.index]) for job, case in pool.run(jobs)]
    return corpus.save(sorted(shrunk, key=lambda pair: pair[0].index))


def write_json(results, path: str) -> None:
    rows = [{"index": r.case.index, "origin": r.case.origin, "format": r.case.fmt, **asdict(r.outcome),
             "signature": r.outcome.signature()} for r in results]
    Path(path).write_text(json.dumps(rows, indent=0))


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.case is not None:
        return show_case(args)
    start = time.perf_counter()

    def progress(done, total):
        print(f"  {done:,} / {total:,} cases, {time.perf_counter() - start:.0f} s", file=sys.stderr)

    results = run_sample(args.cases, args.seed, args.jobs, args.timeout, args.profile, progress)
    elapsed = time.perf_counter() - start
    print(f"## archdsl fuzz: {args.cases:,} cases, seed {args.seed}, profile {args.profile}, {args.jobs} jobs, "
          f"timeout {args.timeout:g} s\n")
    print(outcome_table(results))
    print(f"\nrun time: {elapsed:.1f} s ({1000 * elapsed / max(1, len(results)):.1f} ms per case)\n")
    failed = [r for r in results if not r.outcome.passed]
    if failed:
        print("### failure classes\n")
        print(classes_table(results))
    print("\n### slowest refusals (must take < 1 s)\n")
    print(slowest_table(results, kinds=("located", "unlocated", "span_outside", "no_source_line", "misplaced")))
    print("\n### slowest accepted cases\n")
    print(slowest_table(results, kinds=("accepted",)))
    print("\n### slowest cases overall\n")
    print(slowest_table(results))
    print("\n### largest memory rises\n")
    print(memory_table(results))
    if args.json:
        write_json(results, args.json)
    if failed and not args.no_save:
        written = save_failures(results, args)
        print(f"\nwrote {len(written)} regression cases to {corpus.REGRESSIONS.relative_to(ROOT)}/")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
