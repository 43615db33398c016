"""Facility staff (/facility): only what concerns their own facility."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from kita.errors import DomainError, NotFound, ValidationFailed
from kita.forms import ConfirmForm, apply_errors
from kita.models import Facility, Offer, Role
from kita.services import audit, enrollments, exports, permissions
from kita.services.stations import care_type_label
from kita.web import download, guard_role

bp = Blueprint("facility", __name__, url_prefix="/facility")
guard_role(bp, {Role.FACILITY})

OFFER_STATUS_LABELS = {
    "open": _l("open"),
    "accepted": _l("accepted"),
    "declined": _l("declined"),
    "expired": _l("expired"),
    "released": _l("released"),
    "withdrawn": _l("withdrawn"),
}


class RefuseForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


def _facility() -> Facility:
    facility = current_user.facility
    if facility is None:
        abort(403)
    return facility  # type: ignore[no-any-return]


def _offer(offer_id: int) -> Offer:
    try:
        return enrollments.offer_for_facility(offer_id, current_user.facility_id)
    except NotFound:
        permissions.deny(current_user, "offer", offer_id)
        raise


def _free_form(facility: Facility) -> tuple[Any, list[Any], Any]:
    round_ = enrollments.report_round()
    caps = enrollments.capacities(facility, round_) if round_ is not None else []

    class FreeForm(FlaskForm):
        pass

    for cap in caps:
        setattr(
            FreeForm,
            f"free_{cap.care_type}",
            IntegerField(
                care_type_label(cap.care_type),
                validators=[Optional(), NumberRange(min=0, max=1000)],
                default=cap.reported_free,
            ),
        )
    return FreeForm(), caps, round_


def _desk_page(facility: Facility, form: Any, caps: list[Any], round_: Any) -> str:
    return render_template(
        "facility/index.html",
        facility=facility,
        desk=enrollments.desk(facility),
        confirm=ConfirmForm(),
        free_form=form,
        caps=caps,
        report_round=round_,
        offer_labels=OFFER_STATUS_LABELS,
    )


@bp.route("/")
def index() -> Any:
    facility = _facility()
    form, caps, round_ = _free_form(facility)
    return _desk_page(facility, form, caps, round_)


@bp.route("/offers/<int:offer_id>/enroll", methods=["POST"])
def enroll(offer_id: int) -> Any:
    offer = _offer(offer_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        enrollments.confirm(current_user, offer)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(
            _("Enrollment of %(name)s confirmed.", name=offer.application.child.first_name),
            "success",
        )
    return redirect(url_for("facility.index"), 303)


@bp.route("/offers/<int:offer_id>/refuse", methods=["GET", "POST"])
def refuse(offer_id: int) -> Any:
    offer = _offer(offer_id)
    form = RefuseForm()
    if form.validate_on_submit():
        try:
            enrollments.refuse(current_user, offer, form.reason.data or "")
        except ValidationFailed as exc:
            apply_errors(form, exc)
        except DomainError as exc:
            flash(exc.message, "error")
            return redirect(url_for("facility.index"), 303)
        else:
            flash(_("The place went back to the coordination office."), "success")
            return redirect(url_for("facility.index"), 303)
    return (
        render_template("facility/refuse.html", offer=offer, form=form),
        422 if form.errors else 200,
    )


@bp.route("/free-places", methods=["POST"])
def free_places() -> Any:
    facility = _facility()
    form, caps, round_ = _free_form(facility)
    if round_ is None:
        abort(404)
    if form.validate_on_submit():
        values = {
            str(c.care_type): getattr(form, f"free_{c.care_type}").data
            for c in caps
            if getattr(form, f"free_{c.care_type}").data is not None
        }
        try:
            enrollments.report_free(current_user, facility, round_, values)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(_("Free places reported."), "success")
            return redirect(url_for("facility.index"), 303)
    return _desk_page(facility, form, caps, round_), 422


@bp.route("/export.<fmt>")
def export(fmt: str) -> Any:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    facility = _facility()
    content, mimetype, filename = exports.facility_export(facility, fmt)
    audit.record_now(current_user, "export.facility", facility, fmt=fmt)
    return download(content, mimetype, filename)
