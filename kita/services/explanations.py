"""Plain-language explanations of an allocation outcome, for parents and the office.

``Application.outcome`` holds the allocation core's explanation entries for the child
(``kita-allocation`` explanations): one entry per wish ranked better than the place
the child got, each ``{facility, wish_rank, reason, cutoff_priority, cutoff_tiebreak,
own_priority}``. :func:`explain_outcome` turns them into sentences such as
"Kita Sonnenschein: alle Krippenplätze vergeben; das zuletzt aufgenommene Kind hatte
350 Punkte, Ihr Kind 100".
"""

from __future__ import annotations

import json
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from kita.extensions import db
from kita.models import AllocationRun, Application, CareType, Facility


def outcome_entries(application: Application) -> list[dict[str, Any]]:
    """The stored explanation entries (an empty list when there are none or they are broken)."""
    if not application.outcome:
        return []
    try:
        data = json.loads(application.outcome)
    except ValueError:
        return []
    if isinstance(data, dict):  # tolerate {"explanations": [...]}
        data = data.get("explanations", [])
    if not isinstance(data, list):
        return []
    entries = [e for e in data if isinstance(e, dict)]
    return sorted(entries, key=lambda e: e.get("wish_rank") or 99)


def is_published(application: Application) -> bool:
    """Parents see the explanation only once the office has published the round's offers."""
    return (
        db.session.scalar(
            select(AllocationRun.id)
            .where(
                AllocationRun.round_id == application.round_id,
                AllocationRun.published_at.is_not(None),
            )
            .limit(1)
        )
        is not None
    )


def _facility_name(key: Any, application: Application) -> str:
    """Entries name facilities by their problem id (the slug); fall back to the wish."""
    if key is None:
        return "?"
    fac = db.session.scalar(select(Facility).where(Facility.slug == str(key)))
    if fac is None and str(key).isdigit():
        fac = db.session.get(Facility, int(key))
    return fac.name if fac is not None else str(key)


def _points(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value) if value is not None else "?"


def _full(care_type: CareType, facility: str, cutoff: str, own: str) -> str:
    if care_type == CareType.KRIPPE:
        return _(
            "%(facility)s: all Krippe places are taken; the last child admitted had "
            "%(cutoff)s points, your child %(own)s",
            facility=facility,
            cutoff=cutoff,
            own=own,
        )
    if care_type == CareType.KINDERGARTEN:
        return _(
            "%(facility)s: all Kindergarten places are taken; the last child admitted had "
            "%(cutoff)s points, your child %(own)s",
            facility=facility,
            cutoff=cutoff,
            own=own,
        )
    return _(
        "%(facility)s: all Hort places are taken; the last child admitted had "
        "%(cutoff)s points, your child %(own)s",
        facility=facility,
        cutoff=cutoff,
        own=own,
    )


def _sentence(entry: dict[str, Any], application: Application) -> str:
    facility = _facility_name(entry.get("facility"), application)
    reason = entry.get("reason")
    cutoff = _points(entry.get("cutoff_priority"))
    own = _points(entry.get("own_priority"))
    if reason == "full":
        return _full(CareType(application.care_type), facility, cutoff, own)
    if reason == "lottery":
        return _(
            "%(facility)s: all places are taken; the last child admitted had the same "
            "points as your child (%(own)s) and was ahead in the lottery",
            facility=facility,
            own=own,
        )
    if reason == "no_capacity":
        return _("%(facility)s: no places of this care type in this round", facility=facility)
    if reason == "taken_by_locks_or_holds":
        return _(
            "%(facility)s: the places were already firmly assigned (for example to children "
            "who already hold a place there)",
            facility=facility,
        )
    if reason == "banned":
        return _(
            "%(facility)s: a place there was not possible (decision of the coordination office)",
            facility=facility,
        )
    if reason == "sibling_constraint":
        return _(
            "%(facility)s: your children are to be placed together, and there was no place "
            "there for all of them",
            facility=facility,
        )
    if reason == "mode_choice":
        return _(
            "%(facility)s: the place went to another child so that more children get a place "
            "overall",
            facility=facility,
        )
    return _("%(facility)s: no place for your child", facility=facility)


def explain_outcome(application: Application, locale: str = "de") -> list[str]:
    """One sentence per better-ranked wish that the child did not get, best wish first."""
    with force_locale(locale):
        return [_sentence(e, application) for e in outcome_entries(application)]
