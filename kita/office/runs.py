"""Office pages of allocation runs: start ("Vergabe berechnen"), live progress, result,
comparison, locks and bans, publishing ("Angebote versenden"), alternative offers.

Routes on the office blueprint (guarded for the office role there).
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from kita.errors import DomainError, NotFound, ValidationFailed
from kita.forms import ConfirmForm, apply_errors
from kita.models import AllocationRun, Round, RunStatus
from kita.office.views import bp
from kita.services import allocation_runs as runs
from kita.services import applications, facilities, offers, rounds
from kita.web import download

REASON_LABELS = {
    "full": _l("all places taken by children with higher priority"),
    "lottery": _l("equal points, the lottery decided"),
    "no_capacity": _l("no place of this care type"),
    "taken_by_locks_or_holds": _l("places taken by fixed assignments or held places"),
    "banned": _l("excluded by the office"),
    "sibling_constraint": _l("siblings could not be placed together there"),
    "mode_choice": _l("given to another child to place more children overall"),
}


class RunForm(FlaskForm):
    mode = SelectField(
        _l("Mode"),
        choices=[(k, v) for k, v in runs.MODE_LABELS.items()],
        default="stable",
    )
    siblings = SelectField(
        _l("Siblings"),
        choices=[(k, v) for k, v in runs.SIBLING_LABELS.items()],
        default="together",
    )


class OverrideForm(FlaskForm):
    reference = StringField(_l("Reference number"), validators=[DataRequired(), Length(max=20)])
    facility_id = SelectField(_l("Facility"), coerce=int)
    kind = SelectField(
        _l("Kind"),
        choices=[("lock", _l("Fix at this facility")), ("ban", _l("Exclude this facility"))],
    )
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500)])


class AlternativeForm(FlaskForm):
    facility_id = SelectField(_l("Facility"), coerce=int)


def _round(round_id: int) -> Round:
    r = rounds.get_round(round_id)
    if r is None:
        abort(404)
    return r


def _run(run_id: int) -> AllocationRun:
    try:
        return runs.get_run(run_id)
    except NotFound:
        abort(404)


def _facility_choices() -> list[tuple[int, str]]:
    return [(f.id, f.name) for f in facilities.facilities_by_name()]


def reason_text(entry: dict[str, Any], names: dict[str, str]) -> str:
    facility = names.get(entry.get("facility", ""), entry.get("facility", "?"))
    reason = str(REASON_LABELS.get(entry.get("reason", ""), entry.get("reason", "")))
    text = _(
        "%(rank)s. wish %(facility)s: %(reason)s",
        rank=entry.get("wish_rank", "?"),
        facility=facility,
        reason=reason,
    )
    if entry.get("reason") in ("full", "lottery") and entry.get("cutoff_priority") is not None:
        text += " " + _(
            "(last admitted: %(cutoff)s points, this child: %(own)s)",
            cutoff=entry.get("cutoff_priority"),
            own=entry.get("own_priority", 0),
        )
    return text


@bp.route("/rounds/<int:round_id>/runs", methods=["GET", "POST"])
def round_runs(round_id: int) -> Any:
    round_ = _round(round_id)
    runs.fail_stale_runs()
    form = RunForm()
    if form.validate_on_submit():
        try:
            run = runs.start_run(
                current_user, round_, mode=form.mode.data, siblings=form.siblings.data
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        except DomainError as exc:
            flash(exc.message, "error")
            active = runs.active_run(round_.id)
            if active is not None:
                return redirect(url_for("office.run_page", run_id=active.id), 303)
            return redirect(url_for("office.round_runs", round_id=round_.id), 303)
        else:
            return redirect(url_for("office.run_page", run_id=run.id), 303)
    all_runs = runs.runs_of(round_.id)
    override_form = OverrideForm()
    override_form.facility_id.choices = _facility_choices()
    status = 422 if form.errors else 200
    return (
        render_template(
            "office/runs/list.html",
            round=round_,
            form=form,
            runs=all_runs,
            compare=runs.compare(all_runs),
            active=runs.active_run(round_.id),
            overrides=runs.overrides_of(round_.id),
            override_form=override_form,
            confirm=ConfirmForm(),
            apps={a.id: a for a in runs.problem_applications(round_.id)},
            facilities={f.id: f for f in facilities.facilities_by_name()},
            mode_labels=runs.MODE_LABELS,
            status_labels=runs.RUN_STATUS_LABELS,
            waiting=runs.waitlist_count(round_.id),
            placed={
                r.id: runs.result_of(r).get("stats", {}).get("placed", "–")
                for r in all_runs
                if r.result_json
            },
        ),
        status,
    )


@bp.route("/runs/<int:run_id>")
def run_page(run_id: int) -> Any:
    runs.fail_stale_runs()
    run = _run(run_id)
    if run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
        return render_template(
            "office/runs/progress.html",
            run=run,
            progress=runs.progress(run),
            mode_labels=runs.MODE_LABELS,
        )
    if run.status == RunStatus.FAILED:
        return render_template("office/runs/failed.html", run=run, mode_labels=runs.MODE_LABELS)
    s = runs.summary(run)
    names = {f.slug: f.name for f in facilities.facilities_by_name()}
    override_form = OverrideForm()
    override_form.facility_id.choices = _facility_choices()
    return render_template(
        "office/runs/result.html",
        run=run,
        s=s,
        names=names,
        reason_text=reason_text,
        can_publish=runs.can_publish(run),
        confirm=ConfirmForm(),
        override_form=override_form,
        mode_labels=runs.MODE_LABELS,
        sibling_labels=runs.SIBLING_LABELS,
        rerun=RunForm(mode=run.mode, siblings=run.siblings),
    )


@bp.route("/runs/<int:run_id>/progress.json")
def run_progress(run_id: int) -> Any:
    runs.fail_stale_runs()
    return jsonify(runs.progress(_run(run_id)))


@bp.route("/runs/<int:run_id>/problem.json")
def run_problem(run_id: int) -> Any:
    run = _run(run_id)
    if not run.problem_json:
        abort(404)
    return download(run.problem_json, "application/json", f"problem-run-{run.id}.json")


@bp.route("/runs/<int:run_id>/result.json")
def run_result(run_id: int) -> Any:
    run = _run(run_id)
    if not run.result_json:
        abort(404)
    return download(run.result_json, "application/json", f"result-run-{run.id}.json")


@bp.route("/runs/<int:run_id>/chart.svg")
def run_chart(run_id: int) -> Any:
    run = _run(run_id)
    if run.status != RunStatus.SUCCEEDED:
        abort(404)
    return Response(runs.chart_svg(runs.summary(run)), mimetype="image/svg+xml")


@bp.route("/runs/<int:run_id>/publish", methods=["POST"])
def run_publish(run_id: int) -> Any:
    run = _run(run_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        report = runs.publish(current_user, run)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("office.run_page", run_id=run.id), 303)
    flash(
        _(
            "Offers sent: %(offers)d offers, %(waiting)d children on the waiting list.",
            offers=report.offers,
            waiting=report.waitlisted,
        ),
        "success",
    )
    if report.deferred:
        flash(
            _(
                "%(n)d children wait for a place still held by a family offered a better "
                "wish; a follow-up run includes them.",
                n=len(report.deferred),
            ),
            "info",
        )
    return redirect(url_for("office.run_page", run_id=run.id), 303)


@bp.route("/rounds/<int:round_id>/overrides", methods=["POST"])
def override_add(round_id: int) -> Any:
    round_ = _round(round_id)
    form = OverrideForm()
    form.facility_id.choices = _facility_choices()
    back = request.form.get("back_run", type=int)
    target = (
        url_for("office.run_page", run_id=back)
        if back
        else url_for("office.round_runs", round_id=round_.id)
    )
    if not form.validate_on_submit():
        for messages in form.errors.values():
            for m in messages:
                flash(str(m), "error")
        return redirect(target, 303)
    app = runs.application_by_reference(round_.id, form.reference.data)
    facility = facilities.get_facility(form.facility_id.data)
    if app is None or facility is None:
        flash(_("No application with this reference number in this round."), "error")
        return redirect(target, 303)
    try:
        runs.set_override(
            current_user, round_, app, facility, form.kind.data, form.reason.data or ""
        )
    except ValidationFailed as exc:
        for messages in exc.errors.values():
            for m in messages:
                flash(m, "error")
        return redirect(target, 303)
    flash(_("Saved. Start a new run to apply it."), "success")
    return redirect(target, 303)


@bp.route("/rounds/<int:round_id>/overrides/<int:override_id>/delete", methods=["POST"])
def override_delete(round_id: int, override_id: int) -> Any:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        runs.remove_override(current_user, override_id, round_id)
    except NotFound:
        abort(404)
    flash(_("Removed."), "success")
    return redirect(url_for("office.round_runs", round_id=round_id), 303)


@bp.route("/rounds/<int:round_id>/alternatives")
def round_alternatives(round_id: int) -> Any:
    round_ = _round(round_id)
    rows = []
    for app, options in offers.waitlist_alternatives(round_.id):
        form = AlternativeForm(prefix=f"a{app.id}")
        form.facility_id.choices = [
            (o.facility.id, f"{o.facility.name} ({o.facility.district}, {o.free})") for o in options
        ]
        rows.append((app, options, form))
    return render_template("office/runs/alternatives.html", round=round_, rows=rows)


@bp.route("/applications/<int:app_id>/alternative", methods=["POST"])
def application_alternative(app_id: int) -> Any:
    app = applications.get_application(app_id)
    form = AlternativeForm(prefix=f"a{app.id}")
    form.facility_id.choices = [(o.facility.id, "") for o in offers.alternative_facilities(app)]
    back = url_for("office.round_alternatives", round_id=app.round_id)
    if not form.validate_on_submit():
        flash(_("Please choose a facility from the list."), "error")
        return redirect(back, 303)
    facility = facilities.get_facility(form.facility_id.data)
    assert facility is not None
    try:
        offers.make_alternative(current_user, app, facility)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(back, 303)
    flash(
        _("Alternative offer made: %(ref)s at %(name)s.", ref=app.reference, name=facility.name),
        "success",
    )
    return redirect(back, 303)
