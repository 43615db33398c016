"""Facility staff (/facility): only what concerns their own facility."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from kita.models import Role
from kita.web import guard_role

bp = Blueprint("facility", __name__, url_prefix="/facility")
guard_role(bp, {Role.FACILITY})


@bp.route("/")
def index() -> Any:
    return render_template("facility/index.html")
