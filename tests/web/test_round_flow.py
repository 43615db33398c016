"""A whole round on the demo municipality, through the office, parent and facility pages:
release, run stable, publish, answer, expire, follow-up run, upgrade, alternative offer,
enrollment confirmed and refused, with the invariants checked at every step."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from kita.extensions import db
from kita.models import (
    AllocationRun,
    Application,
    AuditEvent,
    Capacity,
    Facility,
    Offer,
    OfferStatus,
    OutboxMail,
    Role,
    Round,
    RunStatus,
    Status,
    User,
    Wish,
    utcnow,
)
from kita.services import allocation_runs, applications, enrollments, offers
from kita.services.demo import create_demo

PW = "kitaplatz-demo"  # noqa: S105
REF = re.compile(r"KV-\d{4}-\d{5}")


def _client(app: Flask, email: str) -> FlaskClient:
    c = app.test_client()
    r = c.post("/login", data={"email": email, "password": PW})
    assert r.status_code == 302, r.data[:300]
    return c


def _check(round_id: int) -> None:
    """Capacities hold, one open offer per offered child, one accepted place per accepted."""
    db.session.expire_all()
    taken = offers.taken_places(round_id)
    for cap in db.session.scalars(select(Capacity).where(Capacity.round_id == round_id)):
        assert taken.get((cap.facility_id, cap.care_type), 0) <= cap.places, cap.facility_id
    open_per_app = Counter(
        db.session.scalars(select(Offer.application_id).where(Offer.status == OfferStatus.OPEN))
    )
    accepted_per_app = Counter(
        db.session.scalars(select(Offer.application_id).where(Offer.status == OfferStatus.ACCEPTED))
    )
    for a in db.session.scalars(select(Application).where(Application.round_id == round_id)):
        assert open_per_app[a.id] == (1 if a.status == Status.OFFERED else 0), a.reference
        if a.status in (Status.ACCEPTED, Status.ENROLLED):
            assert accepted_per_app[a.id] == 1, a.reference
        if a.status == Status.ACCEPTED_WAITING:
            assert accepted_per_app[a.id] == 1, a.reference
        if a.status in (Status.WAITLIST, Status.DECLINED, Status.EXPIRED, Status.RELEASED):
            assert accepted_per_app[a.id] == 0, a.reference
    db.session.commit()


def _facility_sees_exactly(app: Flask, facility: Facility) -> str:
    """The facility page lists exactly the children that chose it or got its offers."""
    email = f"leitung.{facility.slug}@kita.example"
    page = _client(app, email).get("/facility/").get_data(as_text=True)
    shown = set(REF.findall(page))
    d = enrollments.desk(facility)
    expected = {r.application.reference for r in d.applicants} | {
        o.application.reference for o in d.offers
    }
    assert shown == expected
    # and nothing of families who did not choose it
    naming = set(
        db.session.scalars(
            select(Application.reference)
            .join(Wish, Wish.application_id == Application.id)
            .where(Wish.facility_id == facility.id)
        )
    ) | set(
        db.session.scalars(
            select(Application.reference)
            .join(Offer, Offer.application_id == Application.id)
            .where(Offer.facility_id == facility.id)
        )
    )
    assert shown <= naming
    db.session.commit()
    return page


def _wait(run_id: int) -> AllocationRun:
    run = allocation_runs.wait(run_id, timeout=60)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def _start_run(office: FlaskClient, round_id: int) -> AllocationRun:
    r = office.post(
        f"/office/rounds/{round_id}/runs", data={"mode": "stable", "siblings": "together"}
    )
    assert r.status_code == 303, r.data[:500]
    run_id = int(r.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    return _wait(run_id)


def _mails(kind: str) -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.kind == kind)))


def test_whole_round(app: Flask, tmp_path: Path) -> None:
    create_demo(password=PW, families=60, allocate=False)
    round_ = db.session.scalars(select(Round)).one()
    rid = round_.id
    # fewer places, so that children compete
    for cap in db.session.scalars(select(Capacity)):
        cap.places = 2
    office_user = db.session.scalars(select(User).where(User.role == Role.OFFICE)).one()
    # release all
    for a in db.session.scalars(
        select(Application).where(
            Application.status.in_([Status.SUBMITTED, Status.IN_REVIEW, Status.QUERY])
        )
    ).all():
        if a.status == Status.SUBMITTED:
            applications.transition(a, "start_review", office_user, commit=False)
        if a.status == Status.QUERY:
            applications.transition(a, "answer", office_user, message="ok", commit=False)
        for c in a.criteria:
            c.verified = True
        applications.transition(a, "release", office_user, commit=False)
    db.session.commit()
    released = db.session.scalars(
        select(Application).where(Application.status == Status.RELEASED)
    ).all()
    assert len(released) > 40
    mails_before = db.session.query(OutboxMail).count()

    office = _client(app, "office@kita.example")
    assert office.get(f"/office/rounds/{rid}/runs").status_code == 200
    run = _start_run(office, rid)
    page = office.get(f"/office/runs/{run.id}").get_data(as_text=True)
    assert "Angebote versenden" in page and run.problem_json
    assert office.get(f"/office/runs/{run.id}/chart.svg").status_code == 200

    # the downloaded problem, solved on the command line, gives the stored result
    problem = office.get(f"/office/runs/{run.id}/problem.json")
    assert problem.status_code == 200
    path = tmp_path / "problem.json"
    path.write_bytes(problem.data)
    subprocess.run(
        [sys.executable, "-m", "allocation", "solve", str(path), "-o", str(tmp_path / "r.json")],
        check=True,
    )
    solved = json.loads((tmp_path / "r.json").read_text())
    stored = allocation_runs.result_of(run)
    assert solved["assignments"] == stored["assignments"]

    # nothing reached a parent before publishing
    assert db.session.query(Offer).count() == 0
    assert db.session.query(OutboxMail).count() == mails_before
    db.session.commit()
    assert office.post(f"/office/runs/{run.id}/publish").status_code == 303
    _check(rid)
    placed = sum(1 for a in stored["assignments"] if a["facility"])
    unplaced = len(stored["assignments"]) - placed
    assert db.session.query(Offer).filter(Offer.status == OfferStatus.OPEN).count() == placed
    assert len(_mails("offer_made")) == placed
    waiting = db.session.scalars(
        select(Application).where(Application.status == Status.WAITLIST)
    ).all()
    assert len(waiting) == unplaced > 0
    assert all(json.loads(a.outcome or "[]") for a in waiting)

    # answers: some accept, some of them keep waiting, some decline, the rest expire
    open_offers = db.session.scalars(
        select(Offer).where(Offer.status == OfferStatus.OPEN).order_by(Offer.id)
    ).all()
    lower = [o for o in open_offers if (o.wish_rank or 1) > 1]
    first = [o for o in open_offers if o.wish_rank == 1]
    # the family that will be moved up: waits at its 2nd+ wish; someone at its first
    # wish declines, and the office fixes it there for the follow-up run
    mover, blocker = None, None
    for o in lower:
        top = o.application.wishes[0].facility_id
        b = next(
            (
                x
                for x in first
                if x.facility_id == top and x.care_type == o.care_type and x is not o
            ),
            None,
        )
        if b is not None:
            mover, blocker = o, b
            break
    assert mover is not None and blocker is not None
    waiters = [mover] + [o for o in lower if o is not mover][:1]
    declines = [blocker] + [o for o in first if o is not blocker][:1]
    accepts = [o for o in first if o not in declines][:6]
    rest = [o for o in open_offers if o not in waiters + declines + accepts]
    db.session.commit()

    def parent_of(o: Offer) -> FlaskClient:
        return _client(app, o.application.child.household.user.email)

    for o in waiters:
        r = parent_of(o).post(
            f"/parent/applications/{o.application_id}/offers/{o.id}/accept",
            data={"keep_waiting": "y"},
        )
        assert r.status_code == 302
    for o in accepts:
        r = parent_of(o).post(f"/parent/applications/{o.application_id}/offers/{o.id}/accept")
        assert r.status_code == 302
    for o in declines:
        r = parent_of(o).post(f"/parent/applications/{o.application_id}/offers/{o.id}/decline")
        assert r.status_code == 302
    _check(rid)
    assert all(o.application.status == Status.ACCEPTED_WAITING for o in waiters)
    assert all(o.application.status == Status.ACCEPTED for o in accepts)
    assert all(o.application.status == Status.DECLINED for o in declines)
    # the parents' timeline
    acc = accepts[0].application
    assert [e.action for e in acc.events] == [
        "create",
        "submit",
        "start_review",
        "release",
        "offer",
        "accept",
    ]
    page = parent_of(accepts[0]).get(f"/parent/applications/{acc.id}").get_data(as_text=True)
    assert "Angenommen" in page
    db.session.commit()
    # let the rest expire (the scheduler's job at a later time)
    assert offers.expire_due(utcnow() + timedelta(days=round_.offer_response_days + 1)) == len(rest)
    _check(rid)
    assert all(o.application.status == Status.EXPIRED for o in rest)
    assert len(_mails("offer_expired")) == len(rest)

    # follow-up run with the mover fixed at its first wish
    top = db.session.get(Facility, mover.application.wishes[0].facility_id)
    assert top is not None
    r = office.post(
        f"/office/rounds/{rid}/overrides",
        data={
            "reference": mover.application.reference,
            "facility_id": top.id,
            "kind": "lock",
            "reason": "Geschwister",
        },
    )
    assert r.status_code == 303
    follow = _start_run(office, rid)
    assert follow.follow_up
    problem2 = allocation_runs.problem_of(follow)
    holds = {c["id"]: c.get("holds") for c in problem2["children"]}
    assert holds[mover.application.reference] == mover.facility.slug
    assert office.get(f"/office/rounds/{rid}/runs").status_code == 200  # comparison
    db.session.commit()
    assert office.post(f"/office/runs/{follow.id}/publish").status_code == 303
    _check(rid)
    upgrade = offers.open_offer(mover.application)
    assert upgrade is not None and upgrade.facility_id == top.id
    mail = _mails("offer_made")[-1]
    assert "Kita" in mail.body or "Kinderhaus" in mail.body or "Hort" in mail.body
    db.session.commit()
    r = parent_of(mover).post(
        f"/parent/applications/{mover.application_id}/offers/{upgrade.id}/accept"
    )
    assert r.status_code == 302
    _check(rid)
    db.session.refresh(mover)
    assert mover.status == OfferStatus.RELEASED
    assert mover.application.status == Status.ACCEPTED

    # facility staff: exactly their children; confirm enrollments, refuse one
    awaiting = [
        o
        for o in db.session.scalars(
            select(Offer)
            .where(Offer.status == OfferStatus.ACCEPTED, Offer.enrollment == None)  # noqa: E711
            .order_by(Offer.id)
        )
        # a family with a pending upgrade offer cannot be enrolled now
        if o.application.status in (Status.ACCEPTED, Status.ACCEPTED_WAITING)
    ]
    refused = awaiting[0]
    db.session.commit()
    for o in awaiting:
        fac = o.facility
        staff = _client(app, f"leitung.{fac.slug}@kita.example")
        page = _facility_sees_exactly(app, fac)
        assert o.application.reference in page and "Aufnahme bestätigen" in page
        if o is refused:
            r = staff.post(f"/facility/offers/{o.id}/refuse", data={"reason": ""})
            assert r.status_code == 422
            r = staff.post(
                f"/facility/offers/{o.id}/refuse", data={"reason": "Keine Betreuungskraft"}
            )
        else:
            r = staff.post(f"/facility/offers/{o.id}/enroll")
        assert r.status_code == 303
    _check(rid)
    refused_app = refused.application
    assert refused_app.status == Status.WAITLIST and refused_app.flagged
    enrolled = [o.application for o in awaiting if o is not refused]
    assert all(a.status == Status.ENROLLED for a in enrolled)
    # other facilities lose sight of an enrolled child
    for a in enrolled:
        for w in a.wishes:
            fac = db.session.get(Facility, w.facility_id)
            assert fac is not None
            if fac.id != next(o.facility_id for o in a.offers if o.status == "accepted"):
                page = _facility_sees_exactly(app, fac)
                assert a.reference not in page
    # a facility cannot touch another facility's offer: 404, audited
    other = next(f for f in db.session.scalars(select(Facility)) if f.id != refused.facility_id)
    foreign = _client(app, f"leitung.{other.slug}@kita.example")
    assert foreign.get(f"/facility/offers/{refused.id}/refuse").status_code == 404
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "access.denied")
    ).first()

    # alternative offer for the refused child: the office adds a place elsewhere
    alt_fac = next(
        f
        for f in db.session.scalars(select(Facility).order_by(Facility.id))
        if f.id not in refused_app.facility_ids and f.offers(refused_app.care_type)
    )
    cap = db.session.scalars(
        select(Capacity).where(
            Capacity.facility_id == alt_fac.id, Capacity.care_type == refused_app.care_type
        )
    ).one()
    cap.places += 1
    db.session.commit()
    page = office.get(f"/office/rounds/{rid}/alternatives").get_data(as_text=True)
    assert refused_app.reference in page and alt_fac.name in page
    r = office.post(
        f"/office/applications/{refused_app.id}/alternative",
        data={f"a{refused_app.id}-facility_id": alt_fac.id},
    )
    assert r.status_code == 303
    _check(rid)
    alt = offers.open_offer(refused_app)
    assert alt is not None and alt.alternative and alt.facility_id == alt_fac.id
    db.session.commit()
    r = parent_of(alt).post(f"/parent/applications/{refused_app.id}/offers/{alt.id}/accept")
    assert r.status_code == 302
    _check(rid)
    assert refused_app.status == Status.ACCEPTED
