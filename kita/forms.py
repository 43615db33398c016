"""Shared form pieces: the POST-only confirm form and mapping service errors to fields."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import Field

from kita.errors import ValidationFailed


class ConfirmForm(FlaskForm):
    """An empty form for POST-only actions (CSRF token only)."""


def apply_errors(form: FlaskForm, exc: ValidationFailed) -> None:
    """Put a service's field errors next to the form's fields (unknown ones at the top)."""
    for name, messages in exc.errors.items():
        field: Field | None = getattr(form, name, None) if name else None
        if isinstance(field, Field):
            field.errors = list(field.errors or []) + list(messages)
        else:
            form.form_errors.extend(messages)


def safe_next(target: str | None) -> str | None:
    """Only same-site relative targets are followed after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target
