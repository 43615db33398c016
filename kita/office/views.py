"""Coordination office (/office): dashboard, figures, applications and their review."""

from __future__ import annotations

from datetime import date
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from kita.errors import DomainError, NotFound, ValidationFailed
from kita.forms import ConfirmForm, apply_errors
from kita.models import CareType, Role, Round, Status
from kita.office.forms import ActionForm, BulkReleaseForm, FilterForm, MergeForm, NoteForm
from kita.services import (
    audit,
    exports,
    facilities,
    office_entry,
    review,
    rounds,
    rules,
    statistics,
)
from kita.services.applications import allowed_actions
from kita.services.permissions import deny
from kita.services.points import for_application
from kita.services.stations import care_type_label, station_label
from kita.web import download, guard_role

bp = Blueprint("office", __name__, url_prefix="/office")
guard_role(bp, {Role.OFFICE})


def _action_label(action: str) -> str:
    return {
        "start_review": _("Start review"),
        "ask_back": _("Ask back"),
        "release": _("Release"),
        "reject": _("Reject"),
    }[action]


def _round_from_args() -> Round | None:
    rid = request.args.get("round", type=int)
    if rid:
        r = rounds.get_round(rid)
        if r is None:
            abort(404)
        return r
    return facilities.open_round()


@bp.route("/")
def index() -> Any:
    round_ = _round_from_args()
    data = statistics.dashboard(round_)
    demand = statistics.demand_vs_places(round_)
    return render_template(
        "office/index.html",
        data=data,
        demand=demand,
        round=round_,
        statuses=[s for s in Status if s != Status.DRAFT],
        care_types=list(CareType),
        all_rounds=rounds.all_rounds(),
    )


@bp.route("/charts/demand.svg")
def demand_chart() -> Any:
    round_ = _round_from_args()
    svg = statistics.demand_chart_svg(
        statistics.demand_vs_places(round_), title=round_.name if round_ else ""
    )
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


@bp.route("/figures")
def figures() -> Any:
    groups = statistics.service_figures()
    return render_template(
        "office/figures.html",
        groups=groups,
        milestones=statistics.MILESTONE_LABELS,
        min_cell=statistics.MIN_CELL,
    )


@bp.route("/figures.csv")
def figures_csv() -> Any:
    body = statistics.service_figures_csv(statistics.service_figures())
    return download("\ufeff" + body, "text/csv", "kitaplatz-kennzahlen.csv")


# --- the application list ------------------------------------------------------------


def _filter_form() -> tuple[FilterForm, review.Filters]:
    form = FilterForm(request.args)
    all_rounds = rounds.all_rounds()
    form.round.choices = [("", _("All rounds"))] + [(str(r.id), r.name) for r in all_rounds]
    form.status.choices = [("", _("All stations"))] + [
        (s.value, station_label(s)) for s in Status if s != Status.DRAFT
    ]
    form.care_type.choices = [("", _("All care types"))] + [
        (c.value, care_type_label(c)) for c in CareType
    ]
    form.facility.choices = [("", _("All facilities"))] + [
        (str(f.id), f.name) for f in facilities.active_facilities()
    ]
    form.district.choices = [("", _("All districts"))] + [(d, d) for d in facilities.districts()]
    form.rule.choices = [("", _("All criteria"))] + [
        (str(r.id), r.label_de if _lang() == "de" else r.label_en) for r in rules.all_rules()
    ]
    form.sort.choices = [
        ("submitted", _("Submitted")),
        ("waiting", _("Waiting since")),
        ("reference", _("Reference number")),
        ("name", _("Name")),
        ("status", _("Station")),
    ]
    form.order.choices = [("asc", _("Ascending")), ("desc", _("Descending"))]
    if "round" not in request.args:
        current = facilities.open_round()
        form.round.data = str(current.id) if current else ""
    form.validate()

    def choice(value: Any, allowed: list[tuple[str, Any]]) -> str | None:
        value = value or ""
        return value if value and value in {c[0] for c in allowed} else None

    status = choice(form.status.data, form.status.choices)
    care = choice(form.care_type.data, form.care_type.choices)
    filters = review.Filters(
        round_id=int(r) if (r := choice(form.round.data, form.round.choices)) else None,
        status=Status(status) if status else None,
        care_type=CareType(care) if care else None,
        facility_id=int(f) if (f := choice(form.facility.data, form.facility.choices)) else None,
        district=choice(form.district.data, form.district.choices),
        rule_id=int(x) if (x := choice(form.rule.data, form.rule.choices)) else None,
        submitted_from=form.submitted_from.data if not form.submitted_from.errors else None,
        submitted_to=form.submitted_to.data if not form.submitted_to.errors else None,
        q=(form.q.data or "").strip()[:100],
        sort=choice(form.sort.data, form.sort.choices) or "submitted",
        descending=form.order.data == "desc",
    )
    return form, filters


def _lang() -> str:
    from kita.i18n import current_locale

    return current_locale()


def _query_args(**override: Any) -> dict[str, Any]:
    args = {k: v for k, v in request.args.items() if v}
    args.update(override)
    return {k: v for k, v in args.items() if v not in (None, "")}


@bp.route("/applications")
def applications() -> Any:
    form, filters = _filter_form()
    page = review.search(filters, page=request.args.get("page", 1, type=int))
    return render_template(
        "office/applications.html",
        form=form,
        page=page,
        filters=filters,
        bulk_form=BulkReleaseForm(),
        query_args=_query_args,
    )


