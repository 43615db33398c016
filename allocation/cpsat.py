"""CP-SAT models for the combinatorial cases: siblings together, fair-max, stable with groups.

One compact *cutoff* formulation serves every mode (after Agoston, Biro and McBride's
cutoff-score models and the couples/ties models of Biro, Manlove and McBride):

* ``x[c,f]`` — child c placed at wish f (sibling groups under ``together`` share one literal
  per common wish, so a group is placed entirely at one facility or not at all);
* per (facility, care type) the non-holding candidates sorted by effective priority and a
  suffix chain ``s[p] = OR(x at positions >= p)`` — "someone at or below position p is
  admitted" — one Boolean per wish, never one per pair of children;
* ``free[f]`` — the node has an empty seat (exact: ``sum x + free <= cap`` and
  ``sum x + cap*free >= cap``);
* for every (child, better wish) with ``S`` = the child's placement at that wish or better:
  wasted seat ``w >= free - S``; points-justified envy ``p >= s[b] - free - S`` where ``b``
  is the first position with fewer points; lottery-justified envy
  ``l >= s[q] - s[b] - free - S`` where ``q`` is the child's own insertion position.

Blocking pairs are thus linear in the number of wishes. ``fair-max`` without sibling groups
makes ``w`` and ``p`` hard (``free <= S``, ``s[b] <= S``), and so do fair-max and stable mode
with groups once some assignment keeping them together has neither (``fair_known``).
Objectives are lexicographic and solved in stages (consecutive levels share one weighted
solve where the weights stay small, see ``_stage_groups``), each stage fixing the previous
optimum and warm-started from the previous solution (the first from deferred acceptance).
"""

from __future__ import annotations

import bisect
import hashlib
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from .deferred import (
    deferred_acceptance,
    group_deferred_acceptance,
    keeps_groups_together,
    promoted_deferred_acceptance,
)
from .flow import allowed_wishes, max_placement_flow
from .instance import HOLD_POINTS, NCT, Instance, Outcome
from .metrics import blocking_pairs, figures
from .model import ResolvedOptions, Status

NUM_WORKERS = 2
SMALL_CHILDREN = 1_000
SMALL_WORKERS = 1  # workers for parts up to SMALL_CHILDREN (the result does not depend on it)
# share of the remaining time for a stage that is not the last: placing children (the gap)
# matters more than the lottery level after it when the limit is reached
STAGE_SHARE = 0.75
TIE_WEIGHT_BITS = 31


# a variable and its coefficient in a linear objective
Term = tuple[cp_model.IntVar, int]


