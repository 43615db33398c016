"""Coordination office (/office)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from kita.models import Role
from kita.web import guard_role

bp = Blueprint("office", __name__, url_prefix="/office")
guard_role(bp, {Role.OFFICE})


@bp.route("/")
def index() -> Any:
    return render_template("office/index.html")


from kita.office import letters as _letters  # noqa: E402,F401  (PDF offer letters)

# background-job pages: outbox failures, retention and legal holds (issue 7)
from kita.office import mail, retention  # noqa: E402, F401
