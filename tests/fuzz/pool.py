"""Run fuzz jobs in worker processes, killing a worker that outlives its job's hard limit.

    with Pool(workers=2) as pool:
        for job, result in pool.run(jobs):
            ...

A job is a `Job`: build case `index` of sample `seed` and run it, run a given
`Case`, or minimise a given `Case`. Each worker runs one job at a time,
in-process (runner.run_case and its SIGALRM timeout); the parent gives every
job a hard limit a little beyond its own timeout, so a case stuck inside one C
call (which SIGALRM cannot interrupt) still ends: the worker is killed, the
case counts as a "hang" and a fresh worker takes its place.

Workers are forked (they inherit the loaded parser), work in the project
root (spans of imported files are relative to it) and have their address
space capped at `memory_mb`, so a runaway case fails with MemoryError
(an "uncaught" outcome) rather than taking the machine down.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import resource
import time
from dataclasses import dataclass
from multiprocessing.connection import wait

from .cases import Case, make_case
from .runner import Outcome, run_case
from .seeds import ROOT

GRACE = 0.5  # a job may run this share of its timeout (at least 1 s) past it before its worker is killed


@dataclass(frozen=True)
class Job:
    kind: str  # "sample" (build case `index` of sample `seed`), "case" (run `case`), "minimize" (shrink `case`)
    timeout: float
    seed: int = 0
    index: int = 0
    profile: str = "full"
    case: Case | None = None
    budget: float = 0.0  # minimize: seconds to spend
    signature: str = ""  # minimize: the failure to keep

    @property
    def hard_limit(self) -> float:
        own = (self.budget if self.kind == "minimize" else 0.0) + self.timeout
        return own + max(1.0, GRACE * self.timeout)


def execute(job: Job):
    """Do one job in this process: an (Case, Outcome) pair, or for "minimize" the smaller Case."""
    if job.kind == "minimize":
        from .minimize import minimize

        return minimize(job.case, job.signature, job.timeout, job.budget)
    case = job.case if job.kind == "case" else make_case(job.seed, job.index, job.profile)
    return case, run_case(case.text, case.fmt, case.name, case.base_dir, job.timeout)


def _worker(conn, memory_mb: int) -> None:
    os.chdir(ROOT)
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        job = conn.recv()
        if job is None:
            return
        try:
            conn.send(("ok", execute(job)))
        except BaseException as err:  # noqa: BLE001 - a harness bug must not look like a hang
            conn.send(("error", f"{type(err).__name__}: {err}"))


def warm_up() -> None:
    """Load the parser and the analyses once, before forking, so every worker starts warm."""
    run_case("arch w\ninput 3x4x4\nnetwork { conv(2, 3, padding=1) relu }\n", "arch", "<warm-up>", str(ROOT))


class _Worker:
    def __init__(self, ctx, memory_mb: int):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child, memory_mb), daemon=True)
        self.process.start()
        child.close()
        self.job: Job | None = None
        self.started = 0.0

    def give(self, job: Job) -> None:
        self.job, self.started = job, time.monotonic()
        self.conn.send(job)

    def overdue(self) -> bool:
        return self.job is not None and time.monotonic() - self.started > self.job.hard_limit

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.kill()


class Pool:
    """`workers` forked processes running Jobs; see the module docstring."""

    def __init__(self, workers: int = 2, memory_mb: int = 4096):
        warm_up()
        self.ctx = mp.get_context("fork")
        self.memory_mb = memory_mb
        self.workers = [_Worker(self.ctx, memory_mb) for _ in range(max(1, workers))]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for w in self.workers:
            w.stop()

    def run(self, jobs):
        """Yield (job, result) for every job, in the order they finish."""
        pending = iter(jobs)
        busy: dict = {}
        exhausted = False
        while True:
            for w in self.workers:
                if w.job is None and not exhausted:
                    job = next(pending, None)
                    if job is None:
                        exhausted = True
                    else:
                        w.give(job)
                        busy[w.conn] = w
            if not busy:
                return
            for conn in wait(list(busy), timeout=0.25):
                w = busy.pop(conn)
                job, w.job = w.job, None
                try:
                    status, value = conn.recv()
                except EOFError:  # the worker died (the kernel's OOM killer, a crash in C)
                    status, value = "died", "the worker process died"
                    self._replace(w)
                yield job, self._result(job, status, value, time.monotonic() - w.started)
            for w in list(busy.values()):
                if w.overdue():
                    del busy[w.conn]
                    job, w.job = w.job, None
                    self._replace(w)
                    yield job, self._result(job, "killed", "", time.monotonic() - w.started)

    def _replace(self, w: _Worker) -> None:
        w.kill()
        self.workers[self.workers.index(w)] = _Worker(self.ctx, self.memory_mb)

    @staticmethod
    def _result(job: Job, status: str, value, seconds: float):
        if status == "ok":
            return value
        if job.kind == "minimize":
            return job.case  # could not shrink it: keep the case as it was
        case = job.case if job.kind == "case" else make_case(job.seed, job.index, job.profile)
        if status == "killed":
            outcome = Outcome("hang", seconds, stage="killed: stuck in C code past the alarm")
        elif status == "died":
            outcome = Outcome("uncaught", seconds, error_type="WorkerDied", message=value, where="?")
        else:
            raise RuntimeError(f"fuzz harness error on {job}: {value}")
        return case, outcome


@dataclass(frozen=True)
class Result:
    """One case's outcome; `case` keeps its text only when the case failed."""

    case: Case
    outcome: Outcome


def run_sample(cases: int, seed: int, jobs: int = 2, timeout: float = 10, profile: str = "full",
               progress=None) -> list[Result]:
    """Run cases 0 .. cases-1 of sample `seed`; `progress(done, total)` is called every 500 cases."""
    return run_jobs([Job("sample", timeout, seed=seed, index=i, profile=profile) for i in range(cases)], jobs,
                    progress)


def run_cases(cases, jobs: int = 2, timeout: float = 10, progress=None) -> list[Result]:
    """Run given Cases (the regression corpus)."""
    return run_jobs([Job("case", timeout, case=c) for c in cases], jobs, progress)


def run_jobs(jobs: list[Job], workers: int, progress=None) -> list[Result]:
    results = []
    with Pool(workers) as pool:
        for case, outcome in (value for _, value in pool.run(jobs)):
            if outcome.passed:
                case = Case(case.index, case.origin, "", case.fmt, case.name, case.base_dir)
            results.append(Result(case, outcome))
            if progress and len(results) % 500 == 0:
                progress(len(results), len(jobs))
    results.sort(key=lambda r: r.case.index)
    return results
