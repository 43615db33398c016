"""The family confirms once a year that a waiting-list entry is still needed."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from kita.errors import DomainError
from kita.forms import ConfirmForm
from kita.parents.views import bp
from kita.services import reminders
from kita.services.permissions import get_application_or_404


@bp.route("/applications/<int:app_id>/reconfirm", methods=["GET", "POST"])
def reconfirm(app_id: int) -> Any:
    application = get_application_or_404(app_id, current_user)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            reminders.reconfirm(current_user, application)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Thank you: the application stays on the waiting list."), "success")
        return redirect(url_for("parents.application", app_id=application.id))
    return render_template("parents/reconfirm.html", application=application, form=form)
