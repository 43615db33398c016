"""Large-neighbourhood search for the CP-SAT modes on large rounds.

A monolithic CP-SAT model of a city or a metropolis is large (gigabytes at metropolis
scale) while the decisions that matter are local: which sibling groups get in where, and
who loses a seat or gains one in exchange. Starting from a feasible assignment (deferred
acceptance with split groups unplaced, or the group-proposing variant, whichever is
lexicographically better), the search repeatedly frees a *neighbourhood* — a few seed
children (whole sibling groups), the lowest-priority occupants of the places they wish,
transitively one level — and re-solves only that part with the exact cutoff model of
``cpsat.py``; every other child keeps its place as a constant, and children whose blocking
pairs may change (they wish a neighbourhood place better than their own) are modelled with
their fixed place. The sub-objective is the mode's lexicographic objective minus constants,
so an accepted move never makes the whole assignment worse.

fair-max without sibling groups first re-solves the round region by region: places grown
breadth-first over shared undecided children until ~``REGION_CHILDREN`` children wish them,
each region's children whose relevant wishes all lie inside freed at once (metropolis:
13 regions of 0.6-6.7 thousand children; gap 1.10 % -> 0.63 % in 300 s). Small neighbourhoods
cannot make the long exchanges that place more children under the fairness constraints.

No neighbourhood proves optimality: the status is ``FEASIBLE`` and the bound is the
max-placement flow optimum (a valid upper bound on placed children in every mode), or in
fair-max, once the result is fair, the flow over the places fair assignments can use
(``cpsat.fair_bound``).
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from ortools.sat.python import cp_model

from .cpsat import (
    Domains,
    Neighbourhood,
    Wishers,
    _build,
    _hint_assignment,
    _lex_key,
    _linear,
    _Model,
    _set_hint,
    _solve_part,
    _stages,
    _unsplit,
    fair_bound,
    fair_domains,
    minimize,
    neighbourhood,
)
from .deferred import (
    deferred_acceptance,
    group_deferred_acceptance,
    promoted_deferred_acceptance,
)
from .flow import allowed_wishes, max_placement_flow
from .instance import NCT, Instance, Outcome
from .model import ResolvedOptions

MAX_FREE = 120  # children freed per neighbourhood
OCCUPANTS = 3  # lowest-priority occupants freed per wished place
SUB_LIMIT_S = 4.0  # time limit of one neighbourhood solve
# fair-max without groups first re-solves whole regions of places with the exact model
REGIONS = True
REGION_CHILDREN = 8_000  # children wishing a region's places, at which its growth stops
REGION_SHARE = 0.8  # share of the time limit for the regions; the neighbourhoods follow


def _start(inst: Instance, opts: ResolvedOptions, together: bool, flow: list[int]) -> list[int]:
    cands = [deferred_acceptance(inst)]
    if opts.mode == "fair-max":
        cands.append(promoted_deferred_acceptance(inst, rounds=2))
    if together:
        cands = [_unsplit(inst, a) for a in cands] + [group_deferred_acceptance(inst)]
        if opts.mode == "max-placement":
            cands.append(_unsplit(inst, flow))
    return min(cands, key=lambda a: _lex_key(inst, a, opts.mode, together))


def solve_lns(
    inst: Instance, opts: ResolvedOptions, together: bool, flow: list[int] | None
) -> Outcome:
    start = time.perf_counter()
    # the search stops early by what the final evaluation of every child and the result's
    # figures and explanations cost (metropolis ~4 s), so that the result is back within
    # the time limit (300.2 s with a 3.6-s margin at 300 s)
    deadline = start + opts.time_limit_s - 0.2 - inst.n * 3e-5
    if flow is None:  # computed first, so that it counts within the time limit
        flow = max_placement_flow(inst).assign
    upper_bound = sum(1 for f in flow if f >= 0)
    cur = _start(inst, opts, together, flow)
    base_key = _lex_key(inst, cur, opts.mode, together)
    n = inst.n
    wishers = Wishers(inst, cur)
    hopeless: frozenset[int] = frozenset()
    fair_upper: int | None = None
    domains: Domains | None = None
    if opts.mode == "fair-max":
        domains = fair_domains(inst)
        if domains is not None:
            hopeless = frozenset(i for i in range(n) if not domains.wishes[i])
        if domains is not None and not together:  # the result is fair: the bound is used
            fair_upper = fair_bound(inst, domains)
            if REGIONS:
                cur = _region_pass(inst, opts, domains, cur, wishers, start, deadline)
    seeds = _seeds(inst, opts, together, cur, hopeless)
    cur = _neighbourhood_pass(inst, opts, together, cur, seeds, wishers, start, deadline)
    final_key = _lex_key(inst, cur, opts.mode, together)
    if final_key > base_key:  # never worse than the start (defensive; moves are monotone)
        cur = _start(inst, opts, together, flow)
        final_key = base_key
    if domains is not None and final_key[0] == 0:
        # a fair assignment exists, so fair-max's optimum is fair: the fair bound holds
        # (with groups it is rarely fair at this scale, so the flow runs only then)
        if fair_upper is None:
            fair_upper = fair_bound(inst, domains)
        if fair_upper is not None:
            upper_bound = min(upper_bound, fair_upper)
    return Outcome(assign=cur, status="FEASIBLE", bound=upper_bound)


def _neighbourhood_pass(
    inst: Instance,
    opts: ResolvedOptions,
    together: bool,
    cur: list[int],
    seeds: list[int],
    wishers: Wishers,
    start: float,
    deadline: float,
) -> list[int]:
    """One pass over the seeds, a batch of them per neighbourhood.

    CP-SAT releases the interpreter lock while it solves, so the next neighbourhood's model is
    built (in Python) meanwhile, from the same assignment. If the move then accepted changed
    the occupancy of one of the next neighbourhood's places, that one is built again; else
    its seats are as it saw them, and a child it sees at an old place only makes its move
    look better or worse to CP-SAT: the move is judged exactly against the current
    assignment before it is taken (metropolis fair-max/together: the pass 181 s -> 154 s,
    with the faster scan for fixed children; the same result).
    """
    pos = 0

    def next_batch() -> list[int]:
        nonlocal pos
        batch: list[int] = []
        taken: set[int] = set()
        while pos < len(seeds) and len(taken) < MAX_FREE // 4:
            members = inst.groups[seeds[pos]]
            pos += 1
            batch.extend(members)
            taken.update(members)
        return batch

    def prepare(batch: list[int]) -> tuple[list[int], Neighbourhood, _Model | None]:
        nbh = _neighbourhood(inst, cur, batch, wishers)
        return batch, nbh, _prepare_sub(inst, opts, together, nbh)

    running: tuple[Neighbourhood, Future[list[int] | None]] | None = None
    with ThreadPoolExecutor(max_workers=1) as pool:
        while True:
            upcoming = None
            if pos < len(seeds) and time.perf_counter() < deadline:
                upcoming = prepare(next_batch())
            if running is not None:
                nbh, future = running
                running = None
                new = future.result()
                changed: set[int] = set()
                better = None if new is None else _if_better(inst, opts, cur, new, nbh, wishers)
                if better is not None:
                    for i in nbh.free:  # the places the moved children left or took
                        if cur[i] != better[i]:
                            for f in (cur[i], better[i]):
                                if f >= 0:
                                    changed.add(f * NCT + inst.care[i])
                    cur = better
                print(
                    f"[allocation] neighbourhood search: {pos}/{len(seeds)} seeds, "
                    f"{time.perf_counter() - start:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
                if upcoming is not None and changed & upcoming[1].nodes:
                    upcoming = prepare(upcoming[0])
            if upcoming is None:
                break
            _, nbh, m = upcoming
            if m is None:
                continue
            limit = min(SUB_LIMIT_S, deadline - time.perf_counter())
            running = (nbh, pool.submit(_run_sub, inst, opts, together, nbh, m, limit))
    return cur


def _region_pass(
    inst: Instance,
    opts: ResolvedOptions,
    domains: Domains,
    cur: list[int],
    wishers: Wishers,
    start: float,
    deadline: float,
) -> list[int]:
    """fair-max without groups: re-solve the round region by region with the exact model.

    A region is a set of places grown breadth-first over places that share an undecided
    child; its free children are those all of whose relevant wishes lie inside, every other
    child keeps its place. Regions are solved one after another like a neighbourhood, the
    time left shared by their sizes.
    """
    n = inst.n
    rel: list[list[int]] = [[] for _ in range(n)]
    at_node: dict[int, list[int]] = {}
    for i in range(n):
        if inst.lock[i] >= 0 or domains.constant(i):
            continue
        care = inst.care[i]
        rel[i] = [inst.wish_fac[i][k] * NCT + care for k in range(domains.end(inst, i))]
        for node in rel[i]:
            at_node.setdefault(node, []).append(i)
    regions: list[set[int]] = []
    seen: set[int] = set()
    for root in sorted(at_node):
        if root in seen:
            continue
        region: set[int] = set()
        touched: set[int] = set()
        queue = deque([root])
        seen.add(root)
        while queue and len(touched) < REGION_CHILDREN:
            node = queue.popleft()
            region.add(node)
            for i in at_node[node]:
                if i in touched:
                    continue
                touched.add(i)
                for other in rel[i]:
                    if other not in seen:
                        seen.add(other)
                        queue.append(other)
        for node in queue:  # grown past the size: back to the pool
            seen.discard(node)
        regions.append(region)
    parts = [
        (region, free)
        for region in regions
        if (
            free := sorted(
                {i for node in region for i in at_node[node] if all(v in region for v in rel[i])}
            )
        )
    ]
    deadline_regions = start + (deadline - start) * REGION_SHARE
    children_left = sum(len(free) for _, free in parts)
    for k, (region, free) in enumerate(parts):
        left = deadline_regions - time.perf_counter()
        if left <= 0.5:
            break
        share = left * len(free) / children_left  # time by size
        children_left -= len(free)
        nbh = neighbourhood(inst, cur, free, wishers, frozenset(region))
        out = _solve_part(inst, opts, False, False, domains, nbh, share, region=True)
        if out.status == "INFEASIBLE" or not out.assign:
            continue
        better = _if_better(inst, opts, cur, out.assign, nbh, wishers)
        if better is not None:
            cur = better
        print(
            f"[allocation] region search: {k + 1}/{len(parts)} regions, "
            f"{len(free)} children, {time.perf_counter() - start:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    return cur


def _if_better(
    inst: Instance,
    opts: ResolvedOptions,
    cur: list[int],
    new: Sequence[int],
    nbh: Neighbourhood,
    wishers: Wishers,
) -> list[int] | None:
    """``cur`` with the free children of ``nbh`` at their places in ``new``, if that is
    better by the mode's objective (judged exactly on what changes), else None. The caller
    takes a result as its assignment: ``wishers`` is kept in step with it."""
    moved = [i for i in nbh.free if cur[i] != new[i]]
    if not moved:
        return None
    cand = list(cur)
    for i in moved:
        cand[i] = new[i]
    before, after = _move_keys(inst, cur, cand, nbh, opts.mode, wishers)
    if after >= before:
        return None
    for i in moved:
        wishers.place(i, cand[i])
    return cand


def _move_keys(
    inst: Instance,
    cur: Sequence[int],
    new: Sequence[int],
    nbh: Neighbourhood,
    mode: str,
    wishers: Wishers,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The mode's lexicographic objective of ``cur`` and ``new``, restricted to what differs.

    Only the moved children's places change occupancy, so a blocking pair can differ only
    for a moved child (at any neighbourhood place) or at a place a moved child left or
    took; placed and rank sum differ only for moved children. Every other term is the same
    constant on both sides, and dropping it keeps the lexicographic comparison exact.
    """
    moved = [i for i in nbh.free if cur[i] != new[i]]
    moved_set = set(moved)
    changed: set[int] = set()
    for i in moved:
        for a in (cur[i], new[i]):
            if a >= 0:
                changed.add(a * NCT + inst.care[i])
    watch: list[tuple[int, int]] = [(i, -1) for i in moved]  # -1: every place
    for node in sorted(changed & nbh.nodes):
        watch.extend((j, node) for _, j, _, _ in wishers.get(node, ()) if j not in moved_set)
    return (
        _restricted_key(inst, cur, nbh, mode, moved, watch, wishers),
        _restricted_key(inst, new, nbh, mode, moved, watch, wishers),
    )