@dataclass
class _Model:
    model: cp_model.CpModel = field(default_factory=cp_model.CpModel)
    # per child: list of (facility, rank, literal) in wish order
    lits: defaultdict[int, list[tuple[int, int, cp_model.IntVar]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # the children with literals (a neighbourhood's free ones), ascending
    children: Sequence[int] = ()
    placed: list[cp_model.IntVar] = field(default_factory=list)
    rank_terms: list[Term] = field(default_factory=list)
    # blocking-pair terms (a Boolean with weight 1, or the number of fixed children in a
    # class times its Boolean)
    wasted: list[Term] = field(default_factory=list)
    envy_points: list[Term] = field(default_factory=list)
    envy_lottery: list[Term] = field(default_factory=list)
    # (s, x, t) per suffix literal s = x or t; only its lower bounds are in the model at first
    suffix_defs: list[tuple[cp_model.IntVar, cp_model.IntVar, cp_model.IntVar]] = field(
        default_factory=list
    )
    # (lo, s_q, s_b, free, placed-at-or-better literals): lo >= s_q - s_b - free - placed
    lottery_defs: list[
        tuple[
            cp_model.IntVar,
            cp_model.IntVar,
            cp_model.IntVar | None,
            cp_model.IntVar,
            tuple[cp_model.IntVar, ...],
        ]
    ] = field(default_factory=list)
    # upper bounds of the three blocking-pair sums (for combining objectives exactly)
    wasted_ub: int = 0
    points_ub: int = 0
    lottery_ub: int = 0
    # what fair assignments can look like (fair-max with hard fairness; None otherwise)
    domains: Domains | None = None
    infeasible: str | None = None
    # the constant 1 that stands for the fixed children at a place (neighbourhoods only)
    one: cp_model.IntVar | None = None


_BOOLEAN = cp_model.Domain(0, 1)


def _new_bool(model: cp_model.CpModel) -> cp_model.IntVar:
    """An anonymous Boolean: the variable ``model.new_bool_var("")`` adds to the proto, at
    half its cost (no name to set, the 0-1 domain made once; 2.9 instead of 6 µs, and a
    city neighbourhood's model has ~2,000 of them)."""
    return cp_model.IntVar(model.model_proto).with_domain(_BOOLEAN)


UNPLACED = 1 << 14  # the wish position of an unplaced child: after every wish


class Wishers:
    """Per place (node) with seats, the non-locked children that may take it, by key.

    ``rows[node]``: (key, child, wish index, -points) tuples; ``arrays[node]``: the same
    columns as numpy arrays plus "holds this place". ``pos[i]``: the index of child i's
    current place in its wish list (``UNPLACED`` if none); whoever changes the assignment
    keeps it in step (``place``).
    """

    def __init__(self, inst: Instance, assign: Sequence[int]) -> None:
        rows: dict[int, list[tuple[int, int, int, int]]] = {}
        rcap = inst.rcap
        for i in range(inst.n):
            if inst.lock[i] >= 0:
                continue
            care, fs, ks, ps = inst.care[i], inst.wish_fac[i], inst.wish_key[i], inst.wish_points[i]
            for k in range(allowed_wishes(inst, i)):
                node = fs[k] * NCT + care
                if rcap[node] > 0:
                    rows.setdefault(node, []).append((ks[k], i, k, -ps[k]))
        self.arrays: dict[int, tuple[np.ndarray, ...]] = {}
        for node, r in rows.items():
            r.sort()
            child = np.array([t[1] for t in r], dtype=np.int64)
            held = np.array([inst.hold[t[1]] == node // NCT for t in r], dtype=bool)
            self.arrays[node] = (
                child,
                np.array([t[2] for t in r], dtype=np.int32),
                np.array([t[0] for t in r], dtype=np.int64),
                np.array([t[3] for t in r], dtype=np.int64),
                held,
            )
        self.rows = rows
        self.inst = inst
        self.pos = np.array(
            [UNPLACED if f < 0 else inst.wish_fac[i].index(f) for i, f in enumerate(assign)],
            dtype=np.int32,
        )

    def get(
        self, node: int, default: Sequence[tuple[int, int, int, int]] = ()
    ) -> Sequence[tuple[int, int, int, int]]:
        return self.rows.get(node, default)

    def place(self, i: int, f: int) -> None:
        """Child i now sits at facility f (-1: unplaced)."""
        self.pos[i] = UNPLACED if f < 0 else self.inst.wish_fac[i].index(f)


@dataclass(frozen=True)
class Fixed:
    """The children outside a neighbourhood, as far as its places see them.

    A fixed child keeps its place; it matters only at a neighbourhood place it sits at or
    wishes more than its own place (or it is unplaced). Per place: ``seats`` they take;
    ``last`` the (key, -points) of the last of them by priority (a holder at its held place
    aside): whether someone is admitted behind a given key is a constant up to it, so it
    stands for all of them; ``enviers`` the keys and -points (two arrays) of those who wish
    it more, by key: their blocking pairs there depend only on who the free children leave
    admitted.
    """

    seats: dict[int, int]
    last: dict[int, tuple[int, int]]
    enviers: dict[int, tuple[np.ndarray, np.ndarray]]


def fixed_children(nodes: frozenset[int], free: tuple[int, ...], wishers: Wishers) -> Fixed:
    """Scan the wishers of ``nodes`` at the assignment ``wishers.pos`` stands for (a
    metropolis neighbourhood: ~240 places, ~36,000 wishers; vectorised per place)."""
    seats: dict[int, int] = {}
    last: dict[int, tuple[int, int]] = {}
    enviers: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    is_free = np.zeros(len(wishers.pos), dtype=bool)
    is_free[list(free)] = True
    pos = wishers.pos
    for node in sorted(nodes):
        got = wishers.arrays.get(node)
        if got is None:
            continue
        child, k, key, negp, held = got
        at = pos[child]
        fixed = ~is_free[child]
        sitting = fixed & (k == at)
        count = int(np.count_nonzero(sitting))
        if count:
            seats[node] = count
            rows = np.flatnonzero(sitting & ~held)
            if rows.size:  # rows ascend by key: the last one
                last[node] = (int(key[rows[-1]]), int(negp[rows[-1]]))
        env = fixed & (k < at) & ~held
        if env.any():
            enviers[node] = (key[env], negp[env])
    return Fixed(seats=seats, last=last, enviers=enviers)


@dataclass(frozen=True)
class Neighbourhood:
    """A part of the problem to re-optimise; everyone else keeps ``base``.

    ``free`` children (closed under sibling groups) get variables; ``nodes`` are the
    (facility, care type) pairs they may take; ``fixed``: every other child keeps its
    ``base`` facility as a constant (see ``Fixed``).
    """

    free: tuple[int, ...]
    fixed: Fixed
    nodes: frozenset[int]
    base: tuple[int, ...]


def _build(
    inst: Instance,
    mode: str,
    together: bool,
    nbh: Neighbourhood | None = None,
    fair_known: bool = False,
    domains: Domains | None = None,
) -> _Model:
    """The cutoff model; ``fair_known``: an assignment keeping the groups together is known
    to have no wasted seat and no points-justified envy (fair-max makes both hard then);
    ``domains`` (fair-max with hard fairness only): the possible places of each child."""
    m = _Model()
    model = m.model
    n = inst.n
    hard = _hard(mode, together, fair_known)
    domains = domains if hard else None
    m.domains = domains
    if nbh is None:
        free_children: Sequence[int] = range(n)
        relevant: Sequence[int] = range(n)
        group_list: Sequence[tuple[int, ...]] = inst.groups
    else:
        free_children = nbh.free
        relevant = nbh.free
        seen_groups = sorted({inst.group[i] for i in nbh.free})
        group_list = [inst.groups[g] for g in seen_groups]
        m.one = model.new_constant(1)
    m.children = relevant
    # literals, shared inside sibling groups
    for members in group_list:
        free = [i for i in members if inst.lock[i] < 0]
        if not free:
            continue
        if together and len(members) > 1:
            locked = {inst.lock[i] for i in members if inst.lock[i] >= 0}
            if len(locked) > 1:
                m.infeasible = "a sibling group is locked at two facilities"
                return m
            allowed = [
                {f: r for f, r in zip(inst.wish_fac[i], inst.wish_rank[i], strict=True)}
                for i in free
            ]
            for idx, i in enumerate(free):
                keep = {inst.wish_fac[i][k] for k in _possible(inst, domains, i)}
                allowed[idx] = {f: r for f, r in allowed[idx].items() if f in keep}
            common = set(allowed[0])
            for a in allowed[1:]:
                common &= set(a)
            if locked:
                common &= locked
                if not common:
                    m.infeasible = "a locked child's siblings cannot join it"
                    return m
            common = {f for f in common if all(inst.rcap[f * NCT + inst.care[i]] > 0 for i in free)}
            shared = {f: model.new_bool_var(f"g{inst.group[free[0]]}_{f}") for f in sorted(common)}
            for idx, i in enumerate(free):
                for f in inst.wish_fac[i]:
                    if f in shared:
                        m.lits[i].append((f, allowed[idx][f], shared[f]))
            model.add_at_most_one(shared.values())
            if locked:
                model.add(sum(shared.values()) == 1)
        else:
            for i in free:
                row = m.lits[i]
                for k in _possible(inst, domains, i):
                    f = inst.wish_fac[i][k]
                    if inst.rcap[f * NCT + inst.care[i]] <= 0:
                        continue
                    row.append((f, inst.wish_rank[i][k], model.new_bool_var(f"x{i}_{f}")))
                if len(row) > 1:
                    model.add_at_most_one(lit for _, _, lit in row)
    for i in free_children:
        if inst.lock[i] >= 0:
            continue
        row = m.lits[i]
        if inst.hold[i] >= 0:
            if not row:
                m.infeasible = f"child '{inst.child_ids[i]}' cannot keep its place"
                return m
            model.add(sum(lit for _, _, lit in row) == 1)
        elif domains is not None and domains.forced[i]:
            model.add(sum(lit for _, _, lit in row) == 1)  # forced (see fair_domains)
        m.placed.extend(lit for _, _, lit in row)
        m.rank_terms.extend((lit, r) for _, r, lit in row)
    # capacities
    by_node: dict[int, list[cp_model.IntVar]] = {}
    for i in relevant:
        for f, _, lit in m.lits[i]:
            by_node.setdefault(f * NCT + inst.care[i], []).append(lit)
    for node in sorted(by_node):
        lits = by_node[node]
        room = inst.rcap[node] - (0 if nbh is None else nbh.fixed.seats.get(node, 0))
        if len(lits) > room:
            model.add(sum(lits) <= room)
    if mode == "max-placement":
        return m
    _add_stability(inst, m, by_node, hard=hard, nbh=nbh)
    return m


def _hard(mode: str, together: bool, fair_known: bool) -> bool:
    """No wasted seat and no points-justified envy as hard constraints: in fair-max unless
    sibling groups may leave no such assignment, and in stable mode with groups once one is
    known (``fair_known``: the first two levels of stable mode are then 0)."""
    if mode == "fair-max" and not together:
        return True
    return mode != "max-placement" and fair_known


def _possible(inst: Instance, domains: Domains | None, i: int) -> Sequence[int]:
    """The wish indices child i gets literals for."""
    return range(allowed_wishes(inst, i)) if domains is None else domains.wishes[i]


@dataclass(frozen=True)
class Domains:
    """What a fair assignment (no wasted seat, no points-justified envy) can look like.

    ``wishes[i]``: the indices into ``inst.wish_fac[i]`` child i can be placed at;
    ``forced[i]``: child i is placed in every fair assignment. A child with one possible
    wish and forced is *decided*: it sits there in every fair assignment.
    """

    wishes: list[tuple[int, ...]]
    forced: list[bool]

    def decided(self, i: int) -> bool:
        return self.forced[i] and len(self.wishes[i]) == 1

    def constant(self, i: int) -> bool:
        """Placed alike in every fair assignment: decided, or never placed."""
        return self.decided(i) or not self.wishes[i]

    def end(self, inst: Instance, i: int) -> int:
        """How many leading wishes can be better than child i's place."""
        if self.forced[i] and self.wishes[i]:
            return self.wishes[i][-1] + 1
        return allowed_wishes(inst, i)


def fair_domains(inst: Instance) -> Domains | None:
    """Narrow every child's possible places to those some fair assignment can use.

    Sound reasoning on the hard constraints of fair-max, iterated to a fixed point (each
    rule only removes what no fair assignment uses, so the model keeps exactly the same
    solutions with fewer variables). For a place v with ``cap`` seats and its candidates
    (the children v is still possible for):

    * *forced*: if at most ``cap`` candidates have c's points at v or more (or hold v),
      c is placed at v or better — otherwise v would be full (no wasted seat) with an
      occupant of fewer points than c who does not hold v (points-justified envy);
    * *full*: if ``cap`` decided children sit at v, nobody else can;
    * *envy*: c at v (not holding it) needs every child d that wishes v with more points
      than c to be placed at v or better; if some such d cannot be, or at least ``cap``
      such d can only be at v itself, c is not at v.

    ``None`` if the rules find no fair assignment at all (then the caller keeps the full
    model and lets CP-SAT say so).
    """
    n = inst.n
    wishes: list[list[int]] = []
    forced = [False] * n
    rows_at: dict[int, list[tuple[int, int, int]]] = {}
    for i in range(n):
        if inst.lock[i] >= 0:
            wishes.append([])
            continue
        facs, care, pts = inst.wish_fac[i], inst.care[i], inst.wish_points[i]
        row: list[int] = []
        for k in range(allowed_wishes(inst, i)):
            node = facs[k] * NCT + care
            if inst.rcap[node] <= 0:
                continue
            row.append(k)
            p = HOLD_POINTS if inst.hold[i] == facs[k] else pts[k]
            rows_at.setdefault(node, []).append((p, i, k))
        wishes.append(row)
        forced[i] = inst.hold[i] >= 0
    for rows in rows_at.values():
        rows.sort(key=lambda r: -r[0])
    touched: set[int] = set()

    def drop(i: int, keep: list[int]) -> None:
        # every place child i wishes sees its status change (as candidate or envier)
        wishes[i] = keep
        facs, care = inst.wish_fac[i], inst.care[i]
        touched.update(facs[k] * NCT + care for k in range(allowed_wishes(inst, i)))

    dirty = set(rows_at)
    while dirty:
        touched.clear()
        for node in sorted(dirty):
            rows = rows_at[node]
            cap = inst.rcap[node]
            cands = [r for r in rows if r[2] in wishes[r[1]]]
            # forced: a points level whose cumulative count of candidates is at most cap
            pos = 0
            while pos < len(cands):
                end = pos
                while end < len(cands) and cands[end][0] == cands[pos][0]:
                    end += 1
                if end > cap:
                    break
                for _, i, k in cands[pos:end]:
                    if not forced[i] or wishes[i][-1] > k:
                        forced[i] = True
                        drop(i, [x for x in wishes[i] if x <= k])
                pos = end
            # full
            sitting = [i for _, i, k in cands if forced[i] and wishes[i] == [k]]
            if len(sitting) > cap:
                return None
            if len(sitting) == cap:
                for _, i, k in cands:
                    if wishes[i] != [k]:
                        drop(i, [x for x in wishes[i] if x != k])
            # envy: the points of those who cannot reach v or better, and of those who can
            # only be at v itself
            hopeless: int | None = None
            only_here: list[int] = []  # negated points, ascending
            for p, d, k in rows:
                w = wishes[d]  # ascending: is any place at v or better left, only v itself?
                if not w or w[0] > k:
                    if hopeless is None:
                        hopeless = p
                elif w[0] == k and (len(w) == 1 or w[1] > k):
                    only_here.append(-p)
            for p, c, k in cands:
                if inst.hold[c] == inst.wish_fac[c][k] or k not in wishes[c]:
                    continue
                above = bisect.bisect_left(only_here, -p)  # how many have more points
                if (hopeless is not None and hopeless > p) or above >= cap:
                    drop(c, [x for x in wishes[c] if x != k])
        for i in range(n):
            if forced[i] and not wishes[i]:
                return None
        dirty = touched & set(rows_at)
        if not touched:
            break
    return Domains(wishes=[tuple(w) for w in wishes], forced=forced)


def fair_bound(inst: Instance, domains: Domains) -> int | None:
    """An upper bound on the children any fair assignment places: the max-placement optimum
    with each child restricted to its possible places (``None``: no fair assignment at all).

    Tighter than the plain flow bound (town 286 vs 288, city 16,232 vs 16,889, metropolis
    137,659 vs 142,655 against fair-max's 285, 16,183 and ~136,000); it bounds a mode's
    optimum only where that optimum is fair, i.e. where some fair assignment is known.
    """
    res = max_placement_flow(inst, domains.wishes)
    return sum(1 for f in res.assign if f >= 0) if res.feasible else None


def _add_stability(
    inst: Instance,
    m: _Model,
    by_node: dict[int, list[cp_model.IntVar]],
    hard: bool,
    nbh: Neighbourhood | None = None,
) -> None:
    model = m.model
    relevant = m.children
    # targets per node: non-holders with a literal there, sorted by key (and the last fixed
    # occupant, see Fixed)
    targets: dict[int, list[tuple[int, int, cp_model.IntVar]]] = {}
    seats: dict[int, int] = {}
    if nbh is not None:
        assert m.one is not None
        seats = nbh.fixed.seats
        for node, (key, negp) in nbh.fixed.last.items():
            targets[node] = [(key, negp, m.one)]
    for i in relevant:
        if inst.lock[i] >= 0:
            continue
        for f, _, x in m.lits[i]:
            if inst.hold[i] == f:
                continue
            k = inst.wish_fac[i].index(f)
            targets.setdefault(f * NCT + inst.care[i], []).append(
                (inst.wish_key[i][k], -inst.wish_points[i][k], x)
            )
    suffix: dict[int, list[cp_model.IntVar]] = {}
    keys: dict[int, list[int]] = {}
    negpts: dict[int, list[int]] = {}
    for node in sorted(targets):
        rows = sorted(targets[node], key=lambda t: t[0])
        keys[node] = [r[0] for r in rows]
        negpts[node] = [r[1] for r in rows]
        chain: list[cp_model.IntVar] = [rows[-1][2]]
        for pos in range(len(rows) - 2, -1, -1):
            if chain[-1] is m.one or rows[pos][2] is m.one:
                chain.append(m.one)  # a fixed child sits at or below: someone is admitted
                continue
            s = _new_bool(model)
            model.add_implication(rows[pos][2], s)
            model.add_implication(chain[-1], s)
            m.suffix_defs.append((s, rows[pos][2], chain[-1]))
            chain.append(s)
        chain.reverse()
        suffix[node] = chain
    free: dict[int, cp_model.IntVar] = {}
    for node in [*by_node, *(v for v in seats if v not in by_node)]:
        lits = by_node.get(node, [])
        cap = inst.rcap[node]
        taken = seats.get(node, 0)
        if len(lits) + taken < cap:
            continue  # can never be full: every wish there is a wasted seat if unused
        v = _new_bool(model)
        model.add(sum(lits) + v <= cap - taken)
        model.add(sum(lits) + cap * v >= cap - taken)
        free[node] = v
    # fixed children's pairs depend only on (node, b, q): one weighted term per class
    agg_points: dict[tuple[int, int], int] = {}
    agg_lottery: dict[tuple[int, int, int], int] = {}
    agg_wasted: dict[int, int] = {}
    if nbh is not None:
        _fixed_pairs(
            m, nbh.fixed, free, keys, negpts, suffix, hard, agg_wasted, agg_points, agg_lottery
        )
    for i in relevant:
        if inst.lock[i] >= 0:
            continue
        limit = allowed_wishes(inst, i) if m.domains is None else m.domains.end(inst, i)
        prefix: list[cp_model.IntVar] = []
        row_at = {f: lit for f, _, lit in m.lits[i]}
        for k in range(limit):
            f = inst.wish_fac[i][k]
            lit = row_at.get(f)
            if lit is not None:
                prefix.append(lit)
            if inst.hold[i] == f:
                break
            node = f * NCT + inst.care[i]
            if inst.rcap[node] <= 0:
                continue
            if nbh is not None and node not in nbh.nodes:
                continue  # unchanged node: the pair's kind is a constant
            placed_here = sum(prefix) if prefix else 0
            fv = free.get(node)
            ks = keys.get(node)
            if fv is None:
                _always_free(m, hard, placed_here)
                continue
            chain = suffix.get(node, [])
            key = inst.wish_key[i][k]
            q = bisect.bisect_right(ks, key) if ks is not None else 0
            b = bisect.bisect_right(negpts[node], -inst.wish_points[i][k]) if chain else 0
            s_b = chain[b] if b < len(chain) else None
            s_q = chain[q] if q < len(chain) else None
            if hard:
                model.add(placed_here >= fv)
                if s_b is not None:
                    model.add(placed_here >= s_b)
            else:
                w = _new_bool(model)
                model.add(w + placed_here - fv >= 0)
                m.wasted.append((w, 1))
                m.wasted_ub += 1
                if s_b is not None:
                    p = _new_bool(model)
                    model.add(p + placed_here + fv - s_b >= 0)
                    m.envy_points.append((p, 1))
                    m.points_ub += 1
            if s_q is not None and q < b:
                lo = _new_bool(model)
                expr = lo + placed_here + fv - s_q
                if s_b is not None:
                    expr = expr + s_b
                model.add(expr >= 0)
                m.envy_lottery.append((lo, 1))
                m.lottery_ub += 1
                m.lottery_defs.append((lo, s_q, s_b, fv, tuple(prefix)))
    for node, cnt in sorted(agg_wasted.items()):
        if hard:
            model.add(free[node] == 0)
        else:
            m.wasted.append((free[node], cnt))
            m.wasted_ub += cnt
    for (node, b), cnt in sorted(agg_points.items()):
        s_b = suffix[node][b]
        if hard:
            model.add(s_b == 0)
        else:
            p = _new_bool(model)
            model.add(p + free[node] - s_b >= 0)
            m.envy_points.append((p, cnt))
            m.points_ub += cnt
    for (node, q, b), cnt in sorted(agg_lottery.items()):
        chain = suffix[node]
        lo = _new_bool(model)
        expr = lo + free[node] - chain[q]
        s_b = chain[b] if b < len(chain) else None
        if s_b is not None:
            expr = expr + s_b
        model.add(expr >= 0)
        m.lottery_defs.append((lo, chain[q], s_b, free[node], ()))
        m.envy_lottery.append((lo, cnt))
        m.lottery_ub += cnt


def _always_free(m: _Model, hard: bool, placed_here: cp_model.LinearExpr | int) -> None:
    """A wish at a place that can never be full: unused, it is a wasted seat."""
    if hard:
        m.model.add(placed_here >= 1)
    else:
        w = _new_bool(m.model)
        m.model.add(w + placed_here >= 1)
        m.wasted.append((w, 1))
        m.wasted_ub += 1


def _fixed_pairs(
    m: _Model,
    fixed: Fixed,
    free: dict[int, cp_model.IntVar],
    keys: dict[int, list[int]],
    negpts: dict[int, list[int]],
    suffix: dict[int, list[cp_model.IntVar]],
    hard: bool,
    agg_wasted: dict[int, int],
    agg_points: dict[tuple[int, int], int],
    agg_lottery: dict[tuple[int, int, int], int],
) -> None:
    """Count the fixed children's possible pairs by class (node, b, q).

    A fixed child has no literal at a wish better than its fixed place, so whether it
    blocks there depends only on the place's ``free`` flag and its suffix chain.
    """
    for node, (env_keys, env_negp) in fixed.enviers.items():
        if node not in free:
            for _ in range(len(env_keys)):
                _always_free(m, hard, 0)
            continue
        agg_wasted[node] = agg_wasted.get(node, 0) + len(env_keys)
        chain = suffix.get(node)
        if not chain:
            continue
        size = len(chain)
        # per envier, as bisect_right: the first position behind its key, and the first with
        # fewer points (at most size: then nobody with fewer points has a suffix literal)
        qs = np.searchsorted(keys[node], env_keys, side="right").tolist()
        bs = np.searchsorted(negpts[node], env_negp, side="right").tolist()
        for q, b in zip(qs, bs, strict=True):
            if b < size:
                agg_points[node, b] = agg_points.get((node, b), 0) + 1
            if q < b:
                agg_lottery[node, q, b] = agg_lottery.get((node, q, b), 0) + 1


def _hint_assignment(inst: Instance, m: _Model, assign: Sequence[int]) -> None:
    hint: dict[int, int] = {}
    for i in m.children:
        for f, _, lit in m.lits[i]:
            hint.setdefault(lit.index, int(assign[i] == f))
    proto = m.model.proto.solution_hint
    proto.vars.extend(list(hint))
    proto.values.extend(list(hint.values()))


def _assignment(inst: Instance, m: _Model, values: Sequence[int]) -> list[int]:
    assign = list(inst.lock)
    for i in m.children:
        for f, _, lit in m.lits[i]:
            if values[lit.index]:
                assign[i] = f
    return assign


def solve_cpsat(
    inst: Instance,
    opts: ResolvedOptions,
    hint: list[int] | None,
    flow: list[int] | None = None,
) -> Outcome:
    start = time.perf_counter()
    together = opts.siblings == "together" and bool(inst.multi_groups())
    if hint is None:
        hint = _warm_start(inst, opts, together, flow)
    deadline = start + opts.time_limit_s
    if opts.mode == "max-placement" or not together:
        return _solve_parts(inst, opts, together, False, hint, flow, deadline)
    # fair-max and stable mode with groups put no wasted seat and no points-justified envy
    # first: when the start already has neither, their optimum (0) is known and both become
    # hard constraints
    if keeps_groups_together(inst, hint) and _fair(inst, hint):
        return _solve_parts(inst, opts, together, True, hint, flow, deadline)
    # otherwise such an assignment usually still exists: the small model with both hard finds
    # it or proves there is none at once (towns: fair-max 4-26 s -> 0.1-0.5 s, stable mode
    # 4.4-11 s -> 0.25-4.4 s); only without one are they minimised first, in the larger model
    # where every pair is a variable
    out = _solve_parts(
        inst, opts, together, True, hint, flow, start + opts.time_limit_s * HARD_SHARE
    )
    if out.status == "OPTIMAL":
        return out
    if out.status == "FEASIBLE" and _fair(inst, out.assign):
        return out  # fair, but not proven best within the share of the time limit
    return _solve_parts(inst, opts, together, False, hint, flow, deadline)


# share of the time limit for the model with fairness hard when the warm start is not fair
# (it is proven or refuted within seconds on towns)
HARD_SHARE = 0.5


def _fair_base(inst: Instance, domains: Domains, hint: Sequence[int]) -> list[int]:
    """``hint`` with the constants of ``domains`` where every fair assignment puts them.

    As in ``_parts``, a group is constant only if all its members are; the others keep
    ``hint`` (their places are variables).
    """
    base = list(hint)
    for members in inst.groups:
        free = [i for i in members if inst.lock[i] < 0]
        if free and all(domains.constant(i) for i in free):
            for i in free:
                wishes = domains.wishes[i]
                base[i] = inst.wish_fac[i][wishes[0]] if wishes else -1
    return base


def _solve_parts(
    inst: Instance,
    opts: ResolvedOptions,
    together: bool,
    fair_known: bool,
    hint: list[int],
    flow: list[int] | None,
    deadline: float,
) -> Outcome:
    """Solve the model's independent parts; ``fair_known``: fair-max's fairness is hard."""
    # with fairness hard, the children every fair assignment places alike are constants
    domains = None
    base = hint
    if _hard(opts.mode, together, fair_known):
        domains = fair_domains(inst)
        base = hint if domains is None else _fair_base(inst, domains, hint)
        # none at all, or a decided child's siblings cannot be where it must be
        if domains is None or (together and not keeps_groups_together(inst, base)):
            return Outcome(assign=[-1] * inst.n, status="INFEASIBLE", note="no fair assignment")
    parts = _parts(inst, domains, base, together)
    assign = list(base)
    in_parts = {i for nbh in parts for i in nbh.free}
    status: Status = "OPTIMAL"
    bound: int | None = sum(
        1 for i, f in enumerate(base) if f >= 0 and i not in in_parts and inst.lock[i] < 0
    )
    notes: list[str] = []

    def solve_part(nbh: Neighbourhood, limit: float | None = None) -> Outcome:
        if limit is None:
            limit = deadline - time.perf_counter()
        return _solve_part(inst, opts, together, fair_known, domains, nbh, limit)

    outs: list[Outcome] = []
    if len(parts) > 1 and all(len(nbh.free) <= SMALL_CHILDREN for nbh in parts):
        # one CP-SAT worker per small part: independent parts run side by side, one per
        # core, largest first, each until the deadline (the answer does not depend on it)
        order = sorted(range(len(parts)), key=lambda k: -len(parts[k].free))
        with ThreadPoolExecutor(max_workers=NUM_WORKERS) as pool:
            futures = {k: pool.submit(solve_part, parts[k]) for k in order}
            outs = [futures[k].result() for k in range(len(parts))]
    else:
        left = len(in_parts)
        for nbh in parts:
            # time is shared by size; what a small part leaves unused goes to the later ones
            share = (deadline - time.perf_counter()) * len(nbh.free) / left
            left -= len(nbh.free)
            outs.append(solve_part(nbh, share))
    for nbh, out in zip(parts, outs, strict=True):
        if out.status == "INFEASIBLE":
            return Outcome(assign=[-1] * inst.n, status="INFEASIBLE", note=out.note)
        for i in nbh.free:
            assign[i] = out.assign[i]
        if out.status != "OPTIMAL":
            status = "FEASIBLE"
        bound = None if bound is None or out.bound is None else bound + out.bound
        if out.note:
            notes.append(out.note)
    if status != "OPTIMAL" and keeps_groups_together(inst, hint):
        # never return something worse than the warm start
        if _lex_key(inst, hint, opts.mode, together) < _lex_key(inst, assign, opts.mode, together):
            assign = list(hint)
    placed_n = sum(1 for f in assign if f >= 0)
    if status == "OPTIMAL":
        bound = placed_n
    else:
        if flow is None:
            flow = max_placement_flow(inst).assign
        upper_bound = sum(1 for f in flow if f >= 0)
        if domains is not None:  # fairness is hard: every solution is fair
            upper_bound = min(upper_bound, fair_bound(inst, domains) or upper_bound)
        bound = upper_bound if bound is None else min(bound, upper_bound)
    note = None
    if notes:
        pairs = sum(int(n) for n in notes)
        note = (
            "no assignment without wasted seats and points-justified envy keeps the "
            f"sibling groups together; minimised them first ({pairs} pairs)"
        )
    return Outcome(assign=assign, status=status, bound=bound, note=note)


def _warm_start(
    inst: Instance, opts: ResolvedOptions, together: bool, flow: list[int] | None
) -> list[int]:
    if together:
        hint = deferred_acceptance(inst) if opts.mode == "fair-max" else []
        if not hint or not keeps_groups_together(inst, hint):
            # deferred acceptance (stable: fair, a good start) keeps every group together on
            # the bench town; otherwise the groups propose as units
            hint = group_deferred_acceptance(inst)
    else:
        hint = deferred_acceptance(inst)
        if opts.mode == "fair-max":  # both are fair; promotion usually places more
            promoted = promoted_deferred_acceptance(inst, rounds=2)
            if _lex_key(inst, promoted, opts.mode, False) < _lex_key(inst, hint, opts.mode, False):
                hint = promoted
    if opts.mode == "max-placement" and together:
        if flow is None:
            flow = max_placement_flow(inst).assign
        repaired = _unsplit(inst, flow)
        if sum(f >= 0 for f in repaired) > sum(f >= 0 for f in hint):
            hint = repaired
    return hint


def _parts(
    inst: Instance, domains: Domains | None, base: Sequence[int], together: bool
) -> list[Neighbourhood]:
    """The model split into independent parts, smallest first.

    Children interact only through the places they may take or envy (their wishes up to the
    worst place they can get) and, under ``together``, through their sibling group. Parts
    share no place, so the lexicographic optimum of the whole is the union of the parts'
    optima, and a small part is proven without waiting for a large one. With ``domains``,
    decided children (and those no fair assignment places) are constants at their ``base``
    place; ``base`` is a fair assignment, so that is where every fair assignment puts them.
    """
    n = inst.n
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    modelled = [
        inst.lock[i] < 0
        and (
            any(inst.rcap[f * NCT + inst.care[i]] > 0 for f in inst.wish_fac[i])
            if domains is None
            else not domains.constant(i)
        )
        for i in range(n)
    ]
    if domains is not None:  # a decided child's siblings go with the undecided ones
        for members in inst.groups:
            if any(modelled[i] for i in members):
                for i in members:
                    modelled[i] = inst.lock[i] < 0
    first_at: dict[int, int] = {}
    for i in range(n):
        if not modelled[i]:
            continue
        end = allowed_wishes(inst, i) if domains is None else domains.end(inst, i)
        care = inst.care[i]
        for f in inst.wish_fac[i][:end]:
            node = f * NCT + care
            j = first_at.setdefault(node, i)
            a, b = find(i), find(j)
            if a != b:
                parent[a] = b
    if together:
        for members in inst.groups:
            free = [i for i in members if modelled[i]]
            for i in free[1:]:
                a, b = find(i), find(free[0])
                if a != b:
                    parent[a] = b
    comps: dict[int, list[int]] = {}
    for i in range(n):
        if modelled[i]:
            comps.setdefault(find(i), []).append(i)
    # without domains every other child wishes none of a part's places with seats; with
    # them, the decided children are the fixed ones
    wishers = None if domains is None else Wishers(inst, base)
    return [
        neighbourhood(inst, base, members, wishers)
        for members in sorted(comps.values(), key=lambda c: (len(c), c[0]))
    ]


NO_FIXED = Fixed(seats={}, last={}, enviers={})


def neighbourhood(
    inst: Instance,
    base: Sequence[int],
    free: Sequence[int],
    wishers: Wishers | None,
    nodes: frozenset[int] | None = None,
) -> Neighbourhood:
    """The neighbourhood of ``free`` at the assignment ``base``: by default its places are
    every place the free children may wish; ``wishers`` None: no fixed child sees them."""
    if nodes is None:
        wished: set[int] = set()
        for i in free:
            care = inst.care[i]
            wished.update(inst.wish_fac[i][k] * NCT + care for k in range(allowed_wishes(inst, i)))
        nodes = frozenset(wished)
    free_t = tuple(free)
    return Neighbourhood(
        free=free_t,
        fixed=NO_FIXED if wishers is None else fixed_children(nodes, free_t, wishers),
        nodes=nodes,
        base=tuple(base),
    )


def _solve_part(
    inst: Instance,
    opts: ResolvedOptions,
    together: bool,
    fair_known: bool,
    domains: Domains | None,
    nbh: Neighbourhood,
    limit: float,
    region: bool = False,
) -> Outcome:
    """The mode's lexicographic stages on one part; ``bound`` counts the part's children.

    ``note`` (only with the fairness level minimised first) is its optimum as a number.
    ``region``: a region of a large round (``lns``), solved as far as its share of the time
    limit allows rather than to the proof.
    """
    start = time.perf_counter()
    m = _build(inst, opts.mode, together, nbh=nbh, fair_known=fair_known, domains=domains)
    if m.infeasible is not None:
        return Outcome(assign=[], status="INFEASIBLE", note=m.infeasible)
    _hint_assignment(inst, m, nbh.base)
    # on large parts "most placed" and "least rank sum" are separate solves: the search for
    # one more placed child is not slowed by rank improvements (city: ~+13 placed in 45 s)
    split = len(nbh.free) > SMALL_CHILDREN
    small = not split
    hard = _hard(opts.mode, together, fair_known)
    # small parts with fairness hard: "place" and every level after it, tie-break included,
    # in one solve, without presolve and without the hint phase (towns seeds 1-8:
    # fair-max/together 0.5-0.6 of the time, fair-max 0.7-0.85, stable/together with a fair
    # assignment known 0.47; README, eighth measurement); so in stable mode's soft sibling
    # model (towns seeds 2 and 3: 0.8 and 0.5 of the time, tenth measurement)
    may_join = small and not region and (hard or (together and opts.mode == "stable"))
    groups, rank_max = _stage_groups(inst, m, opts.mode, together, split, may_join)
    status: Status = "OPTIMAL"
    bound: int | None = None
    note: str | None = None
    best: list[int] | None = None
    solver = cp_model.CpSolver()
    for number, group in enumerate(groups):
        remaining = limit - (time.perf_counter() - start)
        if remaining <= 0.02:
            status = "FEASIBLE"
            break
        if status != "OPTIMAL" and group[-1].name == "tiebreak":
            # the optimum is not proven: no unique answer to single out; a joint solve still
            # minimises its levels from "place" on (their weights stay valid without the tie
            # weights), a later stage is skipped and leaves its time to later parts or regions
            if group[0].name != "place":
                break
            group = group[:-1]
        names = [c.name for c in group]
        joint = "place" in names and "tiebreak" in names  # this group is the joint solve
        terms = _combined(group)
        if together and "lottery" in names and not joint:
            # lottery-justified envy shrinks as a suffix with fewer points grows: its upper
            # bound (s -> x or t) keeps the LP from raising it for free (town
            # fair-max/together's lottery stage 0.21 -> 0.15 s); in the earlier stages it
            # only slows the search (place 0.06 -> 0.14 s), as no objective rewards it there,
            # and so it does in a joint solve, where "place" leads (towns seeds 1, 4, 5, 6, 8:
            # 0.57 -> 0.45 s in sum); the models without groups gain nothing (0.03 -> 0.04 s)
            for s, x, t in m.suffix_defs:
                m.model.add_bool_or([s.Not(), x, t])
            if best is not None:
                # the previous solution may leave a suffix literal up without reason: the
                # hint would be infeasible, and CP-SAT's repair of it is slow (town
                # fair-max/together seed 3: lottery stage 3.7 s -> 3.1 s)
                _exact_suffixes(m, best)
                _set_hint(m, best)
        minimize(m.model, terms)
        # later stages keep a share of the time (the tie-break stage runs only after proofs)
        last = number == len(groups) - 1 or groups[number + 1][0].name == "tiebreak"
        solver.parameters.max_time_in_seconds = remaining if last else remaining * STAGE_SHARE
        # one worker is deterministic and has the least start-up cost on small parts
        solver.parameters.num_workers = SMALL_WORKERS if small else NUM_WORKERS
        solver.parameters.random_seed = opts.seed
        # the plain assignment model of max-placement and fair-max's model without groups
        # are solved faster without presolve and without the phase that searches around
        # the hint first (town max-placement: 0.27 s -> 0.09 s without presolve; without
        # both max-placement/together 0.11 s -> 0.07 s, fair-max on the towns of seeds 1-8
        # 1.6 s -> 0.8 s in sum, seed 1 unchanged); the sibling models need both
        plain = small and (
            opts.mode == "max-placement" or (opts.mode == "fair-max" and not together)
        )
        solver.parameters.cp_model_presolve = not (plain or joint)
        if plain or joint:
            solver.parameters.hint_conflict_limit = 0
        if small and not region and (plain or hard):
            # and without cutting planes, which cost more LP time than they save in these
            # proofs; max-placement's model also has every constraint in the LP from the
            # start (0.67-0.88 of the time over the towns: README, seventh measurement). The
            # soft fallback with groups keeps the cuts (without, town seed 7: 15 s -> 18 s),
            # and so do the time-limited regions of metropolis fair-max
            solver.parameters.cut_level = 0
            solver.parameters.add_lp_constraints_lazily = opts.mode != "max-placement"
        if together and (hard or opts.mode == "stable"):
            # all constraints in the LP: the sibling models' lottery and blocking-pair levels
            # are proven far sooner (town fair-max/together seed 6: 26 s -> 0.2 s); plain
            # fair-max and fair-max's soft fallback are faster with the default. Large parts
            # run two workers, whose one full search (CP-SAT's "default_lp") sets level 1
            # again; "max_lp" there moved mid-size rounds both ways (README, tenth measurement)
            solver.parameters.linearization_level = 2
        if small and not region and together and not hard and opts.mode != "max-placement":
            # the soft sibling models (no fair assignment keeps the groups together): their
            # levels are slow to prove chiefly because good solutions are slow to find, and a
            # second worker running CP-SAT's neighbourhood search beside the full search finds
            # them (towns seeds 2, 3, 7: stable's wasted-seat level on seed 7 43 s -> 6-13 s,
            # fair-max 0.72-0.77 of the time; README, tenth measurement). Where the last level
            # is proven, the answer is the unique tie-weight optimum, whoever found it.
            solver.parameters.num_workers = 2
            solver.parameters.subsolvers.clear()
            # the full search with the same linearization as with one worker
            lp_all = solver.parameters.linearization_level == 2
            solver.parameters.subsolvers.append("max_lp" if lp_all else "default_lp")
        res = solver.solve(m.model)
        if res == cp_model.INFEASIBLE:
            return Outcome(assign=[], status="INFEASIBLE", note="no feasible assignment")
        if res not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            status = "FEASIBLE"
            break
        if res != cp_model.OPTIMAL:
            status = "FEASIBLE"
        values = list(solver.response_proto.solution)
        best = values
        parts = [c.value(values) for c in group]
        if names[0] == "place" and rank_max:
            # the later parts of the group are >= 0 and weigh less than one unit of "place"
            lower = int(solver.best_objective_bound) // group[0].weight
            bound = -(parts[0] // rank_max) if res == cp_model.OPTIMAL else -(lower // rank_max)
        elif names[0] == "placed":  # solved alone: the objective is minus the placed count
            bound = -math.ceil(solver.best_objective_bound - 1e-6)
        if "fair" in names and parts[names.index("fair")] > 0:
            note = str(parts[names.index("fair")])
        if number == len(groups) - 1:
            break  # nothing to carry over to a later stage
        if res == cp_model.OPTIMAL:
            for c, v in zip(group, parts, strict=True):
                if c.name == "place" and rank_max:
                    # v = -placed * rank_max + rank sum (0 <= rank sum < rank_max): kept as
                    # two equalities, which propagate far better than one weighted bound
                    # (town fair-max/together: the next stage 0.23 s -> 0.15 s)
                    m.model.add(cp_model.LinearExpr.sum(m.placed) == -(v // rank_max))
                    m.model.add(_linear(m.rank_terms) == v % rank_max)
                    continue
                m.model.add(_linear(c.terms) <= v)
        else:
            m.model.add(
                _linear(terms) <= sum(c.weight * v for c, v in zip(group, parts, strict=True))
            )
        _set_hint(m, values)
    if best is None:
        assign = list(nbh.base)
        if together and not keeps_groups_together(inst, assign):
            assign = _unsplit(inst, assign)
        return Outcome(assign=assign, status="FEASIBLE", bound=None, note=note)
    assign = _assignment(inst, m, best)
    if status == "OPTIMAL":
        bound = sum(1 for i in nbh.free if assign[i] >= 0)
    return Outcome(assign=assign, status=status, bound=bound, note=note)


def _set_hint(m: _Model, values: list[int]) -> None:
    """A complete hint: a value for every variable of the model."""
    proto = m.model.proto
    proto.clear_solution_hint()
    proto.solution_hint.vars.extend(range(len(values)))
    proto.solution_hint.values.extend(values)


def _exact_suffixes(m: _Model, values: list[int]) -> None:
    """Set every suffix literal of the solution ``values`` to exactly the OR of its chain
    (the upper bounds s -> x or t), raising lottery-justified envy where that shows some."""
    for s, x, t in m.suffix_defs:  # from the end of each chain: t is exact before s
        values[s.index] = values[x.index] | values[t.index]
    for lo, s_q, s_b, fv, prefix in m.lottery_defs:
        need = values[s_q.index] - (0 if s_b is None else values[s_b.index])
        need -= values[fv.index] + sum(values[p.index] for p in prefix)
        values[lo.index] = max(values[lo.index], min(1, need))


def tie_weight(child: str, facility: str) -> int:
    """A fixed pseudo-random weight in [1, 2**31] for placing ``child`` at ``facility``."""
    digest = hashlib.blake2b(f"{child}\x00{facility}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> (64 - TIE_WEIGHT_BITS)) + 1


def _tiebreak(inst: Instance, m: _Model) -> tuple[list[cp_model.IntVar], list[int]]:
    """The last stage: among all lexicographic optima, the one of least total tie weight.

    Every (child, facility) pair has a fixed weight derived from the two ids alone, so the
    rule depends on the problem only. By the isolation lemma (Mulmuley, Vazirani and
    Vazirani) the minimum-weight optimum is unique unless an unlucky weight collision occurs,
    with probability at most (number of child-facility literals) / 2**31 for any problem; a
    unique optimum is the same whatever the number of workers or the search path. Returns
    the literals and their weights (a sibling group's shared literal: its members' sum).
    """
    weights: dict[int, int] = {}
    lits: dict[int, cp_model.IntVar] = {}
    fac_ids, child_ids = inst.fac_ids, inst.child_ids
    for i in m.children:
        for f, _, lit in m.lits[i]:
            idx = lit.index
            lits[idx] = lit
            weights[idx] = weights.get(idx, 0) + tie_weight(child_ids[i], fac_ids[f])
    keys = sorted(lits)
    return [lits[k] for k in keys], [weights[k] for k in keys]


# Combined objectives stay below this magnitude (exact in CP-SAT's double-precision
# objective value and far from int64 overflow). Not only for reading values back: without
# presolve, CP-SAT compares objective values as doubles and, near 2**58, reported a
# solution 7 units above the optimum as OPTIMAL (README, "Formulations").
COMBINED_LIMIT = 2**53


@dataclass
class _Part:
    """One level of a lexicographic objective: its values lie in an interval of ``span``."""

    name: str
    terms: list[Term]
    span: int
    weight: int = 1

    def value(self, values: Sequence[int]) -> int:
        """The level's value in a solution (``values``: one per model variable)."""
        return sum(c * values[v.index] for v, c in self.terms)


def _stage_groups(
    inst: Instance, m: _Model, mode: str, together: bool, split: bool = False, joint: bool = False
) -> tuple[list[list[_Part]], int]:
    """The mode's lexicographic objective (tie-break last) as few solves as int64 allows.

    Consecutive levels are combined into one weighted objective, each level weighing more
    than the whole span of the levels after it, so the minimum of the sum is exactly the
    lexicographic minimum; a new solve starts only where the weights would grow too large.
    ``joint``: "place" and every level after it in one solve, with the tie weights shortened
    as far as the limit asks (``_tie_part``), unless that leaves too few bits.
    """
    stages, rank_max = _stages(m, mode, together, split)
    most = sum(1 for i in m.children if m.lits.get(i))  # children that can be placed
    spans = {
        "place": rank_max * (most + 1),
        "placed": most,
        "rank": rank_max,
        "points": m.points_ub,
        "wasted": m.wasted_ub,
        "lottery": m.lottery_ub,
        "fair": m.points_ub + m.wasted_ub,
    }
    # a level with nothing to vary (e.g. no blocking pair possible) needs no solve
    parts = [_Part(name, terms, spans[name]) for name, terms in stages if spans[name] > 0]
    tie_lits, tie_weights = _tiebreak(inst, m)
    tie = None
    at = next((k for k, p in enumerate(parts) if p.name == "place"), None)
    if joint and at is not None:
        tie = _tie_part(tie_lits, tie_weights, math.prod(p.span + 1 for p in parts[at:]))
    joint = tie is not None
    if tie is None:
        tie = _Part("tiebreak", list(zip(tie_lits, tie_weights, strict=True)), sum(tie_weights))
    parts.append(tie)
    groups: list[list[_Part]] = []
    size = COMBINED_LIMIT
    for part in parts:
        # outside a joint solve "place" is solved on its own: it yields the bound on placed
        # children, and combined with any other level the objective is harder to prove
        # stable mode's blocking-pair levels are solved one by one too: each level's optimum
        # is proven far sooner alone (town stable/together: 60 s unproven -> 5-12 s proven)
        alone = (
            part.name in PLACE or mode == "stable" or bool(groups and groups[-1][-1].name in PLACE)
        )
        if joint and groups and any(p.name == "place" for p in groups[-1]):
            alone = False  # "place" and what follows it: one solve
        if alone or size * (part.span + 1) >= COMBINED_LIMIT:
            groups.append([])
            size = 1
        groups[-1].append(part)
        size *= part.span + 1
    for group in groups:
        weight = 1
        for part in reversed(group):
            part.weight = weight
            weight *= part.span + 1
    return groups, rank_max


# a joint solve's shortened tie weights keep the isolation lemma's bound on a tie below
# 2**-JOINT_ISOLATION (see _tie_part)
JOINT_ISOLATION = 10


def _tie_part(lits: list[cp_model.IntVar], weights: list[int], head: int) -> _Part | None:
    """The tie-break level combined with levels whose spans (plus one) multiply to ``head``:
    its weights shortened by as few bits as keep the product below ``COMBINED_LIMIT``.

    A weight w becomes ((w - 1) >> shift) + 1, still a fixed function of the two ids; with
    b = 31 - shift bits left, the optimum is unique but with probability at most
    (number of literals) / 2**b (the isolation lemma, see ``_tiebreak``). None where that
    would exceed 2**-JOINT_ISOLATION.
    """
    for shift in range(TIE_WEIGHT_BITS + 1):
        if len(lits) << JOINT_ISOLATION > 1 << (TIE_WEIGHT_BITS - shift):
            return None
        short = [((w - 1) >> shift) + 1 for w in weights]
        span = sum(short)
        if head * (span + 1) < COMBINED_LIMIT:
            return _Part("tiebreak", list(zip(lits, short, strict=True)), span)
    return None


def _combined(group: list[_Part]) -> list[Term]:
    """The group's weighted objective as terms."""
    if len(group) == 1:
        return group[0].terms
    return [(v, p.weight * c) for p in group for v, c in p.terms]


def _linear(terms: list[Term]) -> cp_model.LinearExpr:
    return cp_model.LinearExpr.weighted_sum([v for v, _ in terms], [c for _, c in terms])


def minimize(model: cp_model.CpModel, terms: list[Term]) -> None:
    """``model.minimize`` of the terms' sum, written into the model's proto at once: the same
    objective (terms of one variable added up), without creating a Python object per term
    (the bench town's 1,349 terms on 641 variables: 1.7-2.4 ms -> 0.45 ms)."""
    coeffs: dict[int, int] = {}
    for v, c in terms:
        coeffs[v.index] = coeffs.get(v.index, 0) + c
    keys = [k for k in sorted(coeffs) if coeffs[k]]  # by index, as CP-SAT's own flattening
    model.proto.clear_objective()
    objective = model.proto.objective
    objective.vars.extend(keys)
    objective.coeffs.extend(coeffs[k] for k in keys)
    objective.scaling_factor = 1.0


PLACE = ("place", "placed")


def _stages(
    m: _Model, mode: str, together: bool, split: bool = False
) -> tuple[list[tuple[str, list[Term]]], int]:
    """The lexicographic objective of ``mode`` as stages, and the rank-sum multiplier."""
    placed = [(lit, -1) for lit in m.placed]
    ranks = m.rank_terms
    # above every rank sum an assignment can have (each child counts with its worst wish)
    rank_max = sum(max((r for _, r, _ in m.lits.get(i, ())), default=0) for i in m.children) + 1
    place_rank = [(lit, -rank_max) for lit in m.placed] + ranks
    wasted, points, lottery = m.wasted, m.envy_points, m.envy_lottery
    stages: list[tuple[str, list[Term]]]
    if mode == "max-placement":
        stages = [("place", place_rank)]
    elif mode == "stable":
        stages = [
            ("points", points),
            ("wasted", wasted),
            ("lottery", lottery),
            ("place", place_rank),
        ]
    elif together:
        stages = [("fair", points + wasted), ("place", place_rank), ("lottery", lottery)]
    else:
        stages = [("place", place_rank), ("lottery", lottery)]
    if split:
        at = [name for name, _ in stages].index("place")
        stages[at : at + 1] = [("placed", placed), ("rank", ranks)]
    return stages, rank_max


def _fair(inst: Instance, assign: list[int]) -> bool:
    """No wasted seat and no points-justified envy."""
    figs = figures(inst, assign, blocking_pairs(inst, assign))
    return figs.envy_points == 0 and figs.wasted_seats == 0


def _lex_key(inst: Instance, assign: list[int], mode: str, together: bool) -> tuple[int, ...]:
    """The lexicographic objective of ``mode`` evaluated on an assignment (smaller is better)."""
    figs = figures(inst, assign, blocking_pairs(inst, assign))
    placed = (-figs.placed, figs.rank_sum)
    if mode == "stable":
        return (figs.envy_points, figs.wasted_seats, figs.envy_lottery, *placed)
    if mode == "fair-max":
        return (figs.envy_points + figs.wasted_seats, *placed, figs.envy_lottery)
    return placed


def _unsplit(inst: Instance, assign: list[int]) -> list[int]:
    """Unplace every non-locked member of a sibling group that is split."""
    out = list(assign)
    for members in inst.groups:
        if len(members) > 1 and len({assign[i] for i in members}) > 1:
            for i in members:
                if inst.lock[i] < 0:
                    out[i] = -1
    return out
