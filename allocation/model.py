"""Frozen input and result types of the allocation contract (``kita-allocation/1``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

CARE_TYPES: tuple[str, ...] = ("krippe", "kindergarten", "hort")
MODES: tuple[str, ...] = ("stable", "fair-max", "max-placement")
SIBLING_POLICIES: tuple[str, ...] = ("together", "ignore")
PROBLEM_FORMAT = "kita-allocation/1"
RESULT_FORMAT = "kita-allocation-result/1"

Mode = Literal["stable", "fair-max", "max-placement"]
Siblings = Literal["together", "ignore"]
Status = Literal["OPTIMAL", "FEASIBLE", "INFEASIBLE"]
Reason = Literal[
    "full",
    "lottery",
    "no_capacity",
    "taken_by_locks_or_holds",
    "banned",
    "sibling_constraint",
    "mode_choice",
]
BlockingKind = Literal["wasted_seat", "envy_points", "envy_lottery"]


class ValidationError(ValueError):
    """Invalid problem input; the message names the offending record."""


@dataclass(frozen=True)
class Options:
    """Solver options. ``None`` fields fall back to the problem's options, then defaults."""

    mode: Mode | None = None
    siblings: Siblings | None = None
    time_limit_s: float | None = None
    seed: int | None = None


@dataclass(frozen=True)
class ResolvedOptions:
    mode: Mode = "stable"
    siblings: Siblings = "together"
    time_limit_s: float = 60.0
    seed: int = 0


@dataclass(frozen=True)
class Facility:
    id: str
    capacity: tuple[tuple[str, int], ...]

    def seats(self, care_type: str) -> int:
        for ct, n in self.capacity:
            if ct == care_type:
                return n
        return 0


@dataclass(frozen=True)
class Child:
    id: str
    care_type: str
    wishes: tuple[str, ...]
    priority: tuple[tuple[str, int], ...] = ()
    tiebreak: int = 0
    sibling_group: str | None = None
    holds: str | None = None

    def points(self, facility: str) -> int:
        for f, p in self.priority:
            if f == facility:
                return p
        return 0


@dataclass(frozen=True)
class Lock:
    child: str
    facility: str


@dataclass(frozen=True)
class Ban:
    child: str
    facility: str


@dataclass(frozen=True)
class Problem:
    facilities: tuple[Facility, ...]
    children: tuple[Child, ...]
    locks: tuple[Lock, ...] = ()
    bans: tuple[Ban, ...] = ()
    options: Options = field(default_factory=Options)

    def to_dict(self) -> dict[str, Any]:
        opts: dict[str, Any] = {}
        for key in ("mode", "siblings", "time_limit_s", "seed"):
            value = getattr(self.options, key)
            if value is not None:
                opts[key] = value
        children: list[dict[str, Any]] = []
        for c in self.children:
            d: dict[str, Any] = {
                "id": c.id,
                "care_type": c.care_type,
                "wishes": list(c.wishes),
                "priority": dict(c.priority),
                "tiebreak": c.tiebreak,
            }
            if c.sibling_group is not None:
                d["sibling_group"] = c.sibling_group
            if c.holds is not None:
                d["holds"] = c.holds
            children.append(d)
        out: dict[str, Any] = {
            "format": PROBLEM_FORMAT,
            "facilities": [{"id": f.id, "capacity": dict(f.capacity)} for f in self.facilities],
            "children": children,
            "locks": [{"child": lk.child, "facility": lk.facility} for lk in self.locks],
            "bans": [{"child": b.child, "facility": b.facility} for b in self.bans],
        }
        if opts:
            out["options"] = opts
        return out


@dataclass(frozen=True)
class Assignment:
    child: str
    facility: str | None
    wish_rank: int | None


@dataclass(frozen=True)
class Cutoff:
    facility: str
    care_type: str
    priority: int | None
    tiebreak: int | None


@dataclass(frozen=True)
class BlockingPair:
    child: str
    facility: str
    kind: BlockingKind


@dataclass(frozen=True)
class Explanation:
    facility: str
    wish_rank: int
    reason: Reason
    cutoff_priority: int | None = None
    cutoff_tiebreak: int | None = None
    own_priority: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "facility": self.facility,
            "wish_rank": self.wish_rank,
            "reason": self.reason,
        }
        if self.reason == "full":
            d["cutoff_priority"] = self.cutoff_priority
            d["cutoff_tiebreak"] = self.cutoff_tiebreak
            d["own_priority"] = self.own_priority
        return d


@dataclass(frozen=True)
class Stats:
    children: int
    placed: int
    first_choice: int
    rank_sum: int
    blocking_pairs: int
    wasted_seats: int
    envy_points: int
    envy_lottery: int
    sibling_groups: int
    sibling_groups_unplaced: int
    status: Status
    bound: int | None
    gap: float | None
    solve_seconds: float
    mode: Mode
    siblings: Siblings
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "children": self.children,
            "placed": self.placed,
            "first_choice": self.first_choice,
            "rank_sum": self.rank_sum,
            "blocking_pairs": self.blocking_pairs,
            "wasted_seats": self.wasted_seats,
            "envy_points": self.envy_points,
            "envy_lottery": self.envy_lottery,
            "sibling_groups": self.sibling_groups,
            "sibling_groups_unplaced": self.sibling_groups_unplaced,
            "status": self.status,
            "bound": self.bound,
            "gap": self.gap,
            "solve_seconds": self.solve_seconds,
            "mode": self.mode,
            "siblings": self.siblings,
            "note": self.note,
        }


@dataclass(frozen=True)
class Result:
    assignments: tuple[Assignment, ...]
    cutoffs: tuple[Cutoff, ...]
    blocking: tuple[BlockingPair, ...]
    stats: Stats
    explanations: tuple[tuple[str, tuple[Explanation, ...]], ...]

    def facility_of(self, child: str) -> str | None:
        for a in self.assignments:
            if a.child == child:
                return a.facility
        raise KeyError(child)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": RESULT_FORMAT,
            "assignments": [
                {"child": a.child, "facility": a.facility, "wish_rank": a.wish_rank}
                for a in self.assignments
            ],
            "cutoffs": [
                {
                    "facility": c.facility,
                    "care_type": c.care_type,
                    "priority": c.priority,
                    "tiebreak": c.tiebreak,
                }
                for c in self.cutoffs
            ],
            "blocking": [
                {"child": b.child, "facility": b.facility, "kind": b.kind} for b in self.blocking
            ],
            "stats": self.stats.to_dict(),
            "explanations": {
                child: [e.to_dict() for e in entries] for child, entries in self.explanations
            },
        }
