"""Settings the administration keeps in the database (municipality letterhead, policies).

Each setting falls back to the app configuration when it has no row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app, g, has_request_context
from sqlalchemy import select

from kita.extensions import db
from kita.models import Setting, User
from kita.services import audit

MUNICIPALITY_KEYS = {
    "municipality_name": "MUNICIPALITY_NAME",
    "municipality_office": "MUNICIPALITY_OFFICE",
    "municipality_address": "MUNICIPALITY_ADDRESS",
    "municipality_contact_email": "MUNICIPALITY_CONTACT_EMAIL",
}


@dataclass(frozen=True)
class Municipality:
    name: str
    office: str
    address: str
    contact_email: str


#: settings change rarely: every process re-reads them at most every
#: ``SETTINGS_CACHE_SECONDS`` (10 s; 0 in the tests)
_cache: dict[str, tuple[float, dict[str, str]]] = {}


def _all() -> dict[str, str]:
    if has_request_context() and "settings" in g:
        return g.settings  # type: ignore[no-any-return]
    key = str(db.engine.url)
    cached = _cache.get(key)
    max_age = float(current_app.config.get("SETTINGS_CACHE_SECONDS", 10))
    if cached is not None and time.monotonic() - cached[0] < max_age:
        values = cached[1]
    else:
        values = {s.key: s.value for s in db.session.scalars(select(Setting)).all()}
        _cache[key] = (time.monotonic(), values)
    if has_request_context():
        g.settings = values
    return values


def get(key: str, default: str | None = None) -> str | None:
    value = _all().get(key)
    if value is not None:
        return value
    config_key = MUNICIPALITY_KEYS.get(key)
    if config_key is not None:
        return str(current_app.config[config_key])
    return default


def municipality() -> Municipality:
    return Municipality(
        name=get("municipality_name") or "",
        office=get("municipality_office") or "",
        address=get("municipality_address") or "",
        contact_email=get("municipality_contact_email") or "",
    )


def set_many(actor: User | None, values: dict[str, str]) -> None:
    """Store settings (audited) in one transaction."""
    changed = {}
    for key, value in values.items():
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=value))
            changed[key] = value
        elif row.value != value:
            row.value = value
            changed[key] = value
    if changed:
        audit.record(actor, "settings.update", object_type="setting", keys=sorted(changed))
    db.session.commit()
    _cache.pop(str(db.engine.url), None)
    if has_request_context():
        g.pop("settings", None)
