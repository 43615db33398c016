"""All models, imported here so that Alembic sees every table."""

from kita.models.accounts import STAFF_ROLES, FailedLogin, Role, User
from kita.models.applications import (
    CLOSED_STATUSES,
    Application,
    ApplicationCriterion,
    InternalNote,
    ReferenceCounter,
    Source,
    Status,
    StatusEvent,
    Wish,
)
from kita.models.audit import AuditEvent, AuditImmutable
from kita.models.base import Base, utcnow
from kita.models.facilities import (
    Capacity,
    CareType,
    Facility,
    FacilityCareType,
    Round,
    TiebreakMethod,
)
from kita.models.households import Child, Guardian, Household
from kita.models.offers import (
    AllocationOverride,
    AllocationRun,
    Enrollment,
    EnrollmentStatus,
    Offer,
    OfferStatus,
    OverrideKind,
    RunStatus,
)
from kita.models.outbox import MailStatus, OutboxMail
from kita.models.rules import PriorityRule
from kita.models.system import SchedulerLock, Setting

__all__ = [
    "CLOSED_STATUSES",
    "STAFF_ROLES",
    "AllocationOverride",
    "AllocationRun",
    "Application",
    "ApplicationCriterion",
    "AuditEvent",
    "AuditImmutable",
    "Base",
    "Capacity",
    "CareType",
    "Child",
    "Enrollment",
    "EnrollmentStatus",
    "Facility",
    "FacilityCareType",
    "FailedLogin",
    "Guardian",
    "Household",
    "InternalNote",
    "MailStatus",
    "Offer",
    "OfferStatus",
    "OutboxMail",
    "OverrideKind",
    "PriorityRule",
    "ReferenceCounter",
    "Role",
    "Round",
    "RunStatus",
    "SchedulerLock",
    "Setting",
    "Source",
    "Status",
    "StatusEvent",
    "TiebreakMethod",
    "User",
    "Wish",
    "utcnow",
]
