"""Every job of the scheduler's table runs against a real database and is idempotent."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from kita import jobs
from kita.extensions import db
from kita.models import Household, Role, TiebreakMethod


@pytest.mark.parametrize("job", jobs.JOBS, ids=lambda j: j.id)
def test_job_runs_twice_without_error(app: Flask, municipality: dict[str, Any], job: Any) -> None:
    first = job.func()
    second = job.func()
    # nothing was due in the fresh municipality, so a second run changes nothing either
    assert first == second or job.id == "send_outbox"


def test_lottery_job_draws_once_after_the_deadline(
    app: Flask, municipality: dict[str, Any]
) -> None:
    from kita.services import applications, households
    from kita.services.applications import ApplicationInput
    from tests.conftest import make_user

    round_ = municipality["round"]
    round_.tiebreak_method = TiebreakMethod.LOTTERY
    db.session.commit()
    parent = make_user(Role.PARENT)
    household = db.session.query(Household).filter_by(user_id=parent.id).one()
    child = households.add_child(
        parent,
        household,
        first_name="Ida",
        last_name="Koch",
        birth_date=date.today() - timedelta(days=500),
    )
    applications.create(
        parent,
        child,
        round_,
        ApplicationInput(
            child_id=child.id,
            round_id=round_.id,
            start_date=round_.care_start_from,
            care_type="krippe",
            weekly_hours=30,
            wishes=[municipality["facilities"]["sonnenschein"].id],
        ),
        submit=True,
    )
    assert jobs.draw_lotteries() == 0  # deadline not passed yet
    round_.application_deadline = date.today() - timedelta(days=1)
    db.session.commit()
    assert jobs.draw_lotteries() == 1
    db.session.refresh(round_)
    assert round_.lottery_drawn_at is not None and round_.lottery_seed is not None
    assert jobs.draw_lotteries() == 0  # drawn once, never again
    db.session.refresh(household)
    assert household.lottery_number is not None


def test_round_form_sets_the_reconfirmation_date(client, login_as, municipality) -> None:  # type: ignore[no-untyped-def]
    login_as(Role.OFFICE)
    round_ = municipality["round"]
    data = {
        "name": round_.name,
        "care_start_from": round_.care_start_from.isoformat(),
        "care_start_to": round_.care_start_to.isoformat(),
        "application_deadline": round_.application_deadline.isoformat(),
        "offer_response_days": "14",
        "tiebreak_method": "lottery",
        "reconfirmation_date": (round_.application_deadline - timedelta(days=1)).isoformat(),
    }
    response = client.post(f"/office/rounds/{round_.id}/edit", data=data)
    assert response.status_code == 422
    assert 'id="reconfirmation_date-error"' in response.get_data(as_text=True)
    later = round_.application_deadline + timedelta(days=200)
    response = client.post(
        f"/office/rounds/{round_.id}/edit", data={**data, "reconfirmation_date": later.isoformat()}
    )
    assert response.status_code == 302
    db.session.refresh(round_)
    assert round_.reconfirmation_date == later
