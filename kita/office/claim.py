"""Families entered by the office take over their record with an account (/claim)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from kita.errors import ValidationFailed
from kita.forms import apply_errors
from kita.models import Role
from kita.office.forms import ClaimForm
from kita.services import office_entry
from kita.web import guard_role

bp = Blueprint("claim", __name__, url_prefix="/claim")
guard_role(bp, {Role.PARENT})


@bp.route("/", methods=["GET", "POST"])
def index() -> Any:
    form = ClaimForm()
    if form.validate_on_submit():
        try:
            office_entry.claim(current_user, form.code.data or "")
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(_("Your record is now linked to your account."), "success")
            return redirect(url_for("parents.index"))
    status = 422 if form.errors else 200
    return render_template("office/claim.html", form=form), status
