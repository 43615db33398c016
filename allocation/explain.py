"""Per-child explanations: why each better-ranked wish did not work out.

For every child not placed at its first wish, one entry per better wish (banned wishes
included, in the family's own order) with the first reason that applies:

``banned``; ``no_capacity`` (no seat of the child's care type); ``taken_by_locks_or_holds``
(every seat went to a locked child or a child holding its place there, or the child itself
was locked elsewhere); ``full`` (the cutoff has more points); ``lottery`` (equal points,
worse tiebreak than the cutoff); otherwise the seat was free or taken by a child of lower
priority: ``sibling_constraint`` if the child's sibling group had to stay together,
``mode_choice`` if the mode chose so to place more children.

The verdict of every (facility, care type) is computed once; each wish then costs one
comparison with the node's cutoff key. Equal explanations are shared (they are immutable).
"""

from __future__ import annotations

from collections.abc import Sequence

from .instance import NCT, Instance
from .metrics import NodeStates
from .model import Explanation, Reason, Siblings

# node verdicts
_NO_CAPACITY = 0
_TAKEN = 1
_CUTOFF = 2
_OPEN = 3


def explanations(
    inst: Instance,
    assign: Sequence[int],
    states: NodeStates,
    siblings: Siblings,
) -> list[tuple[str, tuple[Explanation, ...]]]:
    cap = inst.cap
    nn = len(cap)
    verdict = [_OPEN] * nn
    cut_key = [-1] * nn
    cut_points = [0] * nn
    cut_tiebreak = [0] * nn
    total = states.total
    reserved = states.reserved
    worst_child = states.worst_child
    for node in range(nn):
        seats = cap[node]
        if seats <= 0:
            verdict[node] = _NO_CAPACITY
        elif reserved[node] >= seats:
            verdict[node] = _TAKEN
        elif total[node] >= seats and worst_child[node] >= 0:
            d = worst_child[node]
            if inst.hold[d] == node // NCT:
                verdict[node] = _TAKEN
            else:
                verdict[node] = _CUTOFF
                cut_key[node] = states.worst_key[node]
                cut_points[node] = inst.wish_points[d][states.pos[d]]
                cut_tiebreak[node] = inst.tiebreak[d]

    fac_ids = inst.fac_ids
    memo: dict[tuple[int, int, int, int], Explanation] = {}

    def plain(f: int, rank: int, code: int) -> Explanation:
        key = (f, rank, code, 0)
        e = memo.get(key)
        if e is None:
            e = memo[key] = Explanation(fac_ids[f], rank, _REASONS[code])
        return e

    def full(f: int, rank: int, node: int, own: int) -> Explanation:
        key = (f, rank, -1 - node, own)
        e = memo.get(key)
        if e is None:
            e = memo[key] = Explanation(
                fac_ids[f],
                rank,
                "full",
                cutoff_priority=cut_points[node],
                cutoff_tiebreak=cut_tiebreak[node],
                own_priority=own,
            )
        return e

    wishes_of: dict[str, tuple[str, ...]] = {}
    if inst.banned:
        wishes_of = {c.id: c.wishes for c in inst.problem.children}

    def banned(i: int, rank: int) -> Explanation:
        return Explanation(wishes_of[inst.child_ids[i]][rank - 1], rank, "banned")

    pos = states.pos
    care = inst.care
    lock = inst.lock
    wish_fac = inst.wish_fac
    wish_rank = inst.wish_rank
    wish_key = inst.wish_key
    wish_points = inst.wish_points
    n_wishes = inst.n_wishes
    groups = inst.groups
    group = inst.group
    together = siblings == "together"
    child_ids = inst.child_ids
    out: list[tuple[str, tuple[Explanation, ...]]] = []
    for i in range(inst.n):
        k_end = pos[i]
        rs = wish_rank[i]
        if k_end == 0 and rs[0] == 1:
            continue
        fs = wish_fac[i]
        if k_end < 0:
            k_end = len(fs)
            own_rank = n_wishes[i] + 1
        else:
            own_rank = rs[k_end]
        if own_rank == 1:
            continue
        other = _MODE_CHOICE
        if together and len(groups[group[i]]) > 1:
            other = _SIBLING
        ct = care[i]
        locked = lock[i] >= 0
        entries: list[Explanation] = []
        expected = 1
        for k in range(k_end):
            f = fs[k]
            rank = rs[k]
            if rank != expected:
                # banned wishes sit in the gaps of the ranks
                for r in range(expected, rank):
                    entries.append(banned(i, r))
            expected = rank + 1
            node = f * NCT + ct
            v = verdict[node]
            if v == _NO_CAPACITY:
                entries.append(plain(f, rank, _NO_CAP_CODE))
            elif locked or v == _TAKEN:
                entries.append(plain(f, rank, _TAKEN_CODE))
            elif v == _CUTOFF and cut_key[node] < wish_key[i][k]:
                own = wish_points[i][k]
                if cut_points[node] > own:
                    entries.append(full(f, rank, node, own))
                else:
                    entries.append(plain(f, rank, _LOTTERY_CODE))
            else:
                entries.append(plain(f, rank, other))
        for r in range(expected, own_rank):
            entries.append(banned(i, r))
        out.append((child_ids[i], tuple(entries)))
    return out


_REASONS: tuple[Reason, ...] = (
    "banned",
    "no_capacity",
    "taken_by_locks_or_holds",
    "lottery",
    "sibling_constraint",
    "mode_choice",
)
_NO_CAP_CODE = 1
_TAKEN_CODE = 2
_LOTTERY_CODE = 3
_SIBLING = 4
_MODE_CHOICE = 5
