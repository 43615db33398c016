from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from kita.models import Role

ROLE_CHOICES = [
    (Role.OFFICE.value, _l("Coordination office")),
    (Role.FACILITY.value, _l("Facility staff")),
    (Role.ADMIN.value, _l("Administration")),
]


class StaffForm(FlaskForm):
    email = EmailField(
        _l("E-mail"),
        validators=[
            DataRequired(message=_l("Please enter an e-mail address.")),
            Length(max=254),
            Email(message=_l("Please enter a valid e-mail address."), check_deliverability=False),
        ],
    )
    display_name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[DataRequired()])
    facility = SelectField(
        _l("Facility"),
        coerce=int,
        validators=[Optional()],
        description=_l("Only for facility staff."),
    )


class SettingsForm(FlaskForm):
    municipality_name = StringField(
        _l("Name of the municipality"), validators=[DataRequired(), Length(max=120)]
    )
    municipality_office = StringField(
        _l("Name of the office"), validators=[DataRequired(), Length(max=200)]
    )
    municipality_address = StringField(
        _l("Postal address"), validators=[DataRequired(), Length(max=300)]
    )
    municipality_contact_email = EmailField(
        _l("Contact e-mail"),
        validators=[
            DataRequired(),
            Length(max=254),
            Email(message=_l("Please enter a valid e-mail address."), check_deliverability=False),
        ],
    )
