"""Max-placement by min-cost flow (OR-Tools ``SimpleMinCostFlow``).

Network: source -> child (capacity 1) -> (facility, care type) (cost = wish rank) -> sink
(capacity = free seats after locks). Every child also has an arc straight to the sink with
cost ``U`` larger than any possible rank sum, so the minimum cost first places the most
children and then minimises the rank sum; all costs stay far inside int64. Holders have no
such arc and only arcs to wishes up to the held one, so they keep their place or better.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from .instance import NCT, Instance


@dataclass(frozen=True)
class FlowResult:
    assign: list[int]
    feasible: bool


def allowed_wishes(inst: Instance, i: int) -> int:
    """Number of leading (ban-free) wishes child ``i`` may take (holders stop at the hold)."""
    h = inst.hold[i]
    if h < 0:
        return len(inst.wish_fac[i])
    return inst.wish_fac[i].index(h) + 1


def max_placement_flow(inst: Instance, wishes: Sequence[Sequence[int]] | None = None) -> FlowResult:
    """The max-placement optimum; ``wishes[i]``: the wish indices child i may take (default:
    all it may take, see ``allowed_wishes``)."""
    n = inst.n
    free_children = [i for i in range(n) if inst.lock[i] < 0]
    sink = 0
    source = 1
    child_node = {i: 2 + k for k, i in enumerate(free_children)}
    base = 2 + len(free_children)
    big = 1 + sum(max(inst.wish_rank[i], default=0) for i in free_children)
    tails: list[int] = []
    heads: list[int] = []
    caps: list[int] = []
    costs: list[int] = []
    arc_child: list[int] = []
    arc_fac: list[int] = []
    used_nodes: set[int] = set()
    for i in free_children:
        cn = child_node[i]
        tails.append(source)
        heads.append(cn)
        caps.append(1)
        costs.append(0)
        arc_child.append(-1)
        arc_fac.append(-1)
        for k in range(allowed_wishes(inst, i)) if wishes is None else wishes[i]:
            f = inst.wish_fac[i][k]
            node = f * NCT + inst.care[i]
            if inst.rcap[node] <= 0:
                continue
            used_nodes.add(node)
            tails.append(cn)
            heads.append(base + node)
            caps.append(1)
            costs.append(inst.wish_rank[i][k])
            arc_child.append(i)
            arc_fac.append(f)
        if inst.hold[i] < 0:
            tails.append(cn)
            heads.append(sink)
            caps.append(1)
            costs.append(big)
            arc_child.append(-1)
            arc_fac.append(-1)
    for node in sorted(used_nodes):
        tails.append(base + node)
        heads.append(sink)
        caps.append(inst.rcap[node])
        costs.append(0)
        arc_child.append(-1)
        arc_fac.append(-1)
    assign = list(inst.lock)
    if not free_children:
        return FlowResult(assign=assign, feasible=True)
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        np.array(tails, dtype=np.int32),
        np.array(heads, dtype=np.int32),
        np.array(caps, dtype=np.int64),
        np.array(costs, dtype=np.int64),
    )
    supplies = np.zeros(base + NCT * len(inst.fac_ids), dtype=np.int64)
    supplies[source] = len(free_children)
    supplies[sink] = -len(free_children)
    smcf.set_nodes_supplies(np.arange(len(supplies), dtype=np.int32), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        return FlowResult(assign=assign, feasible=False)
    flows = smcf.flows(np.arange(len(tails), dtype=np.int32))
    child_arr = np.array(arc_child, dtype=np.int64)
    fac_arr = np.array(arc_fac, dtype=np.int64)
    chosen = np.nonzero((flows > 0) & (child_arr >= 0))[0]
    for a in chosen.tolist():
        assign[int(child_arr[a])] = int(fac_arr[a])
    return FlowResult(assign=assign, feasible=True)
