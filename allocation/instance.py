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

from .model import CARE_TYPES, Problem, Status

NCT = len(CARE_TYPES)


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

    children = sorted(problem.children, key=lambda c: c.id)
    child_ids = tuple(c.id for c in children)
    cidx = {c: i for i, c in enumerate(child_ids)}
    n = len(children)
    lottery_order = sorted(range(n), key=lambda i: (children[i].tiebreak, children[i].id))
    lottery = [0] * n
    for pos, i in enumerate(lottery_order):
        lottery[i] = pos

    banned: set[tuple[int, int]] = set()
    for b in problem.bans:
        banned.add((cidx[b.child], fidx[b.facility]))

    infeasible: str | None = None
    lock = [-1] * n
    for lk in problem.locks:
        i, f = cidx[lk.child], fidx[lk.facility]
        if lock[i] not in (-1, f):
            infeasible = f"child '{lk.child}' is locked at two facilities"
        lock[i] = f
        if (i, f) in banned:
            infeasible = f"child '{lk.child}' is locked at banned facility '{lk.facility}'"

    pmin, pmax = 0, 0
    for c in children:
        for _, p in c.priority:
            pmin, pmax = min(pmin, p), max(pmax, p)
    span = pmax - pmin + 1
    hold_weight = span * n

    care: list[int] = []
    hold: list[int] = []
    wish_fac: list[tuple[int, ...]] = []
    wish_rank: list[tuple[int, ...]] = []
    wish_points: list[tuple[int, ...]] = []
    wish_key: list[tuple[int, ...]] = []
    group_index: dict[str, int] = {}
    group_members: list[list[int]] = []
    group: list[int] = []
    for i, c in enumerate(children):
        care.append(ct_idx[c.care_type])
        h = fidx[c.holds] if c.holds is not None else -1
        if h >= 0 and (i, h) in banned:
            infeasible = f"child '{c.id}' holds a place at banned facility '{c.holds}'"
        if (
            h >= 0
            and lock[i] >= 0
            and c.wishes.index(c.holds or "") < c.wishes.index(fac_ids[lock[i]])
        ):
            infeasible = f"child '{c.id}' is locked at a worse wish than the place it holds"
        hold.append(h)
        pts = dict(c.priority)
        fs: list[int] = []
        rs: list[int] = []
        ps: list[int] = []
        ks: list[int] = []
        for rank, fid in enumerate(c.wishes, start=1):
            f = fidx[fid]
            if (i, f) in banned:
                continue
            p = pts.get(fid, 0)
            fs.append(f)
            rs.append(rank)
            ps.append(p)
            ks.append((0 if f == h else hold_weight) + (pmax - p) * n + lottery[i])
        wish_fac.append(tuple(fs))
        wish_rank.append(tuple(rs))
        wish_points.append(tuple(ps))
        wish_key.append(tuple(ks))
        if c.sibling_group is None:
            group.append(len(group_members))
            group_members.append([i])
        else:
            g = group_index.setdefault(c.sibling_group, len(group_members))
            if g == len(group_members):
                group_members.append([])
            group_members[g].append(i)
            group.append(g)

    rcap = list(cap)
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
        tiebreak=tuple(c.tiebreak for c in children),
        hold=tuple(hold),
        lock=tuple(lock),
        group=tuple(group),
        groups=tuple(tuple(m) for m in group_members),
        banned=frozenset(banned),
        infeasible=infeasible,
    )
