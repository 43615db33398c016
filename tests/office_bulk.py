"""A fast generator of a whole municipality's applications (bulk inserts, no ORM objects).

Used by the scale tests (tests/web/test_office_scale.py) and bench/office_pages.py.
Review durations are known by construction: an application reviewed at all reaches
"In Prüfung" 1 + (i % 5) days after submission (median 3, 90th percentile 5).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from kita.extensions import db
from kita.models import (
    Application,
    ApplicationCriterion,
    Capacity,
    CareType,
    Child,
    Facility,
    FacilityCareType,
    Guardian,
    Household,
    PriorityRule,
    Round,
    Source,
    Status,
    StatusEvent,
    Wish,
)

DISTRICTS = ["Altstadt", "Nordstadt", "Südstadt", "Weststadt", "Oststadt", "Neubau"]
FIRST = ["Mia", "Ben", "Emma", "Paul", "Lina", "Leon", "Ella", "Noah", "Ida", "Finn"]
LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"]
#: station mix: (status, share); every status after "submitted" has a review event
MIX = [
    (Status.SUBMITTED, 20),
    (Status.IN_REVIEW, 25),
    (Status.QUERY, 5),
    (Status.RELEASED, 40),
    (Status.REJECTED, 3),
    (Status.WITHDRAWN, 2),
    (Status.DRAFT, 5),
]
REVIEWED = {Status.IN_REVIEW, Status.QUERY, Status.RELEASED, Status.REJECTED}


def base_municipality(facilities: int = 40) -> dict[str, Any]:
    """Round, facilities with capacities, rules (ORM; small)."""
    today = date.today()
    round_ = db.session.scalar(select(Round).where(Round.name == "Kita-Jahr Bulk"))
    if round_ is not None:
        return {
            "round": round_,
            "facilities": list(db.session.scalars(select(Facility)).all()),
            "rules": list(db.session.scalars(select(PriorityRule)).all()),
        }
    round_ = Round(
        name="Kita-Jahr Bulk",
        care_start_from=today + timedelta(days=60),
        care_start_to=today + timedelta(days=400),
        application_deadline=today + timedelta(days=30),
    )
    db.session.add(round_)
    facs = []
    for i in range(facilities):
        fac = Facility(
            slug=f"kita-{i:03d}",
            name=f"Kita {i:03d}",
            district=DISTRICTS[i % len(DISTRICTS)],
            operator="Stadt",
        )
        for ct in (CareType.KRIPPE, CareType.KINDERGARTEN):
            fac.care_types.append(FacilityCareType(care_type=ct, min_hours=10, max_hours=50))
            round_.capacities.append(Capacity(facility=fac, care_type=ct, places=120))
        db.session.add(fac)
        facs.append(fac)
    rules = [
        PriorityRule(
            code="sibling",
            label_de="Geschwister",
            label_en="Sibling",
            points=300,
            facility_specific=True,
        ),
        PriorityRule(code="working", label_de="Berufstätig", label_en="Working", points=200),
        PriorityRule(code="hardship", label_de="Härte", label_en="Hardship", points=400),
    ]
    db.session.add_all(rules)
    db.session.commit()
    return {"round": round_, "facilities": facs, "rules": rules}


def generate(n: int, seed: int = 1) -> int:
    """Add ``n`` applications (with households, children, wishes, criteria, events)."""
    base = base_municipality()
    round_, facs, rules = base["round"], base["facilities"], base["rules"]
    rng = random.Random(seed)
    start_id = (db.session.scalar(select(func.max(Application.id))) or 0) + 1
    hh_start = (db.session.scalar(select(func.max(Household.id))) or 0) + 1
    child_start = (db.session.scalar(select(func.max(Child.id))) or 0) + 1
    now = datetime.now(UTC)
    households, guardians, children, apps = [], [], [], []
    wishes, criteria, events = [], [], []
    statuses = [s for s, w in MIX for _ in range(w)]
    hh_id = hh_start - 1
    for k in range(n):
        i = start_id + k
        if k % 4 != 3:  # every fourth child is a sibling in the previous household
            hh_id += 1
            last = rng.choice(LAST)
            households.append(
                {
                    "id": hh_id,
                    "street": f"Weg {i}",
                    "postal_code": "12345",
                    "city": "Musterstadt",
                    "district": rng.choice(DISTRICTS),
                    "locale": "de",
                    "entered_by_office": False,
                    "created_at": now,
                }
            )
            guardians.append({"household_id": hh_id, "first_name": "Eva", "last_name": last})
        child_id = child_start + k
        birth = round_.care_start_from - timedelta(days=rng.randint(200, 1700))
        children.append(
            {
                "id": child_id,
                "household_id": hh_id,
                "first_name": rng.choice(FIRST),
                "last_name": last,
                "birth_date": birth,
                "created_at": now,
            }
        )
        status = statuses[i % len(statuses)]
        submitted = None if status == Status.DRAFT else now - timedelta(days=20 + i % 50)
        care = (
            CareType.KRIPPE
            if (round_.care_start_from - birth).days < 3 * 365
            else CareType.KINDERGARTEN
        )
        apps.append(
            {
                "id": i,
                "reference": f"KV-B-{i:06d}",
                "child_id": child_id,
                "round_id": round_.id,
                "status": status.value,
                "care_type": care.value,
                "start_date": round_.care_start_from,
                "weekly_hours": 35,
                "remarks": "",
                "source": (Source.ONLINE if i % 10 else Source.OFFICE).value,
                "submitted_at": submitted,
                "status_changed_at": (submitted or now) + timedelta(days=1 + i % 5),
                "created_at": submitted or now,
                "updated_at": now,
                "flagged": False,
                "legal_hold": False,
                "version": 1,
            }
        )
        for rank, fac in enumerate(rng.sample(facs, 3), start=1):
            wishes.append({"application_id": i, "facility_id": fac.id, "rank": rank})
        if i % 3 == 0:
            criteria.append(
                {
                    "application_id": i,
                    "rule_id": rules[1].id,
                    "facility_id": None,
                    "declared": True,
                    "verified": i % 2 == 0,
                }
            )
        if submitted is not None:
            events.append(
                {
                    "application_id": i,
                    "action": "submit",
                    "from_status": "draft",
                    "to_status": "submitted",
                    "created_at": submitted,
                }
            )
            if status in REVIEWED:
                events.append(
                    {
                        "application_id": i,
                        "action": "start_review",
                        "from_status": "submitted",
                        "to_status": "in_review",
                        "created_at": submitted + timedelta(days=1 + i % 5),
                    }
                )
            if status == Status.RELEASED:
                events.append(
                    {
                        "application_id": i,
                        "action": "release",
                        "from_status": "in_review",
                        "to_status": "released",
                        "created_at": submitted + timedelta(days=10),
                    }
                )
    conn = db.session.connection()
    for table, rows in (
        (Household, households),
        (Guardian, guardians),
        (Child, children),
        (Application, apps),
        (Wish, wishes),
        (ApplicationCriterion, criteria),
        (StatusEvent, events),
    ):
        if rows:
            conn.execute(insert(table.__table__), rows)  # type: ignore[attr-defined]
    db.session.commit()
    return n
