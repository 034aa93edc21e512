"""A fuzz harness for archdsl's front end and analyses.

Every spec text, however mangled, must either be accepted (and then survive
`params`, `macs`, `paths()` and `summary()`) or be refused with an `ArchError`
that points at a real place in the source. The pieces:

    seeds.py     the spec files the mutations start from (specs/, examples/)
    mutate.py    character-, token- and line-level mutations of a seed text
    generate.py  random, mostly well-formed specs from a small grammar model (.arch and YAML)
    cases.py     case number -> spec text, deterministic given (seed, number)
    runner.py    run_case(): the pipeline in-process under a timeout, and the outcome's class
    pool.py      worker processes that run cases in parallel and kill a worker stuck in C code
    minimize.py  shrink a failing case while it fails the same way
    corpus.py    the regression corpus in tests/fuzz/regressions/

`tests/fuzz/test_fuzz.py` runs a fixed sample of about 2,000 cases and replays
the corpus; `bench/fuzz.py` is the full run (20,000+ cases), which also
writes every failing case into the corpus.
"""
