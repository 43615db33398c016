"""Allocation runs: problem builder, worker, one run per round, stale runs, publishing."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from kita.errors import Conflict
from kita.extensions import db
from kita.models import (
    AllocationRun,
    CareType,
    Offer,
    OfferStatus,
    OverrideKind,
    RunStatus,
    Status,
    utcnow,
)
from kita.services import allocation_runs as runs
from kita.services import offers
from tests.services.round_helpers import office_user, released_application


def _round_with_children(municipality: dict[str, Any]) -> tuple[Any, list[Any]]:
    office = office_user()
    apps = [
        released_application(municipality, office, ["sonnenschein", "regenbogen"]),
        released_application(
            municipality, office, ["sonnenschein", "pusteblume"], criteria=[("working", None)]
        ),
        released_application(
            municipality,
            office,
            ["sonnenschein"],
            criteria=[("sibling", "sonnenschein")],
        ),
        released_application(municipality, office, ["regenbogen", "sonnenschein"]),
        released_application(municipality, office, ["regenbogen"]),
        released_application(municipality, office, ["regenbogen"]),
        released_application(
            municipality, office, ["sonnenschein"], care_type=CareType.KINDERGARTEN
        ),
    ]
    return office, apps


def test_problem_builder(municipality: dict[str, Any]) -> None:
    office, apps = _round_with_children(municipality)
    problem = runs.build_problem(municipality["round"])
    assert problem["format"] == "kita-allocation/1"
    caps = {f["id"]: f["capacity"] for f in problem["facilities"]}
    assert caps["sonnenschein"] == {"kindergarten": 2, "krippe": 2}
    by_ref = {c["id"]: c for c in problem["children"]}
    assert set(by_ref) == {a.reference for a in apps}
    assert by_ref[apps[1].reference]["priority"] == {"sonnenschein": 200, "pusteblume": 200}
    assert by_ref[apps[2].reference]["priority"] == {"sonnenschein": 300}
    assert "priority" in by_ref[apps[0].reference]
    assert len({c["tiebreak"] for c in problem["children"]}) == len(apps)


def test_run_publish_and_reproduce(municipality: dict[str, Any], tmp_path: Path) -> None:
    office, apps = _round_with_children(municipality)
    run = runs.start_run(office, municipality["round"], background=False)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.problem_json and run.result_json and run.solver_version
    assert run.solve_seconds is not None
    result = runs.result_of(run)
    assert result["stats"]["placed"] == 5  # 2 Sonnenschein + 2 Regenbogen krippe + 1 KG
    # the stored problem solved on the command line gives the stored result
    path = tmp_path / "problem.json"
    path.write_text(run.problem_json)
    out = tmp_path / "result.json"
    subprocess.run(
        [sys.executable, "-m", "allocation", "solve", str(path), "-o", str(out)], check=True
    )
    assert json.loads(out.read_text())["assignments"] == result["assignments"]
    # nothing reached a parent yet
    assert all(a.status == Status.RELEASED for a in apps)
    assert db.session.scalar(select(Offer.id)) is None
    report = runs.publish(office, run)
    assert report.offers == 5 and report.waitlisted == 2
    statuses = sorted(str(a.status) for a in apps)
    assert statuses.count("offered") == 5 and statuses.count("waitlist") == 2
    for a in apps:
        if a.status == Status.WAITLIST:
            assert isinstance(json.loads(a.outcome or "null"), list)
            assert json.loads(a.outcome or "[]")
    with pytest.raises(Conflict):
        runs.publish(office, run)


def test_follow_up_run_with_hold(municipality: dict[str, Any]) -> None:
    office = office_user()
    high = released_application(municipality, office, ["regenbogen"], criteria=[("hardship", None)])
    mover = released_application(municipality, office, ["regenbogen", "sonnenschein"])
    other = released_application(municipality, office, ["regenbogen"], criteria=[("working", None)])
    fill = [released_application(municipality, office, ["sonnenschein"]) for _ in range(1)]
    run = runs.start_run(office, municipality["round"], background=False)
    runs.publish(office, run)
    # regenbogen: high + other; mover at sonnenschein (2nd wish)
    assert mover.status == Status.OFFERED and offers.open_offer(mover).wish_rank == 2
    offers.accept(mover.child.household.user, offers.open_offer(mover), keep_waiting=True)
    offers.decline(high.child.household.user, offers.open_offer(high))
    offers.accept(other.child.household.user, offers.open_offer(other))
    offers.accept(fill[0].child.household.user, offers.open_offer(fill[0]))
    follow = runs.start_run(office, municipality["round"], background=False)
    assert follow.follow_up and follow.status == RunStatus.SUCCEEDED
    problem = runs.problem_of(follow)
    child = next(c for c in problem["children"] if c["id"] == mover.reference)
    assert child["holds"] == "sonnenschein"
    caps = {f["id"]: f["capacity"] for f in problem["facilities"]}
    assert caps["regenbogen"]["krippe"] == 1  # other accepted; high's place free again
    assert caps["sonnenschein"]["krippe"] == 1  # fill accepted; mover's hold counted in
    report = runs.publish(office, follow)
    assert report.upgrades == 1
    upgrade = offers.open_offer(mover)
    assert upgrade is not None and upgrade.facility.slug == "regenbogen"
    offers.accept(mover.child.household.user, upgrade)
    assert mover.status == Status.ACCEPTED
    held = db.session.scalars(
        select(Offer).where(Offer.application_id == mover.id).order_by(Offer.id)
    ).all()
    assert [o.status for o in held] == [OfferStatus.RELEASED, OfferStatus.ACCEPTED]
    assert max(offers.taken_places(municipality["round"].id).values()) <= 2


def test_one_run_per_round_at_once(
    app: Flask, municipality: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two office users click "Vergabe berechnen" at once: one run, one Conflict."""
    office, _apps = _round_with_children(municipality)
    other = office_user()
    round_id = municipality["round"].id
    user_ids = [office.id, other.id]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)
    release = threading.Event()
    original = runs._thread_main

    def held_worker(flask_app: Flask, run_id: int) -> None:
        release.wait(30)  # the run stays queued until both clicks are answered
        original(flask_app, run_id)

    monkeypatch.setattr(runs, "_thread_main", held_worker)

    def start(user_id: int) -> None:
        from kita.models import Round, User

        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                round_ = db.session.get(Round, round_id)
                db.session.commit()  # hold no lock while waiting for the other click
                barrier.wait()
                runs.start_run(user, round_)
                outcomes.append("started")
            except Conflict:
                outcomes.append("conflict")
            finally:
                db.session.remove()

    db.session.commit()
    threads = [threading.Thread(target=start, args=(uid,)) for uid in user_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["conflict", "started"]
    release.set()
    (only,) = db.session.scalars(select(AllocationRun)).all()
    db.session.commit()
    assert runs.wait(only.id).status == RunStatus.SUCCEEDED


def test_second_start_while_running_conflicts(municipality: dict[str, Any]) -> None:
    office, _apps = _round_with_children(municipality)
    db.session.add(
        AllocationRun(
            round_id=municipality["round"].id, status=RunStatus.RUNNING, heartbeat_at=utcnow()
        )
    )
    db.session.commit()
    with pytest.raises(Conflict):
        runs.start_run(office, municipality["round"], background=False)
    assert db.session.query(AllocationRun).count() == 1


def test_stale_run_marked_failed(municipality: dict[str, Any]) -> None:
    office, _apps = _round_with_children(municipality)
    stale = AllocationRun(
        round_id=municipality["round"].id,
        status=RunStatus.RUNNING,
        heartbeat_at=utcnow() - timedelta(minutes=10),
    )
    db.session.add(stale)
    db.session.commit()
    assert runs.fail_stale_runs() == 1
    db.session.refresh(stale)
    assert stale.status == RunStatus.FAILED and "interrupted" in (stale.error or "")
    # and a new run can start
    run = runs.start_run(office, municipality["round"], background=False)
    assert run.status == RunStatus.SUCCEEDED


def test_failed_run_changes_nothing(municipality: dict[str, Any]) -> None:
    office, apps = _round_with_children(municipality)
    fac = municipality["facilities"]["regenbogen"]
    # three locks at a facility with two places: refused before solving
    for a in (apps[3], apps[4], apps[5]):
        runs.set_override(office, municipality["round"], a, fac, OverrideKind.LOCK)
    run = runs.start_run(office, municipality["round"], background=False)
    assert run.status == RunStatus.FAILED and run.error
    assert not runs.can_publish(run)
    assert all(a.status == Status.RELEASED for a in apps)


def test_background_run_and_progress(app: Flask, municipality: dict[str, Any]) -> None:
    office, _apps = _round_with_children(municipality)
    run = runs.start_run(office, municipality["round"])
    run = runs.wait(run.id, timeout=60)
    assert run.status == RunStatus.SUCCEEDED
    p = runs.progress(run)
    assert p["done"] and p["progress"] == 100


def test_bans_and_locks_in_problem(municipality: dict[str, Any]) -> None:
    office, apps = _round_with_children(municipality)
    facs = municipality["facilities"]
    runs.set_override(office, municipality["round"], apps[0], facs["sonnenschein"], "ban")
    runs.set_override(office, municipality["round"], apps[3], facs["regenbogen"], "lock")
    run = runs.start_run(office, municipality["round"], background=False)
    result = runs.result_of(run)
    assigned = {a["child"]: a["facility"] for a in result["assignments"]}
    assert assigned[apps[0].reference] != "sonnenschein"
    assert assigned[apps[3].reference] == "regenbogen"
    compare = runs.compare([run])
    assert compare[0]["base"] and compare[0]["placed_diff"] == 0
    s = runs.summary(run)
    assert s.placed == result["stats"]["placed"]
    assert "<svg" in runs.chart_svg(s)


def test_cli_allocate_and_publish(app: Flask, municipality: dict[str, Any]) -> None:
    _office, apps = _round_with_children(municipality)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["allocate", str(municipality["round"].id), "--publish"])
    assert result.exit_code == 0, result.output
    assert "placed 5/7" in result.output and "5 offers" in result.output
    db.session.expire_all()
    assert sum(1 for a in apps if a.status == Status.OFFERED) == 5
    again = runner.invoke(args=["allocate", "999"])
    assert again.exit_code != 0 and "no round" in again.output


