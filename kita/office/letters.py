"""Office: the PDF offer letter of any offer (/office/offers/<id>/letter.pdf).

The letters to print for families without e-mail are listed by ``office.letters``
(kita/office/manage.py); ``kita.services.letters.mail_letter_pdf`` renders each of them,
an offer mail as this same offer letter.
"""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from kita.office.views import bp
from kita.parents.letters import pdf_response
from kita.services import letters


@bp.route("/offers/<int:offer_id>/letter.pdf")
def offer_letter(offer_id: int) -> Any:
    offer = letters.get_offer_or_404(offer_id, current_user._get_current_object())
    return pdf_response(letters.offer_letter_pdf(offer), letters.offer_letter_filename(offer))
