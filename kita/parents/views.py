"""Parents' portal (/parent): own household, children and applications only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from kita.models import Role
from kita.web import guard_role

bp = Blueprint("parents", __name__, url_prefix="/parent")
guard_role(bp, {Role.PARENT})


@bp.route("/")
def index() -> Any:
    return render_template("parents/index.html")


@bp.route("/applications/<int:app_id>")
def application(app_id: int) -> Any:
    from flask_login import current_user

    from kita.services.permissions import get_application_or_404

    application = get_application_or_404(app_id, current_user)
    return render_template("parents/application.html", application=application)


from kita.parents import letters as _letters  # noqa: E402,F401  (PDF offer letters)
