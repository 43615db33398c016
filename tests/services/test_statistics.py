"""Statistics on a small municipality: dashboard counts, demand vs places, the
anonymised download of the service figures."""

from __future__ import annotations

from kita.models import CareType, Role, Status
from kita.services import applications, statistics
from tests.conftest import make_user
from tests.web.test_office import file_application


def test_dashboard_and_demand(app, municipality):  # type: ignore[no-untyped-def]
    office = make_user(Role.OFFICE)
    apps = [file_application(municipality, first=f"K{i}", district="Altstadt") for i in range(3)]
    apps.append(file_application(municipality, first="N", district="Nordstadt"))
    applications.transition(apps[0], "start_review", office)
    applications.transition(apps[1], "reject", office, message="nein")
    round_ = municipality["round"]
    data = statistics.dashboard(round_)
    assert data.total == 4
    assert data.by_status == {Status.SUBMITTED: 2, Status.IN_REVIEW: 1, Status.REJECTED: 1}
    assert data.matrix[(Status.SUBMITTED, CareType.KRIPPE)] == 2
    assert [a.id for a in data.waiting][0] in {a.id for a in apps}
    rows = {(r.care_type, r.district): r for r in statistics.demand_vs_places(round_)}
    assert rows[(CareType.KRIPPE, "Altstadt")].demand == 2  # the rejected one is no demand
    assert rows[(CareType.KRIPPE, "Altstadt")].places == 4  # Sonnenschein + Regenbogen, 2 each
    assert rows[(CareType.KRIPPE, "Nordstadt")].demand == 1
    assert rows[(CareType.HORT, "Nordstadt")].demand == 0
    assert rows[(CareType.HORT, "Nordstadt")].places == 2


def test_anonymised_csv_hides_small_counts(app, municipality):  # type: ignore[no-untyped-def]
    office = make_user(Role.OFFICE)
    apps = [file_application(municipality, first=f"K{i}") for i in range(6)]
    for a in apps[:2]:
        applications.transition(a, "start_review", office)
    groups = statistics.service_figures()
    whole = groups[0]
    assert whole.applications == 6 and whole.online == 6
    assert whole.durations["review"].n == 2
    text = statistics.service_figures_csv(groups)
    header, first = text.splitlines()[:2]
    cols = dict(zip(header.split(";"), first.split(";"), strict=True))
    assert cols["applications"] == "6"
    assert cols["office"] == "<5" and cols["online"] == "6"
    assert cols["days_to_review_n"] == "<5"
    assert cols["days_to_review_median"] == ""  # too few to show
