"""Forms of the coordination office."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from kita.services.rules import MAX_SORT_ORDER


class FilterForm(FlaskForm):
    """The application list's filters (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Name or reference number"), validators=[Optional(), Length(max=100)])
    round = SelectField(_l("Round"), coerce=str, validators=[Optional()])
    status = SelectField(_l("Station"), coerce=str, validators=[Optional()])
    care_type = SelectField(_l("Care type"), coerce=str, validators=[Optional()])
    facility = SelectField(_l("Facility wished"), coerce=str, validators=[Optional()])
    district = SelectField(_l("District"), coerce=str, validators=[Optional()])
    rule = SelectField(_l("Criterion"), coerce=str, validators=[Optional()])
    submitted_from = DateField(_l("Submitted from"), validators=[Optional()])
    submitted_to = DateField(_l("Submitted until"), validators=[Optional()])
    sort = SelectField(_l("Sort by"), coerce=str, validators=[Optional()])
    order = SelectField(_l("Order"), coerce=str, validators=[Optional()])


class ActionForm(FlaskForm):
    action = HiddenField()
    message = TextAreaField(_l("Message to the parents"), validators=[Length(max=4000)])


class NoteForm(FlaskForm):
    text = TextAreaField(_l("Internal note"), validators=[DataRequired(), Length(max=4000)])


class MergeForm(FlaskForm):
    target = SelectField(_l("Keep application"), coerce=int)
    message = TextAreaField(_l("Message to the parents"), validators=[Length(max=4000)])


class BulkReleaseForm(FlaskForm):
    message = TextAreaField(_l("Message to the parents"), validators=[Length(max=4000)])


class FacilityForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    operator = StringField(_l("Operator"), validators=[Length(max=200)])
    street = StringField(_l("Street and house number"), validators=[Length(max=200)])
    postal_code = StringField(_l("Postcode"), validators=[Length(max=10)])
    city = StringField(_l("Town"), validators=[Length(max=100)])
    district = StringField(_l("District"), validators=[DataRequired(), Length(max=100)])
    ct_krippe = BooleanField(_l("Krippe"))
    min_krippe = IntegerField(
        _l("Krippe: hours per week from"), default=20, validators=[Optional()]
    )
    max_krippe = IntegerField(_l("Krippe: hours per week to"), default=45, validators=[Optional()])
    ct_kindergarten = BooleanField(_l("Kindergarten"))
    min_kindergarten = IntegerField(
        _l("Kindergarten: hours per week from"), default=20, validators=[Optional()]
    )
    max_kindergarten = IntegerField(
        _l("Kindergarten: hours per week to"), default=45, validators=[Optional()]
    )
    ct_hort = BooleanField(_l("Hort"))
    min_hort = IntegerField(_l("Hort: hours per week from"), default=10, validators=[Optional()])
    max_hort = IntegerField(_l("Hort: hours per week to"), default=25, validators=[Optional()])
    submit = SubmitField(_l("Save"))


class CapacityForm(FlaskForm):
    places_krippe = IntegerField(
        _l("Places Krippe"), validators=[Optional(), NumberRange(0, 10000)]
    )
    places_kindergarten = IntegerField(
        _l("Places Kindergarten"), validators=[Optional(), NumberRange(0, 10000)]
    )
    places_hort = IntegerField(_l("Places Hort"), validators=[Optional(), NumberRange(0, 10000)])
    submit = SubmitField(_l("Save capacities"))


class InviteForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    submit = SubmitField(_l("Invite"))


class RuleForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    label_de = StringField(_l("Label (German)"), validators=[DataRequired(), Length(max=200)])
    label_en = StringField(_l("Label (English)"), validators=[DataRequired(), Length(max=200)])
    points = IntegerField(_l("Points"), validators=[InputRequired(), NumberRange(0, 100000)])
    facility_specific = BooleanField(_l("Facility-specific"))
    proof_required = BooleanField(_l("Proof required"))
    active = BooleanField(_l("Active"), default=True)
    sort_order = IntegerField(
        _l("Order"),
        default=0,
        validators=[
            Optional(),
            NumberRange(0, MAX_SORT_ORDER, message=_l("Between 0 and 10000, please.")),
        ],
    )
    submit = SubmitField(_l("Save"))


class RoundForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    care_start_from = DateField(_l("Care start from"), validators=[DataRequired()])
    care_start_to = DateField(_l("Care start until"), validators=[DataRequired()])
    application_deadline = DateField(_l("Application deadline"), validators=[DataRequired()])
    offer_response_days = IntegerField(
        _l("Days to answer an offer"), default=14, validators=[InputRequired()]
    )
    tiebreak_method = SelectField(
        _l("Tie-break"),
        choices=[
            ("lottery", _l("Lottery (drawn at the deadline)")),
            ("submission", _l("Order of submission")),
        ],
    )
    reconfirmation_date = DateField(
        _l("Re-confirmation of the waiting list"),
        validators=[Optional()],
        description=_l(
            "On this day every family on the waiting list is asked to confirm that it still "
            "needs a place; entries without an answer are withdrawn after a notice."
        ),
    )
    submit = SubmitField(_l("Save"))


class TiebreakForm(FlaskForm):
    tiebreak_method = SelectField(
        _l("Tie-break"),
        choices=[
            ("lottery", _l("Lottery (drawn at the deadline)")),
            ("submission", _l("Order of submission")),
        ],
    )


class ImportForm(FlaskForm):
    round = SelectField(_l("Round"), coerce=int)
    file = FileField(_l("CSV file"))
    content = HiddenField()


class EntryForm(FlaskForm):
    guardian_first_name = StringField(_l("First name"), validators=[DataRequired()])
    guardian_last_name = StringField(_l("Last name"), validators=[DataRequired()])
    street = StringField(_l("Street and house number"), validators=[DataRequired()])
    postal_code = StringField(_l("Postcode"), validators=[DataRequired()])
    city = StringField(_l("Town"), validators=[DataRequired()])
    district = SelectField(_l("District"), coerce=str, validators=[Optional()])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    contact_email = EmailField(_l("E-mail (if any)"), validators=[Optional(), Length(max=254)])
    locale = SelectField(_l("Language"), choices=[("de", "Deutsch"), ("en", "English")])
    child_first_name = StringField(_l("Child's first name"), validators=[DataRequired()])
    child_last_name = StringField(_l("Child's last name"), validators=[DataRequired()])
    birth_date = DateField(_l("Date of birth"), validators=[DataRequired()])
    round_id = SelectField(_l("Round"), coerce=int)
    start_date = DateField(_l("Desired start of care"), validators=[DataRequired()])
    care_type = SelectField(_l("Care type"), coerce=str)
    weekly_hours = IntegerField(_l("Weekly care time (hours)"), validators=[InputRequired()])
    wish_1 = SelectField(_l("1st wish"), coerce=int)
    wish_2 = SelectField(_l("2nd wish"), coerce=int)
    wish_3 = SelectField(_l("3rd wish"), coerce=int)
    wish_4 = SelectField(_l("4th wish"), coerce=int)
    wish_5 = SelectField(_l("5th wish"), coerce=int)
    remarks = TextAreaField(_l("Remarks"), validators=[Length(max=2000)])
    submit = SubmitField(_l("Enter application"))


class ClaimForm(FlaskForm):
    code = StringField(_l("Access code"), validators=[DataRequired(), Length(max=20)])
    submit = SubmitField(_l("Take over the record"))


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    action = StringField(_l("Action"), validators=[Optional(), Length(max=60)])
    object_type = StringField(_l("Record type"), validators=[Optional(), Length(max=40)])
    object_id = StringField(_l("Record id"), validators=[Optional(), Length(max=60)])
    actor = StringField(_l("User (e-mail)"), validators=[Optional(), Length(max=254)])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("Until"), validators=[Optional()])
