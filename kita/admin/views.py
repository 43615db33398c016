"""Technical administration (/admin): staff accounts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from kita.models import Role
from kita.web import guard_role

bp = Blueprint("admin", __name__, url_prefix="/admin")
guard_role(bp, {Role.ADMIN})


@bp.route("/")
def index() -> Any:
    return render_template("admin/index.html")
