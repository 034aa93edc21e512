"""Markdown tables of a fuzz run: outcomes, failure classes, slowest cases."""
from __future__ import annotations

from collections import Counter, defaultdict

from .runner import OUTCOMES


def outcome_table(results) -> str:
    counts = Counter(r.outcome.kind for r in results)
    rows = ["| outcome | cases |", "|---|---:|"]
    rows += [f"| {kind} | {counts[kind]:,} |" for kind in OUTCOMES if counts[kind] or kind in ("accepted", "located")]
    rows.append(f"| **total** | {len(results):,} |")
    return "\n".join(rows)


def failure_classes(results) -> dict[str, list]:
    """signature -> the failing results with it, largest class first."""
    groups = defaultdict(list)
    for r in results:
        if not r.outcome.passed:
            groups[r.outcome.signature()].append(r)
    return dict(sorted(groups.items(), key=lambda kv: -len(kv[1])))


def classes_table(results, limit: int = 60) -> str:
    rows = ["| cases | failure class | example case | message |", "|---:|---|---|---|"]
    for signature, members in list(failure_classes(results).items())[:limit]:
        first = members[0]
        message = (first.outcome.message or first.outcome.detail).replace("|", "\\|").replace("\n", "\\n")[:90]
        detail = f" ({first.outcome.detail[:70]})" if first.outcome.detail and first.outcome.message else ""
        rows.append(f"| {len(members):,} | `{_cell(signature)}` | #{first.case.index} | {_cell(message + detail)} |")
    return "\n".join(rows)


def slowest_table(results, n: int = 15, kinds=None) -> str:
    chosen = [r for r in results if kinds is None or r.outcome.kind in kinds]
    chosen.sort(key=lambda r: -r.outcome.seconds)
    rows = ["| seconds | outcome | case | origin | peak RSS rise (MB) |", "|---:|---|---|---|---:|"]
    for r in chosen[:n]:
        rows.append(f"| {r.outcome.seconds:.2f} | {r.outcome.kind} | #{r.case.index} | {_cell(r.case.origin[:90])} | "
                    f"{r.outcome.rss_rise_kb / 1024:.0f} |")
    return "\n".join(rows)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "\\n").replace("`", "'")


def memory_table(results, n: int = 10) -> str:
    """The cases that raised a worker's peak memory most."""
    chosen = sorted(results, key=lambda r: -r.outcome.rss_rise_kb)[:n]
    rows = ["| peak RSS rise (MB) | worker peak (MB) | outcome | case | origin |", "|---:|---:|---|---|---|"]
    for r in chosen:
        rows.append(f"| {r.outcome.rss_rise_kb / 1024:.0f} | {r.outcome.maxrss_kb / 1024:.0f} | {r.outcome.kind} | "
                    f"#{r.case.index} | {_cell(r.case.origin[:90])} |")
    return "\n".join(rows)
