"""Parents' portal (/parent): own household, children and applications only.

Every record is looked up through the permission loaders, so an id of another family
(in the URL or in a form field) answers 404 and is audited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from kita.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from kita.forms import ConfirmForm, apply_errors
from kita.i18n import current_locale
from kita.models import (
    Application,
    Child,
    Household,
    Offer,
    PriorityRule,
    Role,
    Round,
    Status,
    User,
)
from kita.parents.forms import (
    AcceptForm,
    AnswerForm,
    ApplicationForm,
    ChildForm,
    DeleteAccountForm,
    HouseholdForm,
    WithdrawForm,
)
from kita.services import applications as apps
from kita.services import facilities, households, offers, overview, privacy
from kita.services.explanations import explain_outcome, is_published
from kita.services.permissions import deny, get_application_or_404, get_child_or_404
from kita.services.rules import all_rules
from kita.services.stations import NEXT_STEPS, care_type_label, station_label
from kita.web import guard_role

bp = Blueprint("parents", __name__, url_prefix="/parent")
guard_role(bp, {Role.PARENT})


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


# --- timeline ----------------------------------------------------------------------

#: the usual path of an application, shown as greyed future stations
MAIN_PATH = [
    Status.SUBMITTED,
    Status.IN_REVIEW,
    Status.RELEASED,
    Status.OFFERED,
    Status.ACCEPTED,
    Status.ENROLLED,
]
_POSITION = {
    Status.DRAFT: -1,
    Status.QUERY: 1,
    Status.WAITLIST: 2,
    Status.ACCEPTED_WAITING: 4,
}


@dataclass
class Station:
    status: Status
    label: str
    at: datetime | None = None
    message: str | None = None
    next_step: str | None = None
    state: str = "done"  # done | current | future


def timeline(application: Application) -> list[Station]:
    """The stations passed (with date and message), the current one, and what comes."""
    stations = [
        Station(e.to_status, station_label(e.to_status), e.created_at, e.message)
        for e in application.events
    ]
    if stations:
        stations[-1].state = "current"
        stations[-1].next_step = str(NEXT_STEPS[application.status])
    if application.is_open:
        status = application.status
        pos = MAIN_PATH.index(status) if status in MAIN_PATH else _POSITION.get(status, 99)
        for future in MAIN_PATH[pos + 1 :]:
            stations.append(Station(future, station_label(future), state="future"))
    return stations


def _next_step(application: Application) -> str:
    return str(NEXT_STEPS[application.status])


# --- overview, household, children -------------------------------------------------


@bp.route("/")
def index() -> Any:
    """The family's overview, from the render cache while nothing it shows has changed
    (kita.services.overview); the CSRF token and the CSP nonce are this request's."""
    user = _user()
    key = overview.cache_key(user, current_locale())
    if key is None:
        return render_template("parents/index.html", **_overview(user))
    page = overview.cache().get(key)
    if page is None:
        page = overview.render_cacheable("parents/index.html", **_overview(user))
        overview.cache().put(key, page)
    return overview.fill(page)


def _overview(user: User) -> dict[str, Any]:
    household = households.household_for(user)
    cards = [
        {
            "child": child,
            "applications": [
                {"application": a, "next_step": _next_step(a), "offer": offer}
                for a, offer in child_apps
            ],
        }
        for child, child_apps in overview.applications_with_open_offers(household.children)
    ]
    return {
        "cards": cards,
        "round": facilities.open_round(),
        "household_complete": bool(household.guardians and household.street),
    }


