"""Figures computed from an assignment alone: blocking pairs by kind, cutoffs, stats.

These never trust the solver: every figure is recomputed from the final assignment. Every
pass is linear in the number of wishes, over flat per-node arrays (``node = facility * 3 +
care type``).
"""

from __future__ import annotations

from collections.abc import Sequence
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


def positions(inst: Instance, assign: Sequence[int]) -> list[int]:
    """Per child: the index of its facility in its (ban-free) wish list, ``-1`` if unplaced."""
    wish_fac = inst.wish_fac
    return [wish_fac[i].index(f) if f >= 0 else -1 for i, f in enumerate(assign)]


@dataclass
class NodeStates:
    """Occupancy of every (facility, care type) under an assignment, as flat arrays.

    ``worst_*`` is the admitted non-locked child of lowest effective priority;
    ``min_points`` and ``max_key_by_points`` range over admitted children that are neither
    locked nor holding their place there (only they can be envied); ``reserved`` counts
    locked children and holders at their held place.
    """

    pos: list[int]
    total: list[int]
    worst_key: list[int]
    worst_child: list[int]
    min_points: list[int | None]
    max_key_by_points: list[dict[int, int] | None]
    reserved: list[int]


def node_states(inst: Instance, assign: Sequence[int]) -> NodeStates:
    nn = len(inst.cap)
    pos = positions(inst, assign)
    total = [0] * nn
    worst_key = [-1] * nn
    worst_child = [-1] * nn
    min_points: list[int | None] = [None] * nn
    by_points: list[dict[int, int] | None] = [None] * nn
    reserved = [0] * nn
    care = inst.care
    lock = inst.lock
    hold = inst.hold
    wish_key = inst.wish_key
    wish_points = inst.wish_points
    for i, f in enumerate(assign):
        if f < 0:
            continue
        node = f * NCT + care[i]
        total[node] += 1
        if lock[i] >= 0:
            reserved[node] += 1
            continue
        k = pos[i]
        key = wish_key[i][k]
        if key > worst_key[node]:
            worst_key[node] = key
            worst_child[node] = i
        if hold[i] == f:
            reserved[node] += 1
            continue
        p = wish_points[i][k]
        mp = min_points[node]
        if mp is None or p < mp:
            min_points[node] = p
        d = by_points[node]
        if d is None:
            by_points[node] = {p: key}
        elif key > d.get(p, -1):
            d[p] = key
    return NodeStates(
        pos=pos,
        total=total,
        worst_key=worst_key,
        worst_child=worst_child,
        min_points=min_points,
        max_key_by_points=by_points,
        reserved=reserved,
    )


def blocking_pairs(
    inst: Instance, assign: Sequence[int], states: NodeStates | None = None
) -> list[tuple[int, int, BlockingKind]]:
    """All blocking pairs (child, facility, kind), each pair counted once.

    A free seat makes it a wasted seat; otherwise an admitted non-holder with fewer points
    makes it points-justified envy; otherwise one with equal points and lower priority makes
    it lottery-justified envy. Locked children are neither envied nor envious.
    """
    if states is None:
        states = node_states(inst, assign)
    pos = states.pos
    total = states.total
    min_points = states.min_points
    by_points = states.max_key_by_points
    cap = inst.cap
    care = inst.care
    lock = inst.lock
    wish_fac = inst.wish_fac
    wish_points = inst.wish_points
    wish_key = inst.wish_key
    out: list[tuple[int, int, BlockingKind]] = []
    for i in range(inst.n):
        k_end = pos[i]
        if k_end == 0 or lock[i] >= 0:
            continue
        fs = wish_fac[i]
        if k_end < 0:
            k_end = len(fs)
        ct = care[i]
        first = len(out)
        for k in range(k_end):
            f = fs[k]
            node = f * NCT + ct
            seats = cap[node]
            if seats <= 0:
                continue
            if total[node] < seats:
                out.append((i, f, "wasted_seat"))
                continue
            mp = min_points[node]
            if mp is None:
                continue
            p = wish_points[i][k]
            if mp < p:
                out.append((i, f, "envy_points"))
            else:
                d = by_points[node]
                if d is not None and d.get(p, -1) > wish_key[i][k]:
                    out.append((i, f, "envy_lottery"))
        if len(out) - first > 1:
            # children are in id order already; within a child, order by facility id
            fac_ids = inst.fac_ids
            out[first:] = sorted(out[first:], key=lambda t: fac_ids[t[1]])
    return out


def cutoffs(
    inst: Instance, assign: Sequence[int], states: NodeStates | None = None
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
            d = states.worst_child[node]
            if states.total[node] < seats or d < 0:
                out.append(Cutoff(facility=fac.id, care_type=ct, priority=None, tiebreak=None))
                continue
            out.append(
                Cutoff(
                    facility=fac.id,
                    care_type=ct,
                    priority=inst.wish_points[d][states.pos[d]],
                    tiebreak=inst.tiebreak[d],
                )
            )
    return out


def figures(
    inst: Instance,
    assign: Sequence[int],
    blocking: list[tuple[int, int, BlockingKind]],
    pos: list[int] | None = None,
) -> Figures:
    if pos is None:
        pos = positions(inst, assign)
    placed = first = rank_sum = 0
    wish_rank = inst.wish_rank
    for i, k in enumerate(pos):
        if k < 0:
            continue
        r = wish_rank[i][k]
        placed += 1
        rank_sum += r
        if r == 1:
            first += 1
    wasted = points = lottery = 0
    for _, _, kind in blocking:
        if kind == "wasted_seat":
            wasted += 1
        elif kind == "envy_points":
            points += 1
        else:
            lottery += 1
    named = 0
    unplaced = 0
    for g, members in enumerate(inst.groups):
        if inst.group_named[g]:
            named += 1
            if any(assign[i] < 0 for i in members):
                unplaced += 1
    return Figures(
        placed=placed,
        first_choice=first,
        rank_sum=rank_sum,
        wasted_seats=wasted,
        envy_points=points,
        envy_lottery=lottery,
        sibling_groups=named,
        sibling_groups_unplaced=unplaced,
    )


def blocking_records(
    inst: Instance, blocking: list[tuple[int, int, BlockingKind]]
) -> list[BlockingPair]:
    return [
        BlockingPair(child=inst.child_ids[i], facility=inst.fac_ids[f], kind=kind)
        for i, f, kind in blocking
    ]