def _restricted_key(
    inst: Instance,
    assign: Sequence[int],
    nbh: Neighbourhood,
    mode: str,
    moved: list[int],
    watch: list[tuple[int, int]],
    wishers: Wishers,
) -> tuple[int, ...]:
    states: dict[int, tuple[int, int | None, dict[int, int]]] = {}

    def state(node: int) -> tuple[int, int | None, dict[int, int]]:
        """Seats taken, least points admitted and, per points, the last key admitted."""
        got = states.get(node)
        if got is not None:
            return got
        f = node // NCT
        total = _locked_at(inst, node)
        min_pts: int | None = None
        by_pts: dict[int, int] = {}
        for key, j, _, negp in wishers.get(node, ()):
            if assign[j] != f:
                continue
            total += 1
            if inst.hold[j] == f:
                continue
            p = -negp
            if min_pts is None or p < min_pts:
                min_pts = p
            if key > by_pts.get(p, -1):
                by_pts[p] = key
        states[node] = got = (total, min_pts, by_pts)
        return got

    wasted = points = lottery = 0
    for i, only in watch:
        a = assign[i]
        fs = inst.wish_fac[i]
        end = fs.index(a) if a >= 0 else allowed_wishes(inst, i)
        for k in range(end):
            f = fs[k]
            if inst.hold[i] == f:
                break
            node = f * NCT + inst.care[i]
            if only >= 0 and node != only:
                continue
            seats = inst.cap[node]
            if seats <= 0 or node not in nbh.nodes:
                continue
            total, mp, by_pts = state(node)
            if total < seats:
                wasted += 1
                continue
            if mp is None:
                continue
            p = inst.wish_points[i][k]
            if mp < p:
                points += 1
            elif by_pts.get(p, -1) > inst.wish_key[i][k]:
                lottery += 1
    placed = rank_sum = 0
    for i in moved:
        a = assign[i]
        if a >= 0:
            placed += 1
            rank_sum += inst.wish_rank[i][inst.wish_fac[i].index(a)]
    place = (-placed, rank_sum)
    if mode == "stable":
        return (points, wasted, lottery, *place)
    if mode == "fair-max":
        return (points + wasted, *place, lottery)
    return place


