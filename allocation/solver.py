"""Orchestration: pick the algorithm for mode and sibling policy, then build the Result."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .deferred import deferred_acceptance, keeps_groups_together
from .explain import explanations
from .flow import max_placement_flow
from .instance import Instance, Outcome, build_instance
from .metrics import (
    blocking_pairs,
    blocking_records,
    cutoffs,
    figures,
    node_states,
)
from .model import Assignment, Options, Problem, ResolvedOptions, Result, Stats


def resolve_options(problem: Problem, options: Options | None) -> ResolvedOptions:
    base = ResolvedOptions()
    layers = [problem.options] + ([options] if options is not None else [])
    mode, siblings, limit, seed = base.mode, base.siblings, base.time_limit_s, base.seed
    for layer in layers:
        mode = layer.mode if layer.mode is not None else mode
        siblings = layer.siblings if layer.siblings is not None else siblings
        limit = layer.time_limit_s if layer.time_limit_s is not None else limit
        seed = layer.seed if layer.seed is not None else seed
    return ResolvedOptions(mode=mode, siblings=siblings, time_limit_s=limit, seed=seed)


# Above these sizes the CP-SAT modes use the neighbourhood search instead of one model:
# with sibling groups kept together from a city upwards, and in every mode at metropolis
# scale (where one model would need more than 4 GB).
LNS_TOGETHER_CHILDREN = 5_000
LNS_ALL_CHILDREN = 60_000


def _cpsat(inst: Instance, opts: ResolvedOptions, flow: list[int] | None = None) -> Outcome:
    """``flow``: the max-placement flow optimum, when already computed."""
    together = opts.siblings == "together" and bool(inst.multi_groups())
    if inst.n >= LNS_ALL_CHILDREN or (together and inst.n >= LNS_TOGETHER_CHILDREN):
        if not any(lk >= 0 for lk in inst.lock):
            from .lns import solve_lns

            return solve_lns(inst, opts, together, flow)
    from .cpsat import solve_cpsat

    return solve_cpsat(inst, opts, hint=None, flow=flow)


def run(inst: Instance, opts: ResolvedOptions) -> Outcome:
    if inst.infeasible is not None:
        return Outcome(assign=[-1] * inst.n, status="INFEASIBLE", note=inst.infeasible)
    together = opts.siblings == "together" and bool(inst.multi_groups())
    if opts.mode == "stable":
        assign = deferred_acceptance(inst)
        if not together or keeps_groups_together(inst, assign):
            placed = sum(1 for f in assign if f >= 0)
            return Outcome(assign=assign, status="OPTIMAL", bound=placed)
        return _cpsat(inst, opts)
    if opts.mode == "max-placement":
        flow = max_placement_flow(inst)
        if not flow.feasible:
            return Outcome(assign=[-1] * inst.n, status="INFEASIBLE", note="holds cannot be kept")
        placed = sum(1 for f in flow.assign if f >= 0)
        if not together or keeps_groups_together(inst, flow.assign):
            return Outcome(assign=flow.assign, status="OPTIMAL", bound=placed)
        return _cpsat(inst, opts, flow=flow.assign)
    return _cpsat(inst, opts)


def solve(problem: Problem, options: Options | None = None) -> Result:
    """Solve ``problem``; explicit ``options`` override the problem's own options."""
    opts = resolve_options(problem, options)
    with no_gc():
        start = time.perf_counter()
        inst = build_instance(problem)
        outcome = run(inst, opts)
        seconds = time.perf_counter() - start
        return build_result(inst, opts, outcome, seconds)


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building large acyclic structures.

    The core allocates millions of small tuples and frozen records that never form cycles;
    generational collections over them would otherwise cost as much as the algorithms.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def build_result(inst: Instance, opts: ResolvedOptions, outcome: Outcome, seconds: float) -> Result:
    assign = outcome.assign
    if outcome.status == "INFEASIBLE":
        assign = [-1] * inst.n
    states = node_states(inst, assign)
    pairs = blocking_pairs(inst, assign, states)
    figs = figures(inst, assign, pairs, states.pos)
    bound = outcome.bound
    gap: float | None = None
    if outcome.status != "INFEASIBLE":
        if bound is None or bound < figs.placed:
            bound = figs.placed
        gap = (bound - figs.placed) / bound if bound > 0 else 0.0
    stats = Stats(
        children=inst.n,
        placed=figs.placed,
        first_choice=figs.first_choice,
        rank_sum=figs.rank_sum,
        blocking_pairs=len(pairs),
        wasted_seats=figs.wasted_seats,
        envy_points=figs.envy_points,
        envy_lottery=figs.envy_lottery,
        sibling_groups=figs.sibling_groups,
        sibling_groups_unplaced=figs.sibling_groups_unplaced,
        status=outcome.status,
        bound=bound if outcome.status != "INFEASIBLE" else None,
        gap=gap,
        solve_seconds=round(seconds, 3),
        mode=opts.mode,
        siblings=opts.siblings,
        note=outcome.note,
    )
    if outcome.status == "INFEASIBLE":
        return Result(assignments=(), cutoffs=(), blocking=(), stats=stats, explanations=())
    fac_ids = inst.fac_ids
    wish_rank = inst.wish_rank
    assignments = tuple(
        [
            Assignment(cid, fac_ids[f], wish_rank[i][k]) if k >= 0 else Assignment(cid, None, None)
            for i, (cid, f, k) in enumerate(zip(inst.child_ids, assign, states.pos, strict=True))
        ]
    )
    return Result(
        assignments=assignments,
        cutoffs=tuple(cutoffs(inst, assign, states)),
        blocking=tuple(blocking_records(inst, pairs)),
        stats=stats,
        explanations=tuple(explanations(inst, assign, states, opts.siblings)),
    )