def test_timed_out_run_is_failed(
    app: Flask, municipality: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time as _time

    office, apps = _round_with_children(municipality)
    real = runs.allocation.solve

    def slow(problem: Any, options: Any = None) -> Any:
        _time.sleep(1.5)
        return real(problem, options)

    monkeypatch.setattr(runs.allocation, "solve", slow)
    app.config["ALLOCATION_HARD_TIMEOUT"] = 0.3
    run = runs.start_run(office, municipality["round"], background=False)
    assert run.status == RunStatus.FAILED and "timed out" in (run.error or "")
    assert not runs.can_publish(run)
    assert all(a.status == Status.RELEASED for a in apps)


def test_compare_modes(municipality: dict[str, Any]) -> None:
    office, _apps = _round_with_children(municipality)
    done = [
        runs.start_run(office, municipality["round"], mode=m, background=False)
        for m in ("stable", "fair-max", "max-placement")
    ]
    assert all(r.status == RunStatus.SUCCEEDED for r in done), [r.error for r in done]
    rows = runs.compare(done)
    assert [r["run"].mode for r in rows] == ["stable", "fair-max", "max-placement"]
    assert rows[0]["base"] and rows[0]["placed_diff"] == 0
    assert rows[2]["placed_diff"] >= 0 and rows[1]["placed_diff"] >= 0
