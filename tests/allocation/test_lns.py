"""The neighbourhood search used for large rounds, exercised on a small round."""

from __future__ import annotations

import pytest
from alloc_reference import blocking, feasible, summary

import allocation
from allocation import Options, solver
from allocation.deferred import group_deferred_acceptance
from allocation.generate import generate
from allocation.instance import build_instance


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
