"""The neighbourhood search used for large rounds, exercised on a small round."""

from __future__ import annotations

import random

import pytest
from alloc_reference import blocking, feasible, summary

import allocation
from allocation import Options, lns, solver
from allocation.cpsat import Wishers, _lex_key, fair_bound, fair_domains
from allocation.deferred import group_deferred_acceptance
from allocation.flow import allowed_wishes, max_placement_flow
from allocation.generate import generate
from allocation.instance import NCT, build_instance
from allocation.model import ResolvedOptions


@pytest.mark.parametrize("mode", ["stable", "fair-max", "max-placement"])
def test_neighbourhood_search_keeps_groups_and_never_worsens_the_start(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    problem = generate(children=250, facilities=6, seed=5, sibling_share=0.3)
    monkeypatch.setattr(solver, "LNS_TOGETHER_CHILDREN", 10)
    opts = Options(mode=mode, siblings="together", time_limit_s=5)  # type: ignore[arg-type]
    result = allocation.solve(problem, opts)
    assign = {a.child: a.facility for a in result.assignments}
    assert feasible(problem, assign, together=True)
    ref = blocking(problem, assign)
    assert sorted((b.child, b.facility, b.kind) for b in result.blocking) == ref
    s = summary(problem, assign)
    st = result.stats
    assert (st.placed, st.rank_sum, st.wasted_seats, st.envy_points, st.envy_lottery) == (
        s["placed"],
        s["rank_sum"],
        s["wasted"],
        s["points"],
        s["lottery"],
    )
    assert st.bound is not None and st.bound >= st.placed
    inst = build_instance(problem)
    start = group_deferred_acceptance(inst)
    start_map = {
        inst.child_ids[i]: (inst.fac_ids[f] if f >= 0 else None) for i, f in enumerate(start)
    }
    t = summary(problem, start_map)

    def key(x: dict[str, int]) -> tuple[int, ...]:
        place = (-x["placed"], x["rank_sum"])
        if mode == "stable":
            return (x["points"], x["wasted"], x["lottery"], *place)
        if mode == "fair-max":
            return (x["points"] + x["wasted"], *place, x["lottery"])
        return place

    assert key(s) <= key(t)


@pytest.mark.parametrize("mode", ["stable", "fair-max", "max-placement"])
def test_a_move_is_judged_by_exactly_the_change_of_the_whole_objective(mode: str) -> None:
    """The restricted keys differ by what the full lexicographic objective differs by."""
    problem = generate(children=300, facilities=6, seed=7, sibling_share=0.3)
    inst = build_instance(problem)
    opts = ResolvedOptions(mode=mode, siblings="together", time_limit_s=5, seed=0)
    cur = lns._start(inst, opts, True, max_placement_flow(inst).assign)
    wishers = Wishers(inst, cur)
    rng = random.Random(3)
    checked = 0
    for _ in range(40):
        seeds = rng.sample(range(inst.n), 6)
        nbh = lns._neighbourhood(inst, cur, seeds, wishers)
        new = list(cur)
        load: dict[int, int] = {}
        for i, f in enumerate(new):
            if f >= 0:
                node = f * NCT + inst.care[i]
                load[node] = load.get(node, 0) + 1
        movable = [i for i in nbh.free if inst.hold[i] < 0]  # a holder keeps its place
        for i in rng.sample(movable, min(8, len(movable))):
            if new[i] >= 0:  # free its seat
                load[new[i] * NCT + inst.care[i]] -= 1
                new[i] = -1
            options = [
                f
                for f in inst.wish_fac[i][: allowed_wishes(inst, i)]
                if load.get(f * NCT + inst.care[i], 0) < inst.rcap[f * NCT + inst.care[i]]
            ]
            if options and rng.random() < 0.8:
                new[i] = rng.choice(options)
                load[new[i] * NCT + inst.care[i]] = load.get(new[i] * NCT + inst.care[i], 0) + 1
        if new == cur:
            continue
        before, after = lns._move_keys(inst, cur, new, nbh, mode, wishers)
        full_before = _lex_key(inst, cur, mode, False)
        full_after = _lex_key(inst, new, mode, False)
        assert [a - b for a, b in zip(after, before, strict=True)] == [
            a - b for a, b in zip(full_after, full_before, strict=True)
        ]
        checked += 1
    assert checked >= 30


def test_a_neighbourhood_sees_the_fixed_children_its_places_involve() -> None:
    """The one scan over the places' wishers against the definition, child by child."""
    problem = generate(children=300, facilities=6, seed=7, sibling_share=0.3, hold_share=0.1)
    inst = build_instance(problem)
    opts = ResolvedOptions(mode="fair-max", siblings="together", time_limit_s=5, seed=0)
    cur = lns._start(inst, opts, True, max_placement_flow(inst).assign)
    wishers = Wishers(inst, cur)
    rng = random.Random(5)
    enviers_seen = 0
    for _ in range(20):
        nbh = lns._neighbourhood(inst, cur, rng.sample(range(inst.n), 6), wishers)
        seats: dict[int, int] = {}
        last: dict[int, tuple[int, int]] = {}
        enviers: dict[int, list[tuple[int, int]]] = {}
        for j in range(inst.n):
            if j in nbh.free or inst.lock[j] >= 0:
                continue
            fs, a = inst.wish_fac[j], cur[j]
            for k in range(allowed_wishes(inst, j)):
                node = fs[k] * NCT + inst.care[j]
                if node not in nbh.nodes or inst.rcap[node] <= 0:
                    continue
                row = (inst.wish_key[j][k], -inst.wish_points[j][k])
                if fs[k] == a:
                    seats[node] = seats.get(node, 0) + 1
                    if inst.hold[j] != a and row > last.get(node, (-1, 0)):
                        last[node] = row
                elif (a < 0 or k < fs.index(a)) and inst.hold[j] != fs[k]:
                    enviers.setdefault(node, []).append(row)
        assert nbh.fixed.seats == seats
        assert nbh.fixed.last == last
        seen = {
            node: list(zip(keys.tolist(), negps.tolist(), strict=True))
            for node, (keys, negps) in nbh.fixed.enviers.items()
        }
        assert seen == {node: sorted(rows) for node, rows in enviers.items()}
        enviers_seen += sum(len(rows) for rows in enviers.values())
    assert enviers_seen > 0 and any(inst.hold[i] >= 0 for i in range(inst.n))


@pytest.mark.parametrize("siblings", ["ignore", "together"])
def test_fair_max_reports_the_bound_of_fair_assignments(
    siblings: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once its result is fair, fair-max's bound is the flow over the possible places, not
    the max-placement optimum (which ignores the fairness every fair-max result keeps)."""
    problem = generate(children=400, facilities=8, seed=1)
    monkeypatch.setattr(solver, "LNS_ALL_CHILDREN", 100)
    monkeypatch.setattr(solver, "LNS_TOGETHER_CHILDREN", 100)
    opts = Options(mode="fair-max", siblings=siblings, time_limit_s=3)  # type: ignore[arg-type]
    st = allocation.solve(problem, opts).stats
    assert st.status == "FEASIBLE" and st.envy_points == st.wasted_seats == 0
    inst = build_instance(problem)
    domains = fair_domains(inst)
    assert domains is not None
    flow = sum(1 for f in max_placement_flow(inst).assign if f >= 0)
    assert st.bound == fair_bound(inst, domains) == 286 < flow == 288
    assert st.placed <= st.bound and st.gap == (st.bound - st.placed) / st.bound


def test_fair_max_region_search_reaches_the_exact_optimum_of_a_town(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regions of places solved with the exact model place as many children, at the same rank
    sum, as the whole model proven optimal; small neighbourhoods alone do not."""
    problem = generate(children=400, facilities=8, seed=1)
    exact = allocation.solve(problem, Options(mode="fair-max", siblings="ignore")).stats
    assert exact.status == "OPTIMAL"
    monkeypatch.setattr(solver, "LNS_ALL_CHILDREN", 100)
    monkeypatch.setattr(lns, "REGION_CHILDREN", 100)
    opts = Options(mode="fair-max", siblings="ignore", time_limit_s=4)
    result = allocation.solve(problem, opts)
    st = result.stats
    assert st.status == "FEASIBLE" and st.envy_points == st.wasted_seats == 0
    assert (st.placed, st.rank_sum) == (exact.placed, exact.rank_sum) == (285, 452)
    assign = {a.child: a.facility for a in result.assignments}
    assert feasible(problem, assign, together=False)
    s = summary(problem, assign)
    assert (s["placed"], s["points"], s["wasted"]) == (285, 0, 0)
    monkeypatch.setattr(lns, "REGIONS", False)
    assert allocation.solve(problem, opts).stats.placed < 285
