"""Domain errors raised by services and turned into messages or HTTP answers by views."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the request; ``field`` names the form field when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(DomainError):
    """The actor may not do this (the view answers 403 or 404)."""


class NotFound(DomainError):
    """The record does not exist or is not visible to the actor (404)."""


class InvalidTransition(DomainError):
    """The application is not at a station from which this step is allowed."""


class Conflict(DomainError):
    """Somebody else changed the record first (two clicks at once)."""


class CapacityExceeded(DomainError):
    """A facility has no free place of this care type."""


class ValidationFailed(DomainError):
    """Input failed a business rule; ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, list[str]] | str) -> None:
        if isinstance(errors, str):
            errors = {"": [errors]}
        first = next(iter(errors.values()))[0] if errors else ""
        super().__init__(first)
        self.errors = errors
