"""Start page and public information pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from kita.services import facilities

bp = Blueprint("public", __name__)


@bp.route("/")
def index() -> Any:
    return render_template(
        "public/index.html",
        facilities=facilities.active_facilities(),
        round=facilities.open_round(),
    )


@bp.route("/privacy")
def privacy() -> Any:
    return render_template("public/privacy.html")


@bp.route("/accessibility")
def accessibility() -> Any:
    return render_template("public/accessibility.html")
