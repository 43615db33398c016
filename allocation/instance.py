"""The reduced problem in integer form, shared by every solver.

Children are indexed in ascending id order, facilities in problem order. A *node* is one
(facility, care type) pair: ``node = facility * 3 + care_type``. Bans are removed from the
wish lists (ranks still count in the family's own list), locked children are set aside with
their seats, and every (child, wish) carries the child's effective priority *key* at that
facility: smaller is better (holding a place first, then more points, then lower tiebreak,
then the child id).
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from .model import CARE_TYPES, Problem, Status

NCT = len(CARE_TYPES)
HOLD_POINTS = 1 << 62  # a holder outranks every points value at its held place


@dataclass(frozen=True)
class Outcome:
    """What a solver returns: the assignment plus status, bound on placed and a note."""

    assign: list[int]
    status: Status
    bound: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class Instance:
    problem: Problem
    fac_ids: tuple[str, ...]
    child_ids: tuple[str, ...]
    care: tuple[int, ...]
    cap: tuple[int, ...]
    rcap: tuple[int, ...]
    wish_fac: tuple[tuple[int, ...], ...]
    wish_rank: tuple[tuple[int, ...], ...]
    wish_points: tuple[tuple[int, ...], ...]
    wish_key: tuple[tuple[int, ...], ...]
    tiebreak: tuple[int, ...]
    hold: tuple[int, ...]
    lock: tuple[int, ...]
    group: tuple[int, ...]
    groups: tuple[tuple[int, ...], ...]
    group_named: tuple[bool, ...]
    n_wishes: tuple[int, ...]
    banned: frozenset[tuple[int, int]]
    infeasible: str | None

    @property
    def n(self) -> int:
        return len(self.child_ids)

    def node(self, child: int, fac: int) -> int:
        return fac * NCT + self.care[child]

    def multi_groups(self) -> list[tuple[int, ...]]:
        return [g for g in self.groups if len(g) > 1]


def build_instance(problem: Problem) -> Instance:
    fac_ids = tuple(f.id for f in problem.facilities)
    fidx = {f: i for i, f in enumerate(fac_ids)}
    ct_idx = {ct: i for i, ct in enumerate(CARE_TYPES)}
    cap = [0] * (len(fac_ids) * NCT)
    for fi, fac in enumerate(problem.facilities):
        for ct, seats in fac.capacity:
            cap[fi * NCT + ct_idx[ct]] = seats

    children = sorted(problem.children, key=attrgetter("id"))
    child_ids = tuple(c.id for c in children)
    n = len(children)
    tiebreak = tuple(c.tiebreak for c in children)
    # children are in id order, so a stable sort by tiebreak orders by (tiebreak, id)
    lottery_order = sorted(range(n), key=tiebreak.__getitem__)
    lottery = [0] * n
    for pos, i in enumerate(lottery_order):
        lottery[i] = pos

    banned: set[tuple[int, int]] = set()
    if problem.bans:
        cidx = {c: i for i, c in enumerate(child_ids)}
        for b in problem.bans:
            banned.add((cidx[b.child], fidx[b.facility]))

    infeasible: str | None = None
    lock = [-1] * n
    if problem.locks:
        cidx = {c: i for i, c in enumerate(child_ids)}
        for lk in problem.locks:
            i, f = cidx[lk.child], fidx[lk.facility]
            if lock[i] not in (-1, f):
                infeasible = f"child '{lk.child}' is locked at two facilities"
            lock[i] = f
            if (i, f) in banned:
                infeasible = f"child '{lk.child}' is locked at banned facility '{lk.facility}'"

    pmin, pmax = 0, 0
    for c in children:
        if c.priority:
            values = [p for _, p in c.priority]
            pmin, pmax = min(pmin, *values), max(pmax, *values)
    span = pmax - pmin + 1
    hold_weight = span * n
    top = hold_weight + pmax * n

    care = [ct_idx[c.care_type] for c in children]
    hold: list[int] = []
    wish_fac: list[tuple[int, ...]] = []
    wish_rank: list[tuple[int, ...]] = []
    wish_points: list[tuple[int, ...]] = []
    wish_key: list[tuple[int, ...]] = []
    n_wishes: list[int] = []
    ranks_of_len = [tuple(range(1, k + 1)) for k in range(9)]
    zeros_of_len = [(0,) * k for k in range(9)]
    group_index: dict[str, int] = {}
    group_members: list[list[int]] = []
    group: list[int] = []
    group_named: list[bool] = []
    for i, c in enumerate(children):
        wishes = c.wishes
        nw = len(wishes)
        n_wishes.append(nw)
        h = -1
        if c.holds is not None:
            h = fidx[c.holds]
            if (i, h) in banned:
                infeasible = f"child '{c.id}' holds a place at banned facility '{c.holds}'"
            if lock[i] >= 0 and wishes.index(c.holds) < wishes.index(fac_ids[lock[i]]):
                infeasible = f"child '{c.id}' is locked at a worse wish than the place it holds"
        hold.append(h)
        fs = tuple([fidx[w] for w in wishes])
        base = top + lottery[i]
        if banned and any((i, f) in banned for f in fs):
            pts = dict(c.priority)
            kept = [
                (f, r, pts.get(w, 0)) for r, (f, w) in enumerate(zip(fs, wishes, strict=True), 1)
            ]
            kept = [t for t in kept if (i, t[0]) not in banned]
            fs = tuple(t[0] for t in kept)
            rs = tuple(t[1] for t in kept)
            ps = tuple(t[2] for t in kept)
        else:
            rs = ranks_of_len[nw] if nw < len(ranks_of_len) else tuple(range(1, nw + 1))
            if c.priority:
                pts = dict(c.priority)
                ps = tuple([pts.get(w, 0) for w in wishes])
            else:
                ps = zeros_of_len[nw] if nw < len(zeros_of_len) else (0,) * nw
        if h >= 0 and h in fs:
            ks = [base - p * n for p in ps]
            ks[fs.index(h)] -= hold_weight
            wish_key.append(tuple(ks))
        else:
            wish_key.append(tuple([base - p * n for p in ps]))
        wish_fac.append(fs)
        wish_rank.append(rs)
        wish_points.append(ps)
        sg = c.sibling_group
        if sg is None:
            group.append(len(group_members))
            group_members.append([i])
            group_named.append(False)
        else:
            g = group_index.setdefault(sg, len(group_members))
            if g == len(group_members):
                group_members.append([])
                group_named.append(True)
            group_members[g].append(i)
            group.append(g)

    rcap = list(cap)
    if problem.locks:
        for i in range(n):
            if lock[i] >= 0:
                rcap[lock[i] * NCT + care[i]] -= 1
        if any(r < 0 for r in rcap):
            infeasible = "more locks than seats at a facility"

    return Instance(
        problem=problem,
        fac_ids=fac_ids,
        child_ids=child_ids,
        care=tuple(care),
        cap=tuple(cap),
        rcap=tuple(rcap),
        wish_fac=tuple(wish_fac),
        wish_rank=tuple(wish_rank),
        wish_points=tuple(wish_points),
        wish_key=tuple(wish_key),
        tiebreak=tiebreak,
        hold=tuple(hold),
        lock=tuple(lock),
        group=tuple(group),
        groups=tuple(tuple(m) for m in group_members),
        group_named=tuple(group_named),
        n_wishes=tuple(n_wishes),
        banned=frozenset(banned),
        infeasible=infeasible,
    )
