"""A staff invitation stores the account and its invitation mail together: when the mail
cannot be queued, no account without an invitation is left behind."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from kita.extensions import db
from kita.models import AuditEvent, OutboxMail, Role, User
from kita.services import accounts, notifications


def test_failed_invitation_leaves_no_account(app: Flask, monkeypatch: Any) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("mail template broken")

    monkeypatch.setattr(notifications, "queue", broken)
    with pytest.raises(RuntimeError):
        accounts.invite_staff(None, "amt@example.org", Role.OFFICE)
    assert accounts.get_by_email("amt@example.org") is None
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 0


def test_invitation_stores_account_audit_and_mail(app: Flask) -> None:
    user = accounts.invite_staff(None, "Amt@Example.org", Role.OFFICE)
    db.session.expire_all()
    stored = db.session.get(User, user.id)
    assert stored is not None and stored.email == "amt@example.org"
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "staff_invite"))
    assert mail is not None and mail.to_address == "amt@example.org"
    assert (
        db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.create"))
        is not None
    )


def test_facility_invitation_writes_its_audit_row_in_the_same_transaction(
    app: Flask, municipality: Any, monkeypatch: Any
) -> None:
    from kita.services import audit, facilities

    office = accounts.create_user("amt@example.org", "a-long-passphrase-1234", Role.OFFICE)
    facility = municipality["facilities"]["regenbogen"]
    real = audit.record

    def failing(actor: Any, action: str, *args: Any, **kwargs: Any) -> Any:
        if action == "facility.staff_invited":
            raise RuntimeError("audit store unavailable")
        return real(actor, action, *args, **kwargs)

    monkeypatch.setattr(audit, "record", failing)
    with pytest.raises(RuntimeError):
        facilities.invite_staff(office, facility, "kita@example.org")
    assert accounts.get_by_email("kita@example.org") is None
    assert db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "staff_invite")) is None
    monkeypatch.setattr(audit, "record", real)
    user = facilities.invite_staff(office, facility, "kita@example.org")
    db.session.expire_all()
    row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "facility.staff_invited"))
    assert row is not None and db.session.get(User, user.id) is not None
