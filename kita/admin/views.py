"""Technical administration (/admin): staff accounts and the municipality's settings."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from kita.admin.forms import SettingsForm, StaffForm
from kita.errors import DomainError, ValidationFailed
from kita.forms import ConfirmForm, apply_errors
from kita.models import STAFF_ROLES, Role, User
from kita.services import accounts, facilities, security, settings
from kita.web import guard_role

bp = Blueprint("admin", __name__, url_prefix="/admin")
guard_role(bp, {Role.ADMIN})


def _staff_user_or_404(user_id: int) -> User:
    user = accounts.get_staff_user(user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/")
def index() -> Any:
    role = request.args.get("role")
    users = accounts.staff_users(Role(role) if role in {r.value for r in STAFF_ROLES} else None)
    by_id = {f.id: f for f in facilities.facilities_by_name()}
    return render_template(
        "admin/index.html", users=users, facilities=by_id, role=role, form=ConfirmForm()
    )


@bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> Any:
    form = StaffForm()
    form.facility.choices = [(0, _("— none —"))] + [
        (f.id, f.name) for f in facilities.facilities_by_name(active_only=True)
    ]
    if form.validate_on_submit():
        role = Role(form.role.data)
        facility = facilities.get_facility(form.facility.data) if form.facility.data else None
        try:
            user = accounts.invite_staff(
                current_user,
                form.email.data,
                role,
                facility=facility,
                display_name=form.display_name.data or None,
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(
                _("The account %(email)s was created and invited by e-mail.", email=user.email),
                "success",
            )
            return redirect(url_for("admin.index"))
    return render_template("admin/user_form.html", form=form), 422 if form.errors else 200


@bp.route("/users/<int:user_id>/active", methods=["POST"])
def set_active(user_id: int) -> Any:
    user = _staff_user_or_404(user_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        active = request.form.get("active") == "1"
        try:
            accounts.set_active(current_user, user, active)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Account activated.") if active else _("Account deactivated."), "success")
    return redirect(url_for("admin.index"))


@bp.route("/users/<int:user_id>/totp-reset", methods=["POST"])
def reset_totp(user_id: int) -> Any:
    """Remove a lost second factor; the colleague sets up a new one at the next login."""
    user = _staff_user_or_404(user_id)
    if ConfirmForm().validate_on_submit():
        security.reset_totp(current_user, user)
        flash(_("The second factor of %(email)s was removed.", email=user.email), "success")
    return redirect(url_for("admin.index"))


@bp.route("/settings", methods=["GET", "POST"])
def edit_settings() -> Any:
    current = settings.municipality()
    form = SettingsForm(
        data={
            "municipality_name": current.name,
            "municipality_office": current.office,
            "municipality_address": current.address,
            "municipality_contact_email": current.contact_email,
        }
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit():
        settings.set_many(
            current_user,
            {key: getattr(form, key).data.strip() for key in settings.MUNICIPALITY_KEYS},
        )
        flash(_("Settings saved."), "success")
        return redirect(url_for("admin.edit_settings"))
    return render_template("admin/settings.html", form=form), 422 if form.errors else 200
