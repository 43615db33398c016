"""Retention settings and legal holds (the office)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from kita.errors import DomainError, ValidationFailed
from kita.forms import apply_errors
from kita.office.views import bp
from kita.services import applications, retention


class PolicyForm(FlaskForm):
    months = IntegerField(
        _l("Months after closing"),
        validators=[Optional(), NumberRange(1, 120)],
        description=_l("Empty: until the end of the care year (31 July) after the closing."),
    )
    notice_days = IntegerField(
        _l("Notice to the family (days before)"), validators=[InputRequired(), NumberRange(1, 90)]
    )


class HoldForm(FlaskForm):
    reference = StringField(_l("Reference number"), validators=[DataRequired(), Length(max=20)])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


class LiftForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


def _page(policy_form: PolicyForm, hold_form: HoldForm, status: int = 200) -> Any:
    return (
        render_template(
            "office/mail/retention.html",
            policy_form=policy_form,
            hold_form=hold_form,
            held=retention.held_applications(),
            lift_form=LiftForm(),
        ),
        status,
    )


def _policy_form() -> PolicyForm:
    months, notice = retention.policy()
    return PolicyForm(data={"months": months, "notice_days": notice})


@bp.route("/retention")
def retention_index() -> Any:
    return _page(_policy_form(), HoldForm())


@bp.route("/retention/policy", methods=["POST"])
def retention_policy() -> Any:
    form = PolicyForm()
    if form.validate_on_submit():
        try:
            retention.set_policy(current_user, form.months.data, form.notice_days.data or 0)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(_("The retention period was saved."), "success")
            return redirect(url_for("office.retention_index"))
    return _page(form, HoldForm(), 422)


@bp.route("/retention/hold", methods=["POST"])
def retention_hold() -> Any:
    form = HoldForm()
    if form.validate_on_submit():
        application = retention.find_by_reference(form.reference.data or "")
        if application is None:
            form.reference.errors = [_("No application with this reference number.")]
        else:
            try:
                retention.set_legal_hold(current_user, application, form.reason.data or "")
            except ValidationFailed as exc:
                apply_errors(form, exc)
            except DomainError as exc:
                form.reference.errors = [exc.message]
            else:
                flash(_("The application is on hold and will not be deleted."), "success")
                return redirect(url_for("office.retention_index"))
    return _page(_policy_form(), form, 422)


@bp.route("/retention/<int:app_id>/lift", methods=["POST"])
def retention_lift(app_id: int) -> Any:
    form = LiftForm()
    application = applications.get_application(app_id)
    if not form.validate_on_submit():
        flash(_("Please enter a reason."), "error")
        return redirect(url_for("office.retention_index"))
    try:
        retention.lift_legal_hold(current_user, application, form.reason.data or "")
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("The hold was lifted."), "success")
    return redirect(url_for("office.retention_index"))
