"""Registration, confirmation, login, logout and password reset."""

from __future__ import annotations

import time
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from kita.auth.forms import (
    ChangePasswordForm,
    LoginForm,
    RegisterForm,
    ResetForm,
    ResetRequestForm,
    TotpForm,
    TotpPolicyForm,
)
from kita.errors import DomainError, ValidationFailed
from kita.extensions import limiter
from kita.forms import ConfirmForm, apply_errors, safe_next
from kita.i18n import current_locale
from kita.models import Role, User
from kita.services import accounts
from kita.services import security as security_service
from kita.services.permissions import deny

bp = Blueprint("auth", __name__)

HOME = {
    Role.PARENT: "parents.index",
    Role.OFFICE: "office.index",
    Role.FACILITY: "facility.index",
    Role.ADMIN: "admin.index",
}


def home_url(user: User) -> str:
    return url_for(HOME[user.role])


def _login_rate_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def register() -> Any:
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            accounts.register(form.email.data, form.password.data, locale=current_locale())
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            return render_template("auth/check_email.html", email=form.email.data)
    return render_template("auth/register.html", form=form), 200 if not form.errors else 422


@bp.route("/confirm/<token>")
def confirm(token: str) -> Any:
    user = accounts.confirm(token)
    if user is None:
        return render_template("auth/link_invalid.html"), 400
    flash(_("Your e-mail address is confirmed. You can log in now."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    _login_rate_limit,
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,
)
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data)
        except accounts.LoginThrottled as exc:
            form.form_errors.append(exc.message)
            return render_template("auth/login.html", form=form), 429
        if user is not None:
            target = safe_next(request.args.get("next"))
            if user.totp_enabled and security_service.can_use_totp(user):
                _fresh_session()
                session[PENDING] = {
                    "uid": user.id,
                    "ver": user.session_version,
                    "at": time.time(),
                    "next": target,
                }
                return redirect(url_for("auth.login_code"))
            _complete_login(user)
            return redirect(target or home_url(user))
        form.form_errors.append(
            _("E-mail or password is wrong, or the address is not confirmed yet.")
        )
        status = 401
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


PENDING = "pending_2fa"
PENDING_SECONDS = 300


def _fresh_session() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _complete_login(user: User) -> None:
    _fresh_session()
    login_user(user)
    session["seen"] = time.time()


def _pending_user() -> User | None:
    """The staff member who passed the password step in this session, for 5 minutes."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    if time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        session.pop(PENDING, None)
        return None
    user = accounts.get_user(pending.get("uid"))
    if user is None or user.session_version != pending.get("ver") or not user.is_active:
        return None
    return user


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(
    _login_rate_limit,
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,
)
def login_code() -> Any:
    """Second step for staff with a second factor: the code from the authenticator app."""
    user = _pending_user()
    if user is None:
        return redirect(url_for("auth.login"))
    form = TotpForm()
    status = 200
    if form.validate_on_submit():
        try:
            security_service.verify(user, form.code.data)
        except security_service.TotpThrottled as exc:
            apply_errors(form, exc)
            return render_template("auth/login_code.html", form=form), 429
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 401
        else:
            target = session.get(PENDING, {}).get("next")
            _complete_login(user)
            return redirect(safe_next(target) or home_url(user))
    elif request.method == "POST":
        status = 422
    return render_template("auth/login_code.html", form=form), status


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def two_factor() -> Any:
    """Set up (or switch off) the second factor; office and admin also set the policy."""
    user = current_user._get_current_object()
    if not security_service.can_use_totp(user):
        deny(user, "two_factor", user.id)
    form = TotpForm()
    status = 200
    if form.validate_on_submit():
        try:
            if user.totp_enabled:
                security_service.disable(user, form.code.data)
                message = _("The second factor is switched off.")
            else:
                security_service.enable(user, form.code.data)
                message = _("The second factor is active. You will be asked for a code at login.")
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            login_user(user)  # this session continues with the new session version
            session["seen"] = time.time()
            flash(message, "success")
            return redirect(url_for("auth.two_factor"))
    elif request.method == "POST":
        status = 422
    secret = None if user.totp_enabled else security_service.start_enrolment(user)
    policy_form = None
    if user.role in security_service.POLICY_ROLES:
        policy_form = TotpPolicyForm(
            formdata=None, data={"required": security_service.staff_totp_required()}
        )
    return render_template(
        "auth/two_factor.html",
        form=form,
        policy_form=policy_form,
        secret=secret,
        secret_grouped=security_service.grouped(secret) if secret else None,
        uri=security_service.provisioning_uri(user) if secret else None,
        required=security_service.must_enrol(user),
        mandatory=security_service.staff_totp_required(),
    ), status


@bp.route("/account/two-factor/policy", methods=["POST"])
@login_required
def two_factor_policy() -> Any:
    user = current_user._get_current_object()
    if user.role not in security_service.POLICY_ROLES:
        deny(user, "setting", security_service.STAFF_TOTP_REQUIRED)
    form = TotpPolicyForm()
    if form.validate_on_submit():
        security_service.set_staff_totp_required(user, bool(form.required.data))
        flash(_("Settings saved."), "success")
    return redirect(url_for("auth.two_factor"))


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("public.index"))
    accounts.logout(current_user._get_current_object())
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You are logged out."), "success")
    return redirect(url_for("public.index"))


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def reset_request() -> Any:
    form = ResetRequestForm()
    if form.validate_on_submit():
        accounts.request_reset(form.email.data)
        return render_template("auth/check_email.html", email=form.email.data, reset=True)
    return render_template("auth/reset_request.html", form=form), 200 if not form.errors else 422


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    if accounts.user_for_reset(token) is None:
        return render_template("auth/link_invalid.html"), 400
    form = ResetForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        except DomainError:
            return render_template("auth/link_invalid.html"), 400
        else:
            logout_user()
            flash(_("Your password has been changed. Please log in."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form), 200 if not form.errors else 422


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            accounts.change_password(user, form.current_password.data, form.new_password.data)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            login_user(user)  # this session continues with the new session version
            flash(_("Your password has been changed."), "success")
            return redirect(home_url(user))
    return render_template("auth/change_password.html", form=form), 200 if not form.errors else 422