def _locked_at(inst: Instance, node: int) -> int:
    return inst.cap[node] - inst.rcap[node]


def _seeds(
    inst: Instance,
    opts: ResolvedOptions,
    together: bool,
    cur: Sequence[int],
    hopeless: frozenset[int] = frozenset(),
) -> list[int]:
    """Groups (indices into ``inst.groups``) worth re-optimising, most promising first.

    ``hopeless`` children (fair-max: no fair assignment places them) are not seeds of their
    own: placing one would cost a wasted seat or points-justified envy, fair-max's first level.
    """
    out: list[tuple[int, int]] = []
    for g, members in enumerate(inst.groups):
        free = [i for i in members if inst.lock[i] < 0]
        if not free:
            continue
        multi = together and len(members) > 1
        unplaced = any(cur[i] < 0 for i in free)
        not_first = any(cur[i] >= 0 and inst.wish_fac[i].index(cur[i]) > 0 for i in free)
        if multi and unplaced:
            out.append((0, g))
        elif multi and not_first and opts.mode != "stable":
            out.append((1, g))
        elif not together or opts.mode != "stable":
            if unplaced and any(allowed_wishes(inst, i) > 0 and i not in hopeless for i in free):
                out.append((2, g))
    out.sort()
    return [g for _, g in out]


