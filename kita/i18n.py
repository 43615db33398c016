"""Locale selection (German default, English selectable) and date formatting."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask, current_app, request, session
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if request:
        lang = request.args.get("lang", "")
        if lang in languages:
            session["lang"] = lang
            return lang
        if session.get("lang") in languages:
            return str(session["lang"])
        if current_user and current_user.is_authenticated and current_user.locale in languages:
            return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def current_locale() -> str:
    return str(get_locale() or "de")


def fmt_date(value: date | datetime | None) -> str:
    """dd.mm.yyyy in German, the locale's short form otherwise."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date() if value.tzinfo is None else value
    if current_locale() == "de":
        if isinstance(value, datetime):
            return format_datetime(value, "dd.MM.yyyy")
        return value.strftime("%d.%m.%Y")
    if isinstance(value, datetime):
        return format_datetime(value, "yyyy-MM-dd")
    return format_date(value, "yyyy-MM-dd")


def fmt_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    if current_locale() == "de":
        return format_datetime(value, "dd.MM.yyyy, HH:mm 'Uhr'")
    return format_datetime(value, "yyyy-MM-dd HH:mm")


def init_app(app: Flask) -> None:
    app.jinja_env.filters["date"] = fmt_date
    app.jinja_env.filters["datetime"] = fmt_datetime

    @app.context_processor
    def _locale() -> dict[str, Any]:
        return {"current_locale": current_locale()}
