"""The rule engine: one points function, table-driven (facility-specific and general
criteria, unverified criteria ignored)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kita.models import ApplicationCriterion, PriorityRule, Role
from kita.services import points

RULES = {
    "sibling": PriorityRule(
        id=1,
        code="sibling",
        label_de="G",
        label_en="S",
        points=300,
        facility_specific=True,
        active=True,
    ),
    "working": PriorityRule(
        id=2,
        code="working",
        label_de="B",
        label_en="W",
        points=200,
        facility_specific=False,
        active=True,
    ),
    "hardship": PriorityRule(
        id=3,
        code="hardship",
        label_de="H",
        label_en="H",
        points=400,
        facility_specific=False,
        active=True,
    ),
    "retired": PriorityRule(
        id=4,
        code="retired",
        label_de="R",
        label_en="R",
        points=999,
        facility_specific=False,
        active=False,
    ),
}
A, B, C = 10, 20, 30  # wished facility ids


@dataclass
class Crit:
    rule: str
    verified: bool
    facility: int | None = None
    declared: bool = True


def criterion(c: Crit) -> ApplicationCriterion:
    rule = RULES[c.rule]
    return ApplicationCriterion(
        rule_id=rule.id,
        rule=rule,
        facility_id=c.facility,
        declared=c.declared,
        verified=c.verified,
    )


CASES = [
    ("nothing declared", [], {A: 0, B: 0, C: 0}, {A: 0, B: 0, C: 0}),
    (
        "general verified counts everywhere",
        [Crit("working", True)],
        {A: 200, B: 200, C: 200},
        {A: 200, B: 200, C: 200},
    ),
    (
        "general unverified is ignored",
        [Crit("working", False)],
        {A: 0, B: 0, C: 0},
        {A: 200, B: 200, C: 200},
    ),
    (
        "facility-specific only at its facility",
        [Crit("sibling", True, B)],
        {A: 0, B: 300, C: 0},
        {A: 0, B: 300, C: 0},
    ),
    (
        "facility-specific unverified is ignored",
        [Crit("sibling", False, B)],
        {A: 0, B: 0, C: 0},
        {A: 0, B: 300, C: 0},
    ),
    (
        "facility-specific at a facility not wished counts nowhere",
        [Crit("sibling", True, 99)],
        {A: 0, B: 0, C: 0},
        {A: 0, B: 0, C: 0},
    ),
    (
        "general and specific add up",
        [Crit("working", True), Crit("hardship", True), Crit("sibling", True, A)],
        {A: 900, B: 600, C: 600},
        {A: 900, B: 600, C: 600},
    ),
    (
        "two facility-specific at two facilities",
        [Crit("sibling", True, A), Crit("sibling", False, C)],
        {A: 300, B: 0, C: 0},
        {A: 300, B: 0, C: 300},
    ),
    (
        "mixed verification",
        [Crit("working", True), Crit("hardship", False)],
        {A: 200, B: 200, C: 200},
        {A: 600, B: 600, C: 600},
    ),
    (
        "inactive rule counts nothing",
        [Crit("retired", True)],
        {A: 0, B: 0, C: 0},
        {A: 0, B: 0, C: 0},
    ),
    (
        "not declared counts nothing",
        [Crit("working", True, declared=False)],
        {A: 0, B: 0, C: 0},
        {A: 0, B: 0, C: 0},
    ),
]


@pytest.mark.parametrize(
    ("name", "crits", "verified", "declared"), CASES, ids=[c[0] for c in CASES]
)
def test_points_per_facility(
    name: str, crits: list[Crit], verified: dict[int, int], declared: dict[int, int]
) -> None:
    criteria = [criterion(c) for c in crits]
    assert points.points_per_facility([A, B, C], criteria) == verified
    assert points.points_per_facility([A, B, C], criteria, verified_only=False) == declared


def test_office_detail_shows_the_same_points(client, login_as, municipality):  # type: ignore[no-untyped-def]
    from tests.web.test_office import file_application

    app = file_application(
        municipality, criteria=[("working", None), ("sibling", "pusteblume"), ("hardship", None)]
    )
    office = login_as(Role.OFFICE)
    from kita.services import applications, review

    applications.transition(app, "start_review", office)
    crits = {c.rule.code: c.id for c in app.criteria}
    review.verify_criteria(office, app, {crits["working"], crits["sibling"]})
    assert points.for_application(app) == {
        municipality["facilities"]["sonnenschein"].id: 200,
        municipality["facilities"]["pusteblume"].id: 500,
    }
    html = client.get(f"/office/applications/{app.id}").get_data(as_text=True)
    assert ">500<" in html and ">200<" in html
