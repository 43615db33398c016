"""A realistic city generator for tests and benchmarks.

Facilities sit on a unit-square map with uneven popularity (log-normal) and care-type mix;
families live in neighbourhoods around them and wish mostly for nearby facilities (1-5
wishes, popular ones more often). Points have many ties (social criteria in steps of 100),
a home-district bonus and facility-specific sibling points; about ``sibling_share`` of the
children come in sibling groups sharing home, wishes and one family tiebreak; a few
children hold a place at a later wish. Seats fall short of demand.
"""

from __future__ import annotations

import math
import random

from .model import Child, Facility, Options, Problem

CARE_MIX = (("krippe", 0.35), ("kindergarten", 0.5), ("hort", 0.15))
OFFERS = {"krippe": 0.8, "kindergarten": 0.95, "hort": 0.3}
WISH_COUNT_WEIGHTS = (0.1, 0.1, 0.15, 0.2, 0.45)


def generate(
    children: int,
    facilities: int,
    seed: int = 0,
    max_wishes: int = 5,
    sibling_share: float = 0.08,
    supply: float = 0.85,
    hold_share: float = 0.03,
) -> Problem:
    rng = random.Random(seed)
    facilities = max(1, facilities)
    pos = [(rng.random(), rng.random()) for _ in range(facilities)]
    popularity = [rng.lognormvariate(0.0, 0.7) for _ in range(facilities)]
    fac_ids = [f"kita-{i:04d}" for i in range(facilities)]
    offers: list[dict[str, bool]] = []
    for _ in range(facilities):
        o = {ct: rng.random() < p for ct, p in OFFERS.items()}
        if not any(o.values()):
            o["kindergarten"] = True
        offers.append(o)

    # children: care type, home near a random facility (neighbourhoods)
    def home() -> tuple[float, float]:
        cx, cy = pos[rng.randrange(facilities)]
        return (
            min(1.0, max(0.0, rng.gauss(cx, 0.08))),
            min(1.0, max(0.0, rng.gauss(cy, 0.08))),
        )

    care_types = [ct for ct, _ in CARE_MIX]
    care_weights = [w for _, w in CARE_MIX]
    demand = {ct: 0.0 for ct in care_types}
    for ct, w in CARE_MIX:
        demand[ct] = w * children

    # seats: per care type, spread over the facilities offering it, by popularity
    capacity: list[dict[str, int]] = [{} for _ in range(facilities)]
    for ct in care_types:
        offering = [f for f in range(facilities) if offers[f][ct]]
        if not offering:
            continue
        weights = [rng.uniform(0.5, 1.5) for _ in offering]
        total = sum(weights)
        for f, w in zip(offering, weights, strict=True):
            capacity[f][ct] = max(1, round(demand[ct] * supply * w / total))

    # spatial grid per care type for wish sampling
    cells = max(1, int(math.sqrt(facilities / 4)))
    grid: dict[tuple[str, int, int], list[int]] = {}
    for f in range(facilities):
        cx = min(cells - 1, int(pos[f][0] * cells))
        cy = min(cells - 1, int(pos[f][1] * cells))
        for ct in care_types:
            if offers[f][ct]:
                grid.setdefault((ct, cx, cy), []).append(f)

    def nearby(x: float, y: float, cts: set[str]) -> list[int]:
        cx = min(cells - 1, int(x * cells))
        cy = min(cells - 1, int(y * cells))
        radius = 1
        while True:
            found: set[int] = set()
            for ct in cts:
                part: set[int] = set()
                for dx in range(-radius, radius + 1):
                    for dy in range(-radius, radius + 1):
                        part.update(grid.get((ct, cx + dx, cy + dy), ()))
                found = part if not found and ct == next(iter(cts)) else found & part
            if len(found) >= 2 * max_wishes or radius >= cells:
                return sorted(found)
            radius += 1

    def wishes_for(x: float, y: float, cts: set[str]) -> list[int]:
        cand = nearby(x, y, cts)
        if not cand:
            return []
        k = rng.choices(range(1, max_wishes + 1), weights=WISH_COUNT_WEIGHTS[:max_wishes])[0]
        k = min(k, len(cand))
        scores = []
        for f in cand:
            d = math.hypot(pos[f][0] - x, pos[f][1] - y)
            w = popularity[f] * math.exp(-d * cells * 1.5)
            scores.append((-math.log(rng.random() + 1e-12) / max(w, 1e-9), f))
        scores.sort()
        return [f for _, f in scores[:k]]

    records: list[Child] = []
    tiebreaks = list(range(1, children + 1))
    rng.shuffle(tiebreaks)
    idx = 0
    held: dict[tuple[int, str], int] = {}
    group_no = 0
    while idx < children:
        in_group = rng.random() < sibling_share / 2.2 and children - idx >= 2
        size = (2 if rng.random() < 0.8 else 3) if in_group else 1
        size = min(size, children - idx)
        x, y = home()
        if size > 1:
            twins = rng.random() < 0.4
            first = rng.choices(care_types, weights=care_weights)[0]
            cts = [first] * size if twins else rng.choices(care_types, care_weights, k=size)
        else:
            cts = [rng.choices(care_types, weights=care_weights)[0]]
        wish_list = wishes_for(x, y, set(cts))
        social = rng.choice((0, 0, 0, 0, 100, 100, 200, 300))
        sibling_at = (
            wish_list[rng.randrange(len(wish_list))] if wish_list and rng.random() < 0.12 else -1
        )
        group = f"family-{group_no}" if size > 1 else None
        group_no += size > 1
        tb = tiebreaks[idx]
        for m in range(size):
            points: list[tuple[str, int]] = []
            for f in wish_list:
                p = social
                if math.hypot(pos[f][0] - x, pos[f][1] - y) < 0.5 / cells:
                    p += 50
                if f == sibling_at:
                    p += 300
                if p:
                    points.append((fac_ids[f], p))
            holds: str | None = None
            if size == 1 and len(wish_list) >= 2 and rng.random() < hold_share:
                f = wish_list[rng.randrange(1, len(wish_list))]
                key = (f, cts[m])
                if held.get(key, 0) < capacity[f].get(cts[m], 0) // 2:
                    held[key] = held.get(key, 0) + 1
                    holds = fac_ids[f]
            records.append(
                Child(
                    id=f"KV-2027-{idx + m:06d}",
                    care_type=cts[m],
                    wishes=tuple(fac_ids[f] for f in wish_list),
                    priority=tuple(points),
                    tiebreak=tb if size > 1 else tiebreaks[idx + m],
                    sibling_group=group,
                    holds=holds,
                )
            )
        idx += size
    fac_records = tuple(
        Facility(
            id=fac_ids[f],
            capacity=tuple((ct, capacity[f][ct]) for ct in care_types if ct in capacity[f]),
        )
        for f in range(facilities)
    )
    return Problem(
        facilities=fac_records,
        children=tuple(records),
        options=Options(mode="stable", siblings="together", time_limit_s=60.0, seed=seed),
    )
