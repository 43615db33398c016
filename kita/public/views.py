"""Start page and public information pages."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, render_template

from kita.extensions import limiter
from kita.services import facilities

bp = Blueprint("public", __name__)

#: when the accessibility statement was last reviewed
STATEMENT_DATE = date(2026, 11, 22)


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


@bp.route("/help")
def help_page() -> Any:
    """Help for parents in plain language (Leichte Sprache)."""
    return render_template("public/help.html")


@bp.route("/ping")
@limiter.exempt
def ping() -> Any:
    """A bare endpoint returning a fixed string: the baseline of the load test (bench/)."""
    return Response("pong\n", mimetype="text/plain")


@bp.route("/accessibility")
def accessibility() -> Any:
    return render_template("public/accessibility.html", statement_date=STATEMENT_DATE)
