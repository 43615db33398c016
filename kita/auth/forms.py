from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from kita.services.accounts import MAX_PASSWORD

EMAIL_VALIDATORS = [
    DataRequired(message=_l("Please enter your e-mail address.")),
    Length(max=254),
    Email(message=_l("Please enter a valid e-mail address."), check_deliverability=False),
]


def new_password_field(label: str = _l("Password")) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(message=_l("Please enter a password.")), Length(max=MAX_PASSWORD)],
        description=_l("At least 10 characters. Spaces and umlauts are allowed."),
    )


def repeat_password_field(other: str) -> PasswordField:
    return PasswordField(
        _l("Repeat password"),
        validators=[
            DataRequired(message=_l("Please repeat the password.")),
            EqualTo(other, message=_l("The passwords do not match.")),
        ],
    )


class RegisterForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=EMAIL_VALIDATORS)
    password = new_password_field()
    password2 = repeat_password_field("password")
    consent = BooleanField(
        _l("I have read the privacy notice"),
        validators=[
            DataRequired(message=_l("Please confirm that you have read the privacy notice."))
        ],
    )


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=EMAIL_VALIDATORS)
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=_l("Please enter your password.")), Length(max=1024)],
    )


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=EMAIL_VALIDATORS)


class ResetForm(FlaskForm):
    password = new_password_field(_l("New password"))
    password2 = repeat_password_field("password")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=1024)]
    )
    new_password = new_password_field(_l("New password"))
    new_password2 = repeat_password_field("new_password")


class TotpForm(FlaskForm):
    code = StringField(
        _l("Six-digit code"),
        validators=[DataRequired(message=_l("Please enter the code.")), Length(max=20)],
        description=_l("The code your authenticator app shows for Kitaplatz."),
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class TotpPolicyForm(FlaskForm):
    required = BooleanField(_l("Second factor mandatory for all staff accounts"))
