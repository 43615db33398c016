"""Forms of the parents' portal: input shape only; the services check the business rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from kita.models.base import MAX_ID
from kita.services.applications import MAX_REMARKS

REQUIRED = _l("Please fill in this field.")


class HouseholdForm(FlaskForm):
    first_name = StringField(_l("First name"), validators=[DataRequired(REQUIRED), Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(REQUIRED), Length(max=100)])
    street = StringField(
        _l("Street and house number"), validators=[DataRequired(REQUIRED), Length(max=200)]
    )
    postal_code = StringField(_l("Postcode"), validators=[DataRequired(REQUIRED), Length(max=10)])
    city = StringField(_l("Town"), validators=[DataRequired(REQUIRED), Length(max=100)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])


class ChildForm(FlaskForm):
    first_name = StringField(
        _l("Child's first name"), validators=[DataRequired(REQUIRED), Length(max=100)]
    )
    last_name = StringField(
        _l("Child's last name"), validators=[DataRequired(REQUIRED), Length(max=100)]
    )
    birth_date = DateField(
        _l("Date of birth"),
        validators=[InputRequired(_l("Please enter a date."))],
        format="%Y-%m-%d",
    )


CARE_TYPE_CHOICES = [
    ("", _l("Please choose")),
    ("krippe", _l("Krippe")),
    ("kindergarten", _l("Kindergarten")),
    ("hort", _l("Hort")),
]


def _int_or_none(value: object) -> int | None:
    """A posted record id, or None (also for a number no database id can have)."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


class ApplicationForm(FlaskForm):
    child_id = SelectField(
        _l("Child"), coerce=_int_or_none, validators=[InputRequired(_l("Please choose a child."))]
    )
    siblings = SelectMultipleField(
        _l("File the same application for these siblings too"), coerce=int, validate_choice=False
    )
    place_together = BooleanField(_l("Please place the siblings together"))
    start_date = DateField(
        _l("Desired start of care"),
        validators=[InputRequired(_l("Please enter a date."))],
        format="%Y-%m-%d",
    )
    care_type = SelectField(_l("Care type"), choices=CARE_TYPE_CHOICES, validate_choice=False)
    weekly_hours = IntegerField(
        _l("Weekly care time (hours)"),
        validators=[
            InputRequired(_l("Please enter the hours.")),
            NumberRange(min=1, max=60, message=_l("Please enter between 1 and 60 hours.")),
        ],
    )
    wish_1 = SelectField(_l("1st wish"), coerce=_int_or_none, validate_choice=False)
    wish_2 = SelectField(_l("2nd wish"), coerce=_int_or_none, validate_choice=False)
    wish_3 = SelectField(_l("3rd wish"), coerce=_int_or_none, validate_choice=False)
    wish_4 = SelectField(_l("4th wish"), coerce=_int_or_none, validate_choice=False)
    wish_5 = SelectField(_l("5th wish"), coerce=_int_or_none, validate_choice=False)
    remarks = TextAreaField(
        _l("Remarks"),
        validators=[
            Optional(),
            Length(max=MAX_REMARKS, message=_l("At most %(max)d characters, please.")),
        ],
    )
    save_draft = SubmitField(_l("Save draft"))
    submit_application = SubmitField(_l("Submit application"))

    WISH_FIELDS = ("wish_1", "wish_2", "wish_3", "wish_4", "wish_5")


class AnswerForm(FlaskForm):
    message = TextAreaField(
        _l("Your answer"),
        validators=[
            DataRequired(_l("Please enter a message.")),
            Length(max=MAX_REMARKS, message=_l("At most %(max)d characters, please.")),
        ],
    )


class WithdrawForm(FlaskForm):
    message = TextAreaField(
        _l("Reason (optional)"),
        validators=[
            Optional(),
            Length(max=MAX_REMARKS, message=_l("At most %(max)d characters, please.")),
        ],
    )


class AcceptForm(FlaskForm):
    keep_waiting = BooleanField(_l("Accept and wait for a preferred place"))


class DeleteAccountForm(FlaskForm):
    confirm = BooleanField(
        _l("Yes, delete my account and all data of my family"),
        validators=[DataRequired(_l("Please confirm the deletion."))],
    )
