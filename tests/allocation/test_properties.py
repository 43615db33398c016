"""Property tests on small random problems, checked against brute-force enumeration."""

from __future__ import annotations

import os
from typing import Any

from alloc_reference import Assign, all_assignments, blocking, feasible, summary
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import allocation
from allocation import Options, Problem, Result

SETTINGS = settings(
    max_examples=int(os.environ.get("ALLOCATION_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FACS = ["a", "b", "c"]


@st.composite
def problems(
    draw: st.DrawFn,
    max_children: int = 5,
    siblings: bool = True,
    locks: bool = True,
    holds: bool = True,
) -> Problem:
    n_fac = draw(st.integers(1, 3))
    facs = FACS[:n_fac]
    two_types = draw(st.booleans())
    cts = ["krippe", "kindergarten"] if two_types else ["krippe"]
    facilities = [{"id": f, "capacity": {ct: draw(st.integers(0, 2)) for ct in cts}} for f in facs]
    n = draw(st.integers(1, max_children))
    tiebreaks = draw(st.permutations(list(range(n))))
    children: list[dict[str, Any]] = []
    for i in range(n):
        wishes = draw(st.lists(st.sampled_from(facs), unique=True, max_size=n_fac))
        children.append(
            {
                "id": f"c{i}",
                "care_type": draw(st.sampled_from(cts)),
                "wishes": wishes,
                "priority": {f: draw(st.sampled_from([0, 100, 100, 200])) for f in wishes},
                "tiebreak": tiebreaks[i],
            }
        )
    if siblings and n >= 2 and draw(st.booleans()):
        size = draw(st.integers(2, min(3, n)))
        members = children[:size]
        shared = draw(st.lists(st.sampled_from(facs), unique=True, min_size=1, max_size=n_fac))
        for c in members:
            c["sibling_group"] = "fam"
            c["tiebreak"] = members[0]["tiebreak"]
            if draw(st.booleans()):
                c["wishes"] = list(shared)
                c["priority"] = {f: c["priority"].get(f, 100) for f in shared}
    seats: dict[tuple[str, str], int] = {
        (f["id"], ct): n for f in facilities for ct, n in f["capacity"].items()
    }
    used: dict[tuple[str, str], int] = {}
    lock_list: list[dict[str, str]] = []
    for c in children:
        if not c["wishes"]:
            continue
        f = draw(st.sampled_from(c["wishes"]))
        key = (f, c["care_type"])
        room = used.get(key, 0) < seats.get(key, 0)
        kind = draw(st.sampled_from(["none", "none", "none", "hold", "lock"]))
        if kind == "hold" and holds and room and "sibling_group" not in c:
            c["holds"] = f
            used[key] = used.get(key, 0) + 1
        elif kind == "lock" and locks and room and "sibling_group" not in c:
            lock_list.append({"child": c["id"], "facility": f})
            used[key] = used.get(key, 0) + 1
    bans: list[dict[str, str]] = []
    for c in children:
        if c["wishes"] and "holds" not in c and draw(st.integers(0, 5)) == 0:
            f = draw(st.sampled_from(c["wishes"]))
            if not any(lk["child"] == c["id"] for lk in lock_list):
                bans.append({"child": c["id"], "facility": f})
    data = {
        "format": "kita-allocation/1",
        "facilities": facilities,
        "children": children,
        "locks": lock_list,
        "bans": bans,
    }
    return allocation.load_problem(data)


def as_map(result: Result) -> Assign:
    return {a.child: a.facility for a in result.assignments}


def check_common(problem: Problem, result: Result, together: bool) -> Assign:
    """Feasibility, stats and blocking list against the reference; explanations' shape."""
    assert result.stats.status == "OPTIMAL"
    assign = as_map(result)
    assert [a.child for a in result.assignments] == sorted(c.id for c in problem.children)
    assert feasible(problem, assign, together)
    ref = blocking(problem, assign)
    got = sorted((b.child, b.facility, b.kind) for b in result.blocking)
    assert got == ref
    s = summary(problem, assign)
    st_ = result.stats
    assert st_.children == len(problem.children)
    assert st_.placed == s["placed"]
    assert st_.rank_sum == s["rank_sum"]
    assert st_.first_choice == s["first_choice"]
    assert st_.wasted_seats == s["wasted"]
    assert st_.envy_points == s["points"]
    assert st_.envy_lottery == s["lottery"]
    assert st_.blocking_pairs == len(ref)
    groups: dict[str, list[str]] = {}
    for c in problem.children:
        if c.sibling_group:
            groups.setdefault(c.sibling_group, []).append(c.id)
    assert st_.sibling_groups == len(groups)
    assert st_.sibling_groups_unplaced == sum(
        1 for ms in groups.values() if any(assign[m] is None for m in ms)
    )
    assert st_.bound is not None and st_.bound >= st_.placed
    for a in result.assignments:
        child = next(c for c in problem.children if c.id == a.child)
        expected_rank = child.wishes.index(a.facility) + 1 if a.facility else None
        assert a.wish_rank == expected_rank
    explained = dict(result.explanations)
    banned = {(b.child, b.facility) for b in problem.bans}
    for c in problem.children:
        a = assign[c.id]
        better = c.wishes if a is None else c.wishes[: c.wishes.index(a)]
        if not better:
            assert c.id not in explained
            continue
        entries = explained[c.id]
        assert [e.facility for e in entries] == list(better)
        for e in entries:
            assert ((c.id, e.facility) in banned) == (e.reason == "banned")
    for lk in problem.locks:
        assert assign[lk.child] == lk.facility
    for c in problem.children:
        if c.holds is not None:
            a = assign[c.id]
            assert a is not None and c.wishes.index(a) <= c.wishes.index(c.holds)
    return assign


@SETTINGS
@given(problems(siblings=False))
def test_stable_is_child_optimal_stable(problem: Problem) -> None:
    result = allocation.solve(problem, Options(mode="stable", siblings="ignore"))
    assign = check_common(problem, result, together=False)
    assert result.blocking == ()
    stable = [a for a in all_assignments(problem, False) if not blocking(problem, a)]
    assert assign in stable

    def key(c: str, f: str | None) -> int:
        child = next(x for x in problem.children if x.id == c)
        return child.wishes.index(f) if f is not None else 99

    for c in assign:
        assert key(c, assign[c]) == min(key(c, a[c]) for a in stable)


@SETTINGS
@given(problems())
def test_max_placement_is_optimal(problem: Problem) -> None:
    for together in (False, True):
        result = allocation.solve(
            problem,
            Options(mode="max-placement", siblings="together" if together else "ignore"),
        )
        assign = check_common(problem, result, together)
        best = min(
            (-summary(problem, a)["placed"], summary(problem, a)["rank_sum"])
            for a in all_assignments(problem, together)
        )
        s = summary(problem, assign)
        assert (-s["placed"], s["rank_sum"]) == best
        assert result.stats.gap == 0.0


@SETTINGS
@given(problems())
def test_stable_together_minimises_blocking_lexicographically(problem: Problem) -> None:
    result = allocation.solve(problem, Options(mode="stable", siblings="together"))
    assign = check_common(problem, result, together=True)

    def key(a: Assign) -> tuple[int, ...]:
        s = summary(problem, a)
        return (s["points"], s["wasted"], s["lottery"], -s["placed"], s["rank_sum"])

    assert key(assign) == min(key(a) for a in all_assignments(problem, True))


@SETTINGS
@given(problems())
def test_fair_max(problem: Problem) -> None:
    for together in (False, True):
        sib = "together" if together else "ignore"
        result = allocation.solve(problem, Options(mode="fair-max", siblings=sib))
        assign = check_common(problem, result, together)
        s = summary(problem, assign)
        candidates = list(all_assignments(problem, together))

        def key(a: Assign) -> tuple[int, ...]:
            t = summary(problem, a)
            return (t["points"] + t["wasted"], -t["placed"], t["rank_sum"], t["lottery"])

        best = min(key(a) for a in candidates)
        assert key(assign) == best
        if best[0] == 0:
            assert s["wasted"] == 0 and s["points"] == 0
            assert result.stats.note is None
        else:
            assert result.stats.note
        stable = allocation.solve(problem, Options(mode="stable", siblings=sib))
        if best[0] == 0 and stable.stats.blocking_pairs == 0:
            assert result.stats.placed >= stable.stats.placed


@SETTINGS
@given(problems(max_children=6, siblings=False))
def test_holds_never_worsen_a_child(problem: Problem) -> None:
    base = allocation.solve(problem, Options(mode="stable", siblings="ignore"))
    before = as_map(base)
    for c in problem.children:
        if (
            c.holds is not None
            or before[c.id] is None
            or c.id in {lk.child for lk in problem.locks}
        ):
            continue
        data = problem.to_dict()
        held = before[c.id]
        taken = sum(
            1 for d in problem.children if d.holds == held and d.care_type == c.care_type
        ) + sum(1 for lk in problem.locks if lk.facility == held)
        fac = next(f for f in problem.facilities if f.id == held)
        if taken >= fac.seats(c.care_type):
            continue
        for rec in data["children"]:
            if rec["id"] == c.id:
                rec["holds"] = held
        with_hold = allocation.solve(
            allocation.load_problem(data), Options(mode="stable", siblings="ignore")
        )
        after = as_map(with_hold)[c.id]
        assert after is not None and c.wishes.index(after) <= c.wishes.index(held)


@SETTINGS
@given(problems(siblings=False, locks=False))
def test_fair_domains_keep_every_fair_assignment(problem: Problem) -> None:
    """fair-max's reasoning only removes places no fair assignment uses."""
    from allocation.cpsat import fair_domains
    from allocation.instance import build_instance

    inst = build_instance(problem)
    domains = fair_domains(inst)
    index = {c: i for i, c in enumerate(inst.child_ids)}
    fac_index = {f: k for k, f in enumerate(inst.fac_ids)}
    fair = [a for a in all_assignments(problem, False) if not _unfair(problem, a)]
    if domains is None:
        assert not fair
        return
    assert fair  # deferred acceptance is one
    for a in fair:
        for child, fac in a.items():
            i = index[child]
            if inst.lock[i] >= 0:
                continue
            if fac is None:
                assert not domains.forced[i]
            else:
                assert inst.wish_fac[i].index(fac_index[fac]) in domains.wishes[i]
    # the reasoning is not empty: every decided child sits at its place in every fair one
    for i, cid in enumerate(inst.child_ids):
        if domains.decided(i):
            (k,) = domains.wishes[i]
            assert {a[cid] for a in fair} == {inst.fac_ids[inst.wish_fac[i][k]]}


@SETTINGS
@given(problems(siblings=False))
def test_fair_bound_bounds_every_fair_assignment(problem: Problem) -> None:
    """The flow over the possible places is at least what any fair assignment places, and
    never above the plain max-placement optimum."""
    from allocation.cpsat import fair_bound, fair_domains
    from allocation.flow import max_placement_flow
    from allocation.instance import build_instance

    inst = build_instance(problem)
    domains = fair_domains(inst)
    fair = [a for a in all_assignments(problem, False) if not _unfair(problem, a)]
    bound = None if domains is None else fair_bound(inst, domains)
    if bound is None:
        assert not fair
        return
    most = max(summary(problem, a)["placed"] for a in fair)  # locked children included
    assert most <= bound <= sum(1 for f in max_placement_flow(inst).assign if f >= 0)


def _unfair(problem: Problem, a: Assign) -> int:
    t = summary(problem, a)
    return t["points"] + t["wasted"]


@SETTINGS
@given(problems(siblings=False))
def test_promoted_deferred_acceptance_is_fair(problem: Problem) -> None:
    """fair-max's warm start has no wasted seat and no points-justified envy, keeps holds,
    and (one promotion round, Király) places at least 2/3 of the largest fair assignment."""
    from allocation.deferred import promoted_deferred_acceptance
    from allocation.instance import build_instance

    inst = build_instance(problem)
    if inst.infeasible is not None:
        return
    best = max(
        (
            summary(problem, a)["placed"]
            for a in all_assignments(problem, False)
            if not _unfair(problem, a)
        ),
        default=0,
    )
    for rounds in (1, 2):
        out = promoted_deferred_acceptance(inst, rounds)
        assign = {
            cid: (inst.fac_ids[f] if f >= 0 else None)
            for cid, f in zip(inst.child_ids, out, strict=True)
        }
        assert feasible(problem, assign, False)
        assert not _unfair(problem, assign)
        for i in range(inst.n):
            h = inst.hold[i]
            if h >= 0:
                assert out[i] >= 0
                assert inst.wish_fac[i].index(out[i]) <= inst.wish_fac[i].index(h)
        if rounds == 1:
            assert 3 * summary(problem, assign)["placed"] >= 2 * best
