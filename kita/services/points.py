"""Priority points: the one function used by the allocation problem builder and shown
identically to the office and to parents. Only verified criteria count."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kita.models import Application, ApplicationCriterion


@dataclass(frozen=True)
class PointLine:
    rule_id: int
    label_de: str
    label_en: str
    points: int
    facility_id: int | None  # None: counts at every wished facility
    verified: bool


def lines(criteria: Iterable[ApplicationCriterion]) -> list[PointLine]:
    return [
        PointLine(
            rule_id=c.rule_id,
            label_de=c.rule.label_de,
            label_en=c.rule.label_en,
            points=c.rule.points,
            facility_id=c.facility_id if c.rule.facility_specific else None,
            verified=c.verified,
        )
        for c in criteria
        if c.declared and c.rule.active
    ]


def points_per_facility(
    wished_facility_ids: Iterable[int],
    criteria: Iterable[ApplicationCriterion],
    *,
    verified_only: bool = True,
) -> dict[int, int]:
    """Points of an application at each wished facility.

    General criteria count at every wished facility; facility-specific ones only at the
    facility they were declared for. Unverified criteria count only when
    ``verified_only`` is False (the parents' preview of what they declared).
    """
    result = {fid: 0 for fid in wished_facility_ids}
    for line in lines(criteria):
        if verified_only and not line.verified:
            continue
        if line.facility_id is None:
            for fid in result:
                result[fid] += line.points
        elif line.facility_id in result:
            result[line.facility_id] += line.points
    return result


def for_application(application: Application, *, verified_only: bool = True) -> dict[int, int]:
    return points_per_facility(
        application.facility_ids, application.criteria, verified_only=verified_only
    )
