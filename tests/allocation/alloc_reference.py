"""Naive reference implementations straight from the contract's definitions.

Deliberately independent of the package internals: they work on the Problem and a plain
{child id: facility id or None} mapping, by enumeration.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from allocation import Problem

Assign = dict[str, str | None]


def reduced_wishes(problem: Problem, child_id: str) -> list[str]:
    banned = {(b.child, b.facility) for b in problem.bans}
    child = next(c for c in problem.children if c.id == child_id)
    return [f for f in child.wishes if (child_id, f) not in banned]


def feasible(problem: Problem, assign: Assign, together: bool) -> bool:
    banned = {(b.child, b.facility) for b in problem.bans}
    locks = {lk.child: lk.facility for lk in problem.locks}
    fac = {f.id: f for f in problem.facilities}
    used: dict[tuple[str, str], int] = {}
    for c in problem.children:
        a = assign[c.id]
        if c.id in locks and a != locks[c.id]:
            return False
        if a is None:
            if c.holds is not None:
                return False
            continue
        if a not in c.wishes or (c.id, a) in banned:
            return False
        if c.holds is not None and c.wishes.index(a) > c.wishes.index(c.holds):
            return False
        key = (a, c.care_type)
        used[key] = used.get(key, 0) + 1
        if used[key] > fac[a].seats(c.care_type):
            return False
    if together:
        groups: dict[str, set[str | None]] = {}
        for c in problem.children:
            if c.sibling_group is not None:
                groups.setdefault(c.sibling_group, set()).add(assign[c.id])
        if any(len(v) > 1 for v in groups.values()):
            return False
    return True


def blocking(problem: Problem, assign: Assign) -> list[tuple[str, str, str]]:
    locked = {lk.child for lk in problem.locks}
    fac = {f.id: f for f in problem.facilities}

    def eff(c_id: str, f: str) -> tuple[int, int, int, str]:
        c = next(x for x in problem.children if x.id == c_id)
        return (0 if c.holds == f else 1, -c.points(f), c.tiebreak, c.id)

    out: list[tuple[str, str, str]] = []
    for c in problem.children:
        if c.id in locked:
            continue
        a = assign[c.id]
        for f in reduced_wishes(problem, c.id):
            if f == a:
                break
            seats = fac[f].seats(c.care_type)
            if seats == 0:
                continue
            occupants = [
                d for d in problem.children if assign[d.id] == f and d.care_type == c.care_type
            ]
            if len(occupants) < seats:
                out.append((c.id, f, "wasted_seat"))
                continue
            lower = [d for d in occupants if d.id not in locked and eff(d.id, f) > eff(c.id, f)]
            if any(d.points(f) < c.points(f) and d.holds != f for d in lower):
                out.append((c.id, f, "envy_points"))
            elif any(d.points(f) == c.points(f) for d in lower):
                out.append((c.id, f, "envy_lottery"))
    return sorted(out)


def all_assignments(problem: Problem, together: bool) -> Iterator[Assign]:
    ids = [c.id for c in problem.children]
    options = [[None, *reduced_wishes(problem, c)] for c in ids]
    for combo in itertools.product(*options):
        assign: Assign = dict(zip(ids, combo, strict=True))
        if feasible(problem, assign, together):
            yield assign


def rank(problem: Problem, child_id: str, f: str | None) -> int | None:
    if f is None:
        return None
    child = next(c for c in problem.children if c.id == child_id)
    return child.wishes.index(f) + 1


def summary(problem: Problem, assign: Assign) -> dict[str, int]:
    pairs = blocking(problem, assign)
    ranks = [rank(problem, c, f) for c, f in assign.items()]
    placed = [r for r in ranks if r is not None]
    kinds = [k for _, _, k in pairs]
    return {
        "placed": len(placed),
        "rank_sum": sum(placed),
        "first_choice": sum(1 for r in placed if r == 1),
        "wasted": kinds.count("wasted_seat"),
        "points": kinds.count("envy_points"),
        "lottery": kinds.count("envy_lottery"),
    }
