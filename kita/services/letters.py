"""PDF letters: the offer letter, and printed letters for families without e-mail.

The offer letter carries the municipality's header, the family's postal address, the
reference number, the facility, the care type and start, and the answer deadline. It is
rendered from ``templates/letters/*.html`` with WeasyPrint (Pango; DejaVu fonts, so
umlauts and ß are embedded) as a tagged PDF/UA document. Mails queued for a household
without an address are ``OutboxMail`` rows with status ``LETTER``; ``mail_letter_pdf``
renders one for the office to print, an offer mail as the same offer letter.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import abort, current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from kita.extensions import db
from kita.models import (
    Application,
    Household,
    Offer,
    OutboxMail,
    Role,
    User,
)
from kita.services import permissions, settings
from kita.services.notifications import external_url


def _recipient(household: Household) -> list[str]:
    """The postal address block: up to two guardians, street, postal code and town."""
    lines = [f"{g.first_name} {g.last_name}".strip() for g in household.guardians[:2]]
    if not any(lines) and household.children:
        lines = [str(_("Family %(name)s", name=household.children[0].last_name))]
    if household.street:
        lines.append(household.street)
    place = f"{household.postal_code} {household.city}".strip()
    if place:
        lines.append(place)
    return [line for line in lines if line]


def _locale(household: Household) -> str:
    locale = household.locale
    if household.user is not None and household.user.locale:
        locale = household.user.locale
    return locale if locale in current_app.config["LANGUAGES"] else "de"


def _sender() -> dict[str, str]:
    info = settings.municipality()  # the office may change these in the administration
    return {
        "municipality": info.name,
        "office": info.office,
        "address": info.address,
        "email": info.contact_email,
    }


def _today() -> date:
    """Today in the municipality's time zone (the letter's date line)."""
    return datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def render_pdf(html: str) -> bytes:
    """HTML to PDF with WeasyPrint (imported lazily: it loads Pango on first use)."""
    from weasyprint import HTML

    # PDF/UA: a tagged PDF with language and structure, readable by screen readers
    return bytes(
        HTML(string=html, base_url=current_app.root_path).write_pdf(pdf_variant="pdf/ua-1")
    )


def offer_letter_html(offer: Offer, locale: str | None = None) -> str:
    application: Application = offer.application
    household = application.child.household
    locale = locale or _locale(household)
    with force_locale(locale):
        return render_template(
            "letters/offer.html",
            offer=offer,
            application=application,
            child=application.child,
            facility=offer.facility,
            recipient=_recipient(household),
            sender=_sender(),
            today=_today(),
            url=external_url("parents.index"),
            lang=locale,
        )


def offer_letter_pdf(offer: Offer, locale: str | None = None) -> bytes:
    return render_pdf(offer_letter_html(offer, locale))


def offer_letter_filename(offer: Offer) -> str:
    return f"Platzangebot-{offer.application.reference}-{offer.id}.pdf"


def _letter_offer(mail: OutboxMail) -> Offer | None:
    """The offer an offer mail speaks of (its application's latest offer)."""
    if mail.kind != "offer_made" or mail.application_id is None:
        return None
    return db.session.scalar(
        select(Offer)
        .where(Offer.application_id == mail.application_id, Offer.created_at <= mail.created_at)
        .order_by(Offer.id.desc())
    ) or db.session.scalar(
        select(Offer).where(Offer.application_id == mail.application_id).order_by(Offer.id.desc())
    )


def mail_letter_pdf(mail: OutboxMail) -> bytes:
    """The printable letter for an outbox row (an offer mail becomes the offer letter)."""
    offer = _letter_offer(mail)
    if offer is not None:
        return offer_letter_pdf(offer, locale=mail.locale)
    household = db.session.get(Household, mail.household_id) if mail.household_id else None
    if household is None and mail.application_id is not None:
        application = db.session.get(Application, mail.application_id)
        household = application.child.household if application is not None else None
    with force_locale(mail.locale or "de"):
        html = render_template(
            "letters/mail.html",
            mail=mail,
            recipient=_recipient(household) if household is not None else [],
            sender=_sender(),
            today=_today(),
            lang=mail.locale or "de",
        )
    return render_pdf(html)


def mail_letter_filename(mail: OutboxMail) -> str:
    return f"Brief-{mail.id}.pdf"


# --- who may download an offer letter ----------------------------------------------


def get_offer_or_404(offer_id: int, user: User) -> Offer:
    """Parents their own offers; the office every offer; others nothing (404, audited)."""
    offer = db.session.get(Offer, offer_id)
    allowed = offer is not None and (
        user.role == Role.OFFICE
        or (user.role == Role.PARENT and offer.application.child.household.user_id == user.id)
    )
    if not allowed:
        permissions.deny(user, "offer", offer_id)
        abort(404)  # pragma: no cover - deny aborts
    assert offer is not None
    return offer
