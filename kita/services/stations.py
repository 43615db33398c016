"""Labels and parent-facing explanations of the stations (translated)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from kita.models import CareType, Status

STATION_LABELS = {
    Status.DRAFT: _l("Draft"),
    Status.SUBMITTED: _l("Submitted"),
    Status.IN_REVIEW: _l("In review"),
    Status.QUERY: _l("Query"),
    Status.RELEASED: _l("Released"),
    Status.OFFERED: _l("Place offered"),
    Status.ACCEPTED: _l("Accepted"),
    Status.ACCEPTED_WAITING: _l("Accepted – waiting for a preferred place"),
    Status.ENROLLED: _l("Place taken"),
    Status.WAITLIST: _l("Waiting list"),
    Status.REJECTED: _l("Rejected"),
    Status.WITHDRAWN: _l("Withdrawn"),
    Status.DECLINED: _l("Declined"),
    Status.EXPIRED: _l("Expired"),
}

#: what happens next, shown under the current station
NEXT_STEPS = {
    Status.DRAFT: _l("Complete the application and submit it."),
    Status.SUBMITTED: _l("The coordination office will review your application."),
    Status.IN_REVIEW: _l("The coordination office is reviewing your application."),
    Status.QUERY: _l("Please answer the coordination office's question."),
    Status.RELEASED: _l(
        "Your application has been released to your preferred facilities. "
        "Places are allocated after the application deadline."
    ),
    Status.OFFERED: _l("Please accept or decline the offered place before the deadline."),
    Status.ACCEPTED: _l("The facility will contact you about the care contract."),
    Status.ACCEPTED_WAITING: _l(
        "You keep the accepted place. If a preferred place becomes free, you get a new offer."
    ),
    Status.ENROLLED: _l("The facility has confirmed the enrollment."),
    Status.WAITLIST: _l(
        "There is no place for your child yet. You are included in every follow-up allocation."
    ),
    Status.REJECTED: _l("The application was rejected. See the reason above."),
    Status.WITHDRAWN: _l("The application was withdrawn."),
    Status.DECLINED: _l("You declined the offered place."),
    Status.EXPIRED: _l("The offer expired without an answer."),
}

CARE_TYPE_LABELS = {
    CareType.KRIPPE: _l("Krippe"),
    CareType.KINDERGARTEN: _l("Kindergarten"),
    CareType.HORT: _l("Hort"),
}


def station_label(status: Status | str) -> str:
    return str(STATION_LABELS[Status(status)])


def care_type_label(care_type: CareType | str) -> str:
    return str(CARE_TYPE_LABELS[CareType(care_type)])
