"""Parents download the PDF letter of their own offers (/parent/offers/<id>/letter.pdf)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_login import current_user

from kita.parents.views import bp
from kita.services import letters


@bp.route("/offers/<int:offer_id>/letter.pdf")
def offer_letter(offer_id: int) -> Any:
    offer = letters.get_offer_or_404(offer_id, current_user._get_current_object())
    return pdf_response(letters.offer_letter_pdf(offer), letters.offer_letter_filename(offer))


def pdf_response(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