def _neighbourhood(
    inst: Instance, cur: Sequence[int], seed: list[int], wishers: Wishers
) -> Neighbourhood:
    free: set[int] = set()

    def add(i: int) -> None:
        for j in inst.groups[inst.group[i]]:
            if inst.lock[j] < 0:
                free.add(j)

    for i in seed:
        add(i)
    nodes_of_seed: set[int] = set()
    for i in list(free):
        for k in range(allowed_wishes(inst, i)):
            f = inst.wish_fac[i][k]
            if f == cur[i]:
                break
            nodes_of_seed.add(f * NCT + inst.care[i])
    for node in sorted(nodes_of_seed):
        got = wishers.arrays.get(node)
        if got is None:
            continue
        child, wish = got[0], got[1]
        # its occupants (those whose place is this wish), by key: the last ones come last
        last = child[wish == wishers.pos[child]][::-1][:OCCUPANTS]
        for j in last.tolist():
            if len(free) >= MAX_FREE:
                break
            add(j)
    return neighbourhood(inst, cur, sorted(free), wishers)


def _prepare_sub(
    inst: Instance, opts: ResolvedOptions, together: bool, nbh: Neighbourhood
) -> _Model | None:
    """The neighbourhood's model with its assignment as hint (None: no feasible model)."""
    m = _build(inst, opts.mode, together, nbh)
    if m.infeasible is not None:
        return None
    _hint_assignment(inst, m, nbh.base)
    return m


def _run_sub(
    inst: Instance,
    opts: ResolvedOptions,
    together: bool,
    nbh: Neighbourhood,
    m: _Model,
    limit: float,
) -> list[int] | None:
    """Solve a prepared neighbourhood model stage by stage; its free children's new places."""
    if limit <= 0.05:
        return None
    start = time.perf_counter()
    stages, _ = _stages(m, opts.mode, together)
    solver = cp_model.CpSolver()
    best: list[int] | None = None
    for number, (_, terms) in enumerate(stages):
        remaining = limit - (time.perf_counter() - start)
        if remaining <= 0.02:
            break
        minimize(m.model, terms)
        share = remaining if number == len(stages) - 1 else remaining * 0.6
        solver.parameters.max_time_in_seconds = share
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = opts.seed
        if opts.mode == "max-placement":
            # as for small parts, the plain assignment model is solved faster without presolve
            # and without the phase that searches around the hint (city
            # max-placement/together: four neighbourhoods took 0.8-4 s, the pass 15.2 s ->
            # 4.5 s; the fairness models are slower so: fair-max/together 18.5 s -> 29.2 s)
            solver.parameters.cp_model_presolve = False
            solver.parameters.hint_conflict_limit = 0
        res = solver.solve(m.model)
        if res not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break
        values = list(solver.response_proto.solution)
        best = values
        m.model.add(_linear(terms) <= round(solver.objective_value))
        _set_hint(m, values)
        if res != cp_model.OPTIMAL:
            break
    if best is None:
        return None
    new = list(nbh.base)
    for i in nbh.free:
        new[i] = -1
        for f, _, lit in m.lits[i]:
            if best[lit.index]:
                new[i] = f
    return new