@bp.route("/applications/release", methods=["POST"])
def bulk_release() -> Any:
    form, filters = _filter_form()
    bulk = BulkReleaseForm()
    if not bulk.validate_on_submit():
        abort(400)
    count = review.bulk_release(current_user, filters, bulk.message.data or None)
    flash(_("%(n)d applications released.", n=count), "success")
    return redirect(url_for("office.applications", **_query_args()))


@bp.route("/applications/export.<fmt>")
def export_applications(fmt: str) -> Any:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    _form, filters = _filter_form()
    content, mimetype, filename = exports.applications_export(filters, fmt)
    audit.record_now(current_user, "export.applications", None, object_type="application", fmt=fmt)
    return download(content, mimetype, filename)


# --- the application detail ----------------------------------------------------------


def _load(app_id: int) -> Any:
    try:
        return review.load_detail(app_id)
    except NotFound:
        deny(current_user, "application", app_id)


def _detail(application: Any, status: int = 200, **forms: Any) -> Any:
    acts = [a for a in allowed_actions(application, current_user) if a in review.REVIEW_ACTIONS]
    dups = review.duplicates(application)
    merge_form = forms.get("merge_form") or MergeForm()
    merge_form.target.choices = [
        (d.id, f"{d.reference} ({station_label(d.status)})") for d in dups if d.is_open
    ]
    pts = for_application(application)
    declared = for_application(application, verified_only=False)
    return (
        render_template(
            "office/application.html",
            application=application,
            child=application.child,
            household=application.child.household,
            actions=acts,
            action_label=_action_label,
            action_forms={
                a: forms.get(f"form_{a}") or ActionForm(prefix=a, action=a) for a in acts
            },
            note_form=forms.get("note_form") or NoteForm(),
            merge_form=merge_form,
            duplicates=dups,
            points=pts,
            declared_points=declared,
            can_verify=application.status in review.VERIFY_STATIONS,
            can_merge=application.status in {Status.SUBMITTED, Status.IN_REVIEW, Status.QUERY}
            and bool(merge_form.target.choices),
        ),
        status,
    )


@bp.route("/applications/<int:app_id>")
def application(app_id: int) -> Any:
    application = _load(app_id)
    review.record_view(current_user, application)
    return _detail(application)


@bp.route("/applications/<int:app_id>/action/<action>", methods=["POST"])
def application_action(app_id: int, action: str) -> Any:
    if action not in review.REVIEW_ACTIONS:
        abort(404)
    application = _load(app_id)
    form = ActionForm(prefix=action)
    if not form.validate_on_submit():
        return _detail(application, 422, **{f"form_{action}": form})
    try:
        review.act(current_user, application, action, form.message.data)
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _detail(application, 422, **{f"form_{action}": form})
    flash(_("Done: %(action)s.", action=_action_label(action)), "success")
    return redirect(url_for("office.application", app_id=app_id))


@bp.route("/applications/<int:app_id>/criteria", methods=["POST"])
def verify_criteria(app_id: int) -> Any:
    application = _load(app_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ids = {int(x) for x in request.form.getlist("verified") if x.isdigit()}
    review.verify_criteria(current_user, application, ids)
    flash(_("The verified criteria have been saved."), "success")
    return redirect(url_for("office.application", app_id=app_id) + "#criteria")


@bp.route("/applications/<int:app_id>/notes", methods=["POST"])
def add_note(app_id: int) -> Any:
    application = _load(app_id)
    form = NoteForm()
    if not form.validate_on_submit():
        return _detail(application, 422, note_form=form)
    try:
        review.add_note(current_user, application, form.text.data or "")
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _detail(application, 422, note_form=form)
    flash(_("The note has been saved."), "success")
    return redirect(url_for("office.application", app_id=app_id) + "#notes")


@bp.route("/applications/<int:app_id>/claim-code", methods=["POST"])
def renew_claim_code(app_id: int) -> Any:
    application = _load(app_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        code = office_entry.renew_claim_code(current_user, application)
    except ValidationFailed as exc:
        flash(" ".join(m for msgs in exc.errors.values() for m in msgs), "error")
    else:
        flash(
            _(
                "New access code for the family: %(code)s. The previous code no longer works; "
                "the family gets the new one by letter or e-mail.",
                code=code,
            ),
            "success",
        )
    return redirect(url_for("office.application", app_id=app_id))


@bp.route("/applications/<int:app_id>/merge", methods=["POST"])
def merge(app_id: int) -> Any:
    application = _load(app_id)
    form = MergeForm()
    form.target.choices = [(d.id, d.reference) for d in review.duplicates(application)]
    if not form.validate_on_submit():
        return _detail(application, 422, merge_form=form)
    keeper = _load(form.target.data)
    try:
        review.merge(current_user, application, keeper, form.message.data)
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _detail(application, 422, merge_form=form)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("office.application", app_id=app_id))
    flash(_("The application was merged into %(ref)s.", ref=keeper.reference), "success")
    return redirect(url_for("office.application", app_id=keeper.id))


@bp.app_template_filter("days_since")
def _days_since(value: Any) -> int:
    if value is None:
        return 0
    return (date.today() - value.date()).days


# the other office pages register their routes on this blueprint
from kita.office import manage  # noqa: E402, F401

if find_spec("kita.office.runs") is not None:  # the allocation run pages (their own issue)
    import_module("kita.office.runs")

# background-job pages: outbox failures, retention and legal holds (issue 7)
from kita.office import letters as _letters  # noqa: E402,F401  (PDF offer letters)
from kita.office import mail, retention  # noqa: E402, F401
