"""The office's view of the outbox: mails that failed for good, and retries."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from kita.errors import InvalidTransition
from kita.forms import ConfirmForm
from kita.office.views import bp
from kita.services import notifications


@bp.route("/mail")
def mail_index() -> Any:
    return render_template(
        "office/mail/index.html",
        dead=notifications.dead_mails(),
        retrying=notifications.retrying_mails(),
        counts=notifications.outbox_counts(),
    )


@bp.route("/mail/<int:mail_id>/retry", methods=["POST"])
def mail_retry(mail_id: int) -> Any:
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("office.mail_index"))
    try:
        notifications.retry_dead(current_user, mail_id)
    except InvalidTransition as exc:
        flash(exc.message, "error")
    else:
        flash(_("The mail will be sent again."), "success")
    return redirect(url_for("office.mail_index"))
