"""Per-child explanations: why each better-ranked wish did not work out.

For every child not placed at its first wish, one entry per better wish (banned wishes
included, in the family's own order) with the first reason that applies:

``banned``; ``no_capacity`` (no seat of the child's care type); ``taken_by_locks_or_holds``
(every seat went to a locked child or a child holding its place there, or the child itself
was locked elsewhere); ``full`` (the cutoff has more points); ``lottery`` (equal points,
worse tiebreak than the cutoff); otherwise the seat was free or taken by a child of lower
priority: ``sibling_constraint`` if the child's sibling group had to stay together,
``mode_choice`` if the mode chose so to place more children.
"""

from __future__ import annotations

from .instance import NCT, Instance
from .metrics import NodeState
from .model import CARE_TYPES, Explanation, Siblings


def explanations(
    inst: Instance,
    assign: list[int],
    states: dict[int, NodeState],
    siblings: Siblings,
) -> list[tuple[str, tuple[Explanation, ...]]]:
    fidx = {f: i for i, f in enumerate(inst.fac_ids)}
    children = sorted(inst.problem.children, key=lambda c: c.id)
    reserved: dict[int, int] = {}
    for i, f in enumerate(assign):
        if f >= 0 and (inst.lock[i] >= 0 or inst.hold[i] == f):
            node = f * NCT + inst.care[i]
            reserved[node] = reserved.get(node, 0) + 1
    out: list[tuple[str, tuple[Explanation, ...]]] = []
    for i, child in enumerate(children):
        a = assign[i]
        own_rank = child.wishes.index(inst.fac_ids[a]) + 1 if a >= 0 else len(child.wishes) + 1
        if own_rank == 1:
            continue
        in_group = siblings == "together" and len(inst.groups[inst.group[i]]) > 1
        ct = CARE_TYPES.index(child.care_type)
        entries: list[Explanation] = []
        for rank, fid in enumerate(child.wishes[: own_rank - 1], start=1):
            f = fidx[fid]
            node = f * NCT + ct
            seats = inst.cap[node]
            if (i, f) in inst.banned:
                entries.append(Explanation(fid, rank, "banned"))
                continue
            if seats <= 0:
                entries.append(Explanation(fid, rank, "no_capacity"))
                continue
            if inst.lock[i] >= 0 or reserved.get(node, 0) >= seats:
                entries.append(Explanation(fid, rank, "taken_by_locks_or_holds"))
                continue
            st = states.get(node)
            k = inst.wish_fac[i].index(f)
            key = inst.wish_key[i][k]
            own = inst.wish_points[i][k]
            if st is not None and st.total >= seats and st.worst_child >= 0:
                d = st.worst_child
                dk = inst.wish_fac[d].index(f)
                if inst.hold[d] == f:
                    entries.append(Explanation(fid, rank, "taken_by_locks_or_holds"))
                    continue
                if st.worst_key < key:
                    cut = inst.wish_points[d][dk]
                    if cut > own:
                        entries.append(
                            Explanation(
                                fid,
                                rank,
                                "full",
                                cutoff_priority=cut,
                                cutoff_tiebreak=inst.tiebreak[d],
                                own_priority=own,
                            )
                        )
                    else:
                        entries.append(Explanation(fid, rank, "lottery"))
                    continue
            if in_group:
                entries.append(Explanation(fid, rank, "sibling_constraint"))
            else:
                entries.append(Explanation(fid, rank, "mode_choice"))
        out.append((child.id, tuple(entries)))
    return out
