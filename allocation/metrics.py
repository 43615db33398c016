"""Figures computed from an assignment alone: blocking pairs by kind, cutoffs, stats.

These never trust the solver: every figure is recomputed from the final assignment.
"""

from __future__ import annotations

from dataclasses import dataclass

from .instance import NCT, Instance
from .model import CARE_TYPES, BlockingKind, BlockingPair, Cutoff


@dataclass(frozen=True)
class Figures:
    placed: int
    first_choice: int
    rank_sum: int
    wasted_seats: int
    envy_points: int
    envy_lottery: int
    sibling_groups: int
    sibling_groups_unplaced: int


def rank_of(inst: Instance, i: int, f: int) -> int | None:
    """Rank of facility ``f`` in child ``i``'s own wish list (banned wishes count)."""
    if f < 0:
        return None
    return inst.wish_rank[i][inst.wish_fac[i].index(f)]


@dataclass
class NodeState:
    """Occupancy of one (facility, care type) under an assignment."""

    total: int = 0
    worst_key: int = -1
    worst_child: int = -1
    min_points: int | None = None
    max_key_by_points: dict[int, int] | None = None


def node_states(inst: Instance, assign: list[int]) -> dict[int, NodeState]:
    states: dict[int, NodeState] = {}
    for i, f in enumerate(assign):
        if f < 0:
            continue
        node = f * NCT + inst.care[i]
        st = states.get(node)
        if st is None:
            st = states[node] = NodeState()
        st.total += 1
        if inst.lock[i] >= 0:
            continue
        k = inst.wish_fac[i].index(f)
        key = inst.wish_key[i][k]
        if key > st.worst_key:
            st.worst_key = key
            st.worst_child = i
        if inst.hold[i] == f:
            continue
        p = inst.wish_points[i][k]
        if st.min_points is None or p < st.min_points:
            st.min_points = p
        if st.max_key_by_points is None:
            st.max_key_by_points = {}
        if key > st.max_key_by_points.get(p, -1):
            st.max_key_by_points[p] = key
    return states


def blocking_pairs(
    inst: Instance, assign: list[int], states: dict[int, NodeState] | None = None
) -> list[tuple[int, int, BlockingKind]]:
    """All blocking pairs (child, facility, kind), each pair counted once.

    A free seat makes it a wasted seat; otherwise an admitted non-holder with fewer points
    makes it points-justified envy; otherwise one with equal points and lower priority makes
    it lottery-justified envy. Locked children are neither envied nor envious.
    """
    if states is None:
        states = node_states(inst, assign)
    out: list[tuple[int, int, BlockingKind]] = []
    for i in range(inst.n):
        if inst.lock[i] >= 0:
            continue
        fs = inst.wish_fac[i]
        a = assign[i]
        for k, f in enumerate(fs):
            if f == a:
                break
            node = f * NCT + inst.care[i]
            seats = inst.cap[node]
            if seats <= 0:
                continue
            st = states.get(node)
            total = st.total if st is not None else 0
            if total < seats:
                out.append((i, f, "wasted_seat"))
                continue
            if st is None or st.max_key_by_points is None or st.min_points is None:
                continue
            p = inst.wish_points[i][k]
            if st.min_points < p:
                out.append((i, f, "envy_points"))
            elif st.max_key_by_points.get(p, -1) > inst.wish_key[i][k]:
                out.append((i, f, "envy_lottery"))
    out.sort(key=lambda t: (inst.child_ids[t[0]], inst.fac_ids[t[1]]))
    return out


def cutoffs(
    inst: Instance, assign: list[int], states: dict[int, NodeState] | None = None
) -> list[Cutoff]:
    if states is None:
        states = node_states(inst, assign)
    out: list[Cutoff] = []
    ct_idx = {ct: i for i, ct in enumerate(CARE_TYPES)}
    for f, fac in enumerate(inst.problem.facilities):
        for ct, seats in fac.capacity:
            if seats <= 0:
                continue
            node = f * NCT + ct_idx[ct]
            st = states.get(node)
            if st is None or st.total < seats or st.worst_child < 0:
                out.append(Cutoff(facility=fac.id, care_type=ct, priority=None, tiebreak=None))
                continue
            d = st.worst_child
            k = inst.wish_fac[d].index(f)
            out.append(
                Cutoff(
                    facility=fac.id,
                    care_type=ct,
                    priority=inst.wish_points[d][k],
                    tiebreak=inst.tiebreak[d],
                )
            )
    return out


def figures(
    inst: Instance, assign: list[int], blocking: list[tuple[int, int, BlockingKind]]
) -> Figures:
    placed = first = rank_sum = 0
    for i, f in enumerate(assign):
        r = rank_of(inst, i, f)
        if r is None:
            continue
        placed += 1
        rank_sum += r
        if r == 1:
            first += 1
    kinds = [k for _, _, k in blocking]
    members: dict[str, list[int]] = {}
    for i, c in enumerate(sorted(inst.problem.children, key=lambda c: c.id)):
        if c.sibling_group is not None:
            members.setdefault(c.sibling_group, []).append(i)
    unplaced = sum(1 for ms in members.values() if any(assign[i] < 0 for i in ms))
    return Figures(
        placed=placed,
        first_choice=first,
        rank_sum=rank_sum,
        wasted_seats=kinds.count("wasted_seat"),
        envy_points=kinds.count("envy_points"),
        envy_lottery=kinds.count("envy_lottery"),
        sibling_groups=len(members),
        sibling_groups_unplaced=unplaced,
    )


def blocking_records(
    inst: Instance, blocking: list[tuple[int, int, BlockingKind]]
) -> list[BlockingPair]:
    return [
        BlockingPair(child=inst.child_ids[i], facility=inst.fac_ids[f], kind=kind)
        for i, f, kind in blocking
    ]