@bp.route("/household", methods=["GET", "POST"])
def household() -> Any:
    hh = households.household_for(_user())
    guardian = hh.guardians[0] if hh.guardians else None
    form = HouseholdForm(
        data=None
        if request.method == "POST"
        else {
            "first_name": guardian.first_name if guardian else "",
            "last_name": guardian.last_name if guardian else "",
            "street": hh.street,
            "postal_code": hh.postal_code,
            "city": hh.city,
            "phone": hh.phone or "",
        }
    )
    if form.validate_on_submit():
        try:
            households.update_household(
                _user(),
                hh,
                first_name=form.first_name.data,
                last_name=form.last_name.data,
                street=form.street.data,
                postal_code=form.postal_code.data,
                city=form.city.data,
                phone=form.phone.data,
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(_("Your household data has been saved."), "success")
            return redirect(url_for("parents.household"))
    status = 422 if request.method == "POST" else 200
    children = [(c, households.age_label(c)) for c in hh.children]
    return render_template("parents/household.html", form=form, children=children), status


@bp.route("/children/new", methods=["GET", "POST"])
def child_new() -> Any:
    hh = households.household_for(_user())
    form = ChildForm()
    if form.validate_on_submit():
        try:
            child = households.add_child(
                _user(),
                hh,
                first_name=form.first_name.data,
                last_name=form.last_name.data,
                birth_date=form.birth_date.data,
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(_("%(name)s has been added.", name=child.first_name), "success")
            return redirect(url_for("parents.household"))
    status = 422 if request.method == "POST" else 200
    return render_template("parents/child_form.html", form=form, child=None), status


@bp.route("/children/<int:child_id>/edit", methods=["GET", "POST"])
def child_edit(child_id: int) -> Any:
    child = get_child_or_404(child_id, _user())
    form = ChildForm(obj=child if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            households.update_child(
                _user(),
                child,
                first_name=form.first_name.data,
                last_name=form.last_name.data,
                birth_date=form.birth_date.data,
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("parents.household"))
    status = 422 if request.method == "POST" else 200
    return render_template("parents/child_form.html", form=form, child=child), status


# --- the application form ----------------------------------------------------------


def _rules() -> list[PriorityRule]:
    return all_rules(active_only=True)


def _household() -> Household:
    """The parent's household, looked up once per request."""
    if "parent_household" not in g:
        g.parent_household = households.household_for(_user())
    return g.parent_household  # type: ignore[no-any-return]


@dataclass(frozen=True)
class FacilityOption:
    """One facility in the wish selects: labelled once, shown in all five selects."""

    id: int
    name: str
    care_types: str  # "krippe kindergarten": the script filters by the chosen care type
    label: str  # "Kita Sonnenschein (Altstadt: Krippe, Kindergarten)"


def _facility_options() -> list[FacilityOption]:
    """The active facilities as options, looked up and labelled once per request."""
    if "facility_options" not in g:
        g.facility_options = [
            FacilityOption(
                id=f.id,
                name=f.name,
                care_types=" ".join(ct.care_type.value for ct in f.care_types),
                label=f"{f.name} ({f.district}: "
                + ", ".join(care_type_label(ct.care_type) for ct in f.care_types)
                + ")",
            )
            for f in facilities.active_facilities()
        ]
    return g.facility_options  # type: ignore[no-any-return]


def _facility_choices() -> list[tuple[Any, str]]:
    choices: list[tuple[Any, str]] = [(None, _("– none –"))]
    for f in _facility_options():
        choices.append((f.id, f.name))
    return choices


def _own_child(child_id: Any) -> Child:
    """A child id from a form field: only the parent's own children (else 404)."""
    try:
        cid = int(child_id)
    except (TypeError, ValueError):
        abort(404)
    return get_child_or_404(cid, _user())


def _selected_criteria(form: ApplicationForm, rules: list[PriorityRule]) -> list[Any]:
    """The ticked criteria: (rule id, facility id) from checkboxes and wish selects."""
    selected: list[tuple[int, int | None]] = []
    wishes = [getattr(form, f).data for f in ApplicationForm.WISH_FIELDS]
    for rule in rules:
        raw = request.form.get(f"crit_{rule.id}", "")
        if not raw:
            continue
        if rule.facility_specific:
            try:
                slot = int(raw)
            except ValueError:
                selected.append((rule.id, -1))  # tampered: the service refuses it
                continue
            fid = wishes[slot - 1] if 1 <= slot <= 5 else None
            selected.append((rule.id, fid if fid else -1))
        else:
            selected.append((rule.id, None))
    # criteria of rules not (or no longer) in the table: refused by the service
    known = {r.id for r in rules}
    for key in request.form:
        if key.startswith("crit_") and key[5:].isdigit() and int(key[5:]) not in known:
            selected.append((int(key[5:]), None))
    return selected


def _criteria_state(application: Application | None, rules: list[PriorityRule]) -> dict[int, str]:
    """What the criteria inputs show: "1" for a ticked checkbox, the wish number for selects."""
    state: dict[int, str] = {}
    if request.method == "POST":
        for rule in rules:
            state[rule.id] = request.form.get(f"crit_{rule.id}", "")
    elif application is not None:
        ranks = {w.facility_id: w.rank for w in application.wishes}
        for c in application.criteria:
            state[c.rule_id] = str(ranks.get(c.facility_id, "")) if c.facility_id else "1"
    return state


def _render_form(
    form: ApplicationForm,
    round_: Round,
    application: Application | None,
    rules: list[PriorityRule],
    status: int = 200,
) -> Any:
    return (
        render_template(
            "parents/application_form.html",
            form=form,
            round=round_,
            application=application,
            children=_household().children,
            facility_options=_facility_options(),
            rules=rules,
            criteria_state=_criteria_state(application, rules),
            locale=current_locale(),
            wish_fields=[getattr(form, f) for f in ApplicationForm.WISH_FIELDS],
        ),
        status,
    )


def _prepare_form(form: ApplicationForm, round_: Round) -> None:
    hh = _household()
    form.child_id.choices = [(c.id, c.full_name) for c in hh.children]
    form.siblings.choices = [(c.id, c.full_name) for c in hh.children]
    choices = _facility_choices()
    for name in ApplicationForm.WISH_FIELDS:
        getattr(form, name).choices = choices


def _input_from(form: ApplicationForm, child: Child, round_: Round, rules: list[Any]) -> Any:
    care_type = form.care_type.data or ""
    if not care_type and form.start_date.data:
        suggested = apps.suggested_care_type(child.birth_date, form.start_date.data)
        care_type = suggested.value if suggested else ""
    return apps.ApplicationInput(
        child_id=child.id,
        round_id=round_.id,
        start_date=form.start_date.data,
        care_type=care_type,
        weekly_hours=form.weekly_hours.data,
        wishes=[getattr(form, f).data or 0 for f in ApplicationForm.WISH_FIELDS],
        criteria=_selected_criteria(form, rules),
        remarks=form.remarks.data or "",
    )


def _wishes_compact(data: Any) -> Any:
    """Gaps between wishes are closed (1st, 3rd → 1st, 2nd), unknown ids stay for the check."""
    data.wishes = [w for w in data.wishes if w]
    return data


@bp.route("/applications/new", methods=["GET", "POST"])
def application_new() -> Any:
    round_ = facilities.open_round()
    hh = _household()
    if round_ is None:
        return render_template("parents/no_round.html")
    if not hh.children:
        flash(_("Please add your child first."), "warning")
        return redirect(url_for("parents.child_new"))
    rules = _rules()
    form = ApplicationForm()
    _prepare_form(form, round_)
    if request.method == "GET":
        requested = request.args.get("child", type=int)
        child = get_child_or_404(requested, _user()) if requested is not None else hh.children[0]
        form.child_id.data = child.id
        form.start_date.data = max(round_.care_start_from, date.today())
        suggested = apps.suggested_care_type(child.birth_date, form.start_date.data)
        form.care_type.data = suggested.value if suggested else ""
        return _render_form(form, round_, None, rules)
    # POST: every id in the form must belong to this family (else 404)
    child = _own_child(request.form.get("child_id"))
    siblings = [_own_child(s) for s in request.form.getlist("siblings") if s]
    siblings = [s for s in siblings if s.id != child.id]
    if form.validate_on_submit():
        data = _wishes_compact(_input_from(form, child, round_, rules))
        submit = bool(form.submit_application.data)
        try:
            if siblings:
                created = apps.create_for_siblings(
                    _user(),
                    [child, *siblings],
                    round_,
                    data,
                    place_together=bool(form.place_together.data),
                    submit=submit,
                )
            else:
                created = [apps.create(_user(), child, round_, data, submit=submit)]
        except ValidationFailed as exc:
            _map_wish_errors(exc)
            apply_errors(form, exc)
        else:
            if submit:
                flash(_("Your application has been submitted."), "success")
            else:
                flash(_("Your draft has been saved."), "success")
            return redirect(url_for("parents.application", app_id=created[0].id))
    if not form.care_type.data and form.start_date.data:
        suggested = apps.suggested_care_type(child.birth_date, form.start_date.data)
        form.care_type.data = suggested.value if suggested else ""
    return _render_form(form, round_, None, rules, 422)


def _map_wish_errors(exc: ValidationFailed) -> None:
    """Service field names match the form's, except the criteria (shown at the top)."""
    if "criteria" in exc.errors:
        exc.errors.setdefault("", []).extend(exc.errors.pop("criteria"))


@bp.route("/applications/<int:app_id>/edit", methods=["GET", "POST"])
def application_edit(app_id: int) -> Any:
    application = get_application_or_404(app_id, _user())
    if application.status not in apps.EDITABLE:
        flash(_("The application can no longer be changed."), "warning")
        return redirect(url_for("parents.application", app_id=application.id))
    round_ = application.round
    rules = _rules()
    form = ApplicationForm()
    if request.method == "GET":
        form = ApplicationForm(
            data={
                "child_id": application.child_id,
                "start_date": application.start_date,
                "care_type": application.care_type.value,
                "weekly_hours": application.weekly_hours,
                "remarks": application.remarks,
                **{f"wish_{w.rank}": w.facility_id for w in application.wishes},
            }
        )
        _prepare_form(form, round_)
        return _render_form(form, round_, application, rules)
    _prepare_form(form, round_)
    posted_child = request.form.get("child_id")
    if posted_child and str(posted_child) != str(application.child_id):
        # a tampered hidden field: another family's child is a 404, an own one is refused
        _own_child(posted_child)
        form.child_id.errors = [_("The child of an application cannot be changed.")]
        return _render_form(form, round_, application, rules, 422)
    form.child_id.data = application.child_id
    if form.validate_on_submit():
        data = _wishes_compact(_input_from(form, application.child, round_, rules))
        try:
            apps.update_application(_user(), application, data)
            if form.submit_application.data and application.status == Status.DRAFT:
                apps.submit(_user(), application)
        except ValidationFailed as exc:
            _map_wish_errors(exc)
            apply_errors(form, exc)
        except (InvalidTransition, Conflict) as exc:
            flash(exc.message, "error")
            return redirect(url_for("parents.application", app_id=application.id))
        else:
            if application.status == Status.SUBMITTED and form.submit_application.data:
                flash(_("Your application has been submitted."), "success")
            else:
                flash(_("Your changes have been saved."), "success")
            return redirect(url_for("parents.application", app_id=application.id))
    return _render_form(form, round_, application, rules, 422)


@bp.route("/applications/<int:app_id>/submit", methods=["POST"])
def application_submit(app_id: int) -> Any:
    application = get_application_or_404(app_id, _user())
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            apps.submit(_user(), application)
        except ValidationFailed:
            flash(_("Please check your application."), "error")
            return redirect(url_for("parents.application_edit", app_id=application.id))
        except (InvalidTransition, Conflict) as exc:
            flash(exc.message, "error")
        else:
            flash(_("Your application has been submitted."), "success")
    return redirect(url_for("parents.application", app_id=application.id))


# --- the application page ----------------------------------------------------------


@bp.route("/applications/<int:app_id>")
def application(app_id: int) -> Any:
    application = get_application_or_404(app_id, _user())
    offer = offers.open_offer(application)
    locale = current_locale()
    explanation = (
        explain_outcome(application, locale)
        if application.outcome and is_published(application)
        else []
    )
    actions = apps.allowed_actions(application, _user())
    return render_template(
        "parents/application.html",
        application=application,
        stations=timeline(application),
        offer=offer,
        accept_form=AcceptForm(),
        answer_form=AnswerForm(),
        can_keep_waiting=offer is not None and offers.can_keep_waiting(offer),
        explanation=explanation,
        can_edit=application.status in apps.EDITABLE,
        can_withdraw="withdraw" in actions or "discard_draft" in actions,
        can_answer="answer" in actions,
        locale=locale,
        held=offers.held_offer(application),
    )


@bp.route("/applications/<int:app_id>/answer", methods=["POST"])
def application_answer(app_id: int) -> Any:
    application = get_application_or_404(app_id, _user())
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            apps.answer(_user(), application, form.message.data)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(_("Thank you, your answer has been sent."), "success")
            return redirect(url_for("parents.application", app_id=application.id))
    offer = offers.open_offer(application)
    return (
        render_template(
            "parents/application.html",
            application=application,
            stations=timeline(application),
            offer=offer,
            accept_form=AcceptForm(),
            answer_form=form,
            can_keep_waiting=False,
            explanation=[],
            can_edit=application.status in apps.EDITABLE,
            can_withdraw=True,
            can_answer=application.status == Status.QUERY,
            locale=current_locale(),
            held=None,
        ),
        422,
    )


@bp.route("/applications/<int:app_id>/withdraw", methods=["GET", "POST"])
def application_withdraw(app_id: int) -> Any:
    application = get_application_or_404(app_id, _user())
    form = WithdrawForm()
    if not application.is_open:
        flash(_("The application is already closed."), "warning")
        return redirect(url_for("parents.application", app_id=application.id))
    if form.validate_on_submit():
        try:
            apps.withdraw(_user(), application, form.message.data)
        except (InvalidTransition, Conflict) as exc:
            flash(exc.message, "error")
        else:
            flash(_("The application has been withdrawn."), "success")
        return redirect(url_for("parents.application", app_id=application.id))
    status = 422 if request.method == "POST" else 200
    return (
        render_template(
            "parents/withdraw.html",
            application=application,
            form=form,
            held=offers.held_offer(application),
        ),
        status,
    )


def _own_offer(app_id: int, offer_id: int) -> Offer:
    """An offer of the parent's own application (else 404, audited)."""
    application = get_application_or_404(app_id, _user())
    offer = next((o for o in application.offers if o.id == offer_id), None)
    if offer is None:
        deny(_user(), "offer", offer_id)
    assert offer is not None
    return offer


@bp.route("/applications/<int:app_id>/offers/<int:offer_id>/accept", methods=["POST"])
def offer_accept(app_id: int, offer_id: int) -> Any:
    offer = _own_offer(app_id, offer_id)
    form = AcceptForm()
    if form.validate_on_submit():
        try:
            offers.accept(_user(), offer, keep_waiting=bool(form.keep_waiting.data))
        except (InvalidTransition, Conflict, NotAllowed) as exc:
            flash(exc.message, "error")
        else:
            flash(_("You have accepted the place."), "success")
    return redirect(url_for("parents.application", app_id=app_id))


@bp.route("/applications/<int:app_id>/offers/<int:offer_id>/decline", methods=["GET", "POST"])
def offer_decline(app_id: int, offer_id: int) -> Any:
    offer = _own_offer(app_id, offer_id)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            offers.decline(_user(), offer)
        except (InvalidTransition, Conflict, NotAllowed) as exc:
            flash(exc.message, "error")
        else:
            flash(_("You have declined the place."), "success")
        return redirect(url_for("parents.application", app_id=app_id))
    return render_template("parents/decline.html", offer=offer, form=form)


# --- my data -----------------------------------------------------------------------


@bp.route("/data")
def my_data() -> Any:
    user = _user()
    data = privacy.export_family(user, current_locale())
    household = households.household_for(user)
    return render_template(
        "parents/my_data.html",
        data=data,
        viewers=privacy.viewers(household),
        blockers=privacy.deletion_blockers(user),
    )


@bp.route("/data.json")
def my_data_json() -> Any:
    data = privacy.export_family(_user(), current_locale())
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="kitaplatz-meine-daten.json"'},
    )


@bp.route("/data/delete", methods=["GET", "POST"])
def delete_account() -> Any:
    user = _user()
    form = DeleteAccountForm()
    blockers = privacy.deletion_blockers(user)
    if not blockers and form.validate_on_submit():
        try:
            privacy.delete_account(user)
        except NotAllowed as exc:
            blockers = [exc.message]
        else:
            logout_user()
            flash(_("Your account and all data of your family have been deleted."), "success")
            return redirect(url_for("public.index"))
    status = 422 if request.method == "POST" else 200
    return render_template("parents/delete.html", form=form, blockers=blockers), status


# the yearly waiting-list confirmation (issue 7)
from kita.parents import letters as _letters  # noqa: E402,F401  (PDF offer letters)
from kita.parents import reconfirm as _reconfirm  # noqa: E402, F401
