"""The `archdsl info` lines and JSON keys for fractals, stochastic depth and weight sharing.

Printed after the totals, only for networks that have these structures:

    fractal block1.fractal .. block5.fractal (5 alike): 3 columns, join mean, drop-path mix (group level1); column depths 1, 2, 4; joins of 2, 3 inputs
    fractal group level1 (5 fractals): column depths summed over them 5, 10, 20
    stochastic depth: 54 blocks, survival 0.9907 -> 0.5; expected 40.25 of 54 blocks, expected depth 82.50 of 110
    weight sharing: 196 nodes reuse the tensors of 12 owners (params counted once; 1,560,128 not counted again)
"""
from __future__ import annotations

from ..passes import fractal_summaries, sharing_summary, stochastic_depth_summary


def structure_info(arch) -> dict:
    """Extra `info --json` keys: "fractals", "stochastic_depth", "weight_sharing" (only when present)."""
    info: dict = {}
    fractals = fractal_summaries(arch.graph)
    if fractals:
        info["fractals"] = [
            {"name": f.name, "columns": f.columns, "join": f.join, "drop_path": f.drop, "group": f.group,
             "column_depths": list(f.column_depths), "join_inputs": list(f.joins)}
            for f in fractals
        ]
    sd = stochastic_depth_summary(arch.graph)
    if sd is not None:
        info["stochastic_depth"] = {"blocks": sd.blocks, "expected_blocks": sd.expected_blocks,
                                    "survival_first": sd.survivals[0], "survival_last": sd.survivals[-1],
                                    "depth": sd.depth, "expected_depth": sd.expected_depth}
    ws = sharing_summary(arch.graph, arch.shapes)
    if ws is not None:
        info["weight_sharing"] = {"shared_nodes": ws.shared_nodes, "owners": ws.owners,
                                  "params_not_repeated": ws.params_not_repeated}
    return info


def structure_lines(arch) -> list[str]:
    info = structure_info(arch)
    lines = []
    fractals = info.get("fractals", [])
    for names, f in _alike(fractals):
        drop = f", drop-path {f['drop_path']} (group {f['group']})" if f["drop_path"] != "none" else ""
        joins = f"; joins of {', '.join(map(str, f['join_inputs']))} inputs" if f["join_inputs"] else ""
        where = names[0] if len(names) == 1 else f"{names[0]} .. {names[-1]} ({len(names)} alike)"
        lines.append(f"fractal {where}: {f['columns']} columns, join {f['join']}{drop}; "
                     f"column depths {', '.join(map(str, f['column_depths']))}{joins}")
    for group, depths, count in _through_groups(fractals):
        lines.append(f"fractal group {group} ({count} fractals): column depths summed over them "
                     f"{', '.join(map(str, depths))}")
    sd = info.get("stochastic_depth")
    if sd:
        lines.append(f"stochastic depth: {sd['blocks']} blocks, survival {sd['survival_first']:.4g} -> "
                     f"{sd['survival_last']:.4g}; expected {sd['expected_blocks']:.2f} of {sd['blocks']} blocks, "
                     f"expected depth {sd['expected_depth']:.2f} of {sd['depth']}")
    ws = info.get("weight_sharing")
    if ws:
        lines.append(f"weight sharing: {ws['shared_nodes']} nodes reuse the tensors of {ws['owners']} owners "
                     f"(params counted once; {ws['params_not_repeated']:,} not counted again)")
    return lines


def _alike(fractals: list[dict]) -> list[tuple[list[str], dict]]:
    """Runs of consecutive fractals with the same structure: ([names], the first's entry)."""
    runs: list[tuple[list[str], dict]] = []
    for f in fractals:
        key = {k: v for k, v in f.items() if k != "name"}
        if runs and {k: v for k, v in runs[-1][1].items() if k != "name"} == key:
            runs[-1][0].append(f["name"])
        else:
            runs.append(([f["name"]], f))
    return runs


def _through_groups(fractals: list[dict]) -> list[tuple[str, list[int], int]]:
    """For each drop-path group of several same-width fractals: column depths summed over them."""
    result = []
    for group in dict.fromkeys(f["group"] for f in fractals):
        members = [f for f in fractals if f["group"] == group]
        if len(members) > 1 and len({f["columns"] for f in members}) == 1:
            sums = [sum(f["column_depths"][c] for f in members) for c in range(members[0]["columns"])]
            result.append((group, sums, len(members)))
    return result
