"""Office pages for the master data: facilities, rules, rounds, import, paper entries,
letters, exports per facility and the audit log (routes on the office blueprint)."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from kita.errors import DomainError, ValidationFailed
from kita.forms import ConfirmForm, apply_errors
from kita.models import CareType
from kita.office.forms import (
    AuditFilterForm,
    CapacityForm,
    EntryForm,
    FacilityForm,
    ImportForm,
    InviteForm,
    RoundForm,
    RuleForm,
    TiebreakForm,
)
from kita.office.views import bp
from kita.services import (
    audit,
    audit_log,
    exports,
    facilities,
    imports,
    office_entry,
    rounds,
    rules,
)
from kita.services.stations import care_type_label
from kita.web import download

T = TypeVar("T")


def _found(obj: T | None) -> T:
    if obj is None:
        abort(404)
    return obj


# --- facilities ------------------------------------------------------------------------


@bp.route("/facilities")
def facility_list() -> Any:
    return render_template(
        "office/facilities.html", facilities=facilities.all_facilities(), form=ConfirmForm()
    )


def _facility_input(form: FacilityForm) -> facilities.FacilityInput:
    care: dict[CareType, tuple[int, int]] = {}
    for ct in CareType:
        if getattr(form, f"ct_{ct.value}").data:
            care[ct] = (
                getattr(form, f"min_{ct.value}").data or 0,
                getattr(form, f"max_{ct.value}").data or 0,
            )
    return facilities.FacilityInput(
        name=form.name.data or "",
        district=form.district.data or "",
        operator=form.operator.data or "",
        street=form.street.data or "",
        postal_code=form.postal_code.data or "",
        city=form.city.data or "",
        care_types=care,
    )


def _facility_errors(form: FacilityForm, exc: ValidationFailed) -> None:
    mapped = {}
    for key, messages in exc.errors.items():
        if key.startswith("hours_"):
            key = "min_" + key.removeprefix("hours_")
        elif key == "care_types":
            key = "ct_krippe"
        mapped[key] = messages
    apply_errors(form, ValidationFailed(mapped))


@bp.route("/facilities/new", methods=["GET", "POST"])
@bp.route("/facilities/<int:facility_id>/edit", methods=["GET", "POST"])
def facility_edit(facility_id: int | None = None) -> Any:
    facility = _found(facilities.get_facility(facility_id)) if facility_id else None
    form = FacilityForm(obj=facility)
    if request.method == "GET" and facility is not None:
        for ct in facility.care_types:
            getattr(form, f"ct_{ct.care_type.value}").data = True
            getattr(form, f"min_{ct.care_type.value}").data = ct.min_hours
            getattr(form, f"max_{ct.care_type.value}").data = ct.max_hours
    if form.validate_on_submit():
        try:
            saved = facilities.save_facility(current_user, _facility_input(form), facility)
        except ValidationFailed as exc:
            _facility_errors(form, exc)
        else:
            flash(_("The facility has been saved."), "success")
            return redirect(url_for("office.facility_detail", facility_id=saved.id))
    status = 422 if request.method == "POST" else 200
    return render_template("office/facility_form.html", form=form, facility=facility), status


@bp.route("/facilities/<int:facility_id>", methods=["GET", "POST"])
def facility_detail(facility_id: int) -> Any:
    facility = _found(facilities.get_facility(facility_id))
    all_rounds = rounds.all_rounds()
    rid = request.args.get("round", type=int)
    round_ = next((r for r in all_rounds if r.id == rid), None) or facilities.open_round()
    cap_form = CapacityForm(prefix="cap")
    invite_form = InviteForm(prefix="inv")
    status = 200
    if round_ is not None and request.method == "GET":
        current = facilities.capacities(facility, round_)
        for ct in CareType:
            row = current.get(ct)
            getattr(cap_form, f"places_{ct.value}").data = row.places if row else 0
    if request.method == "POST" and "cap-submit" in request.form and round_ is not None:
        if cap_form.validate_on_submit():
            places = {
                ct: getattr(cap_form, f"places_{ct.value}").data or 0
                for ct in CareType
                if facility.offers(ct) is not None or getattr(cap_form, f"places_{ct.value}").data
            }
            try:
                facilities.set_capacities(current_user, facility, round_, places)
            except ValidationFailed as exc:
                apply_errors(cap_form, exc)
                status = 422
            else:
                flash(_("The capacities have been saved."), "success")
                return redirect(
                    url_for("office.facility_detail", facility_id=facility.id, round=round_.id)
                )
        else:
            status = 422
    elif request.method == "POST" and "inv-submit" in request.form:
        if invite_form.validate_on_submit():
            try:
                facilities.invite_staff(current_user, facility, invite_form.email.data or "")
            except ValidationFailed as exc:
                apply_errors(invite_form, exc)
                status = 422
            else:
                flash(_("The invitation has been sent."), "success")
                return redirect(url_for("office.facility_detail", facility_id=facility.id))
        else:
            status = 422
    elif request.method == "POST":
        abort(400)
    return (
        render_template(
            "office/facility.html",
            facility=facility,
            round=round_,
            all_rounds=all_rounds,
            cap_form=cap_form,
            invite_form=invite_form,
            form=ConfirmForm(),
            care_types=list(CareType),
        ),
        status,
    )


@bp.route("/facilities/<int:facility_id>/active", methods=["POST"])
def facility_active(facility_id: int) -> Any:
    facility = _found(facilities.get_facility(facility_id))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    active = request.form.get("active") == "1"
    facilities.set_active(current_user, facility, active)
    flash(
        _("The facility is active again.") if active else _("The facility has been deactivated."),
        "success",
    )
    return redirect(url_for("office.facility_detail", facility_id=facility.id))


@bp.route("/facilities/<int:facility_id>/export.<fmt>")
def facility_export(facility_id: int, fmt: str) -> Any:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    facility = _found(facilities.get_facility(facility_id))
    content, mimetype, filename = exports.facility_export(facility, fmt)
    audit.record_now(current_user, "export.facility", facility, fmt=fmt)
    return download(content, mimetype, filename)


@bp.route("/exports")
def export_page() -> Any:
    return render_template(
        "office/exports.html",
        facilities=facilities.all_facilities(),
        round=facilities.open_round(),
    )


# --- rules -----------------------------------------------------------------------------


@bp.route("/rules")
def rule_list() -> Any:
    all_rounds = rounds.all_rounds()
    forms = {
        r.id: TiebreakForm(prefix=f"r{r.id}", tiebreak_method=r.tiebreak_method.value)
        for r in all_rounds
    }
    return render_template(
        "office/rules.html",
        rules=rules.all_rules(),
        rounds=all_rounds,
        tiebreak_forms=forms,
        form=ConfirmForm(),
    )


@bp.route("/rules/new", methods=["GET", "POST"])
@bp.route("/rules/<int:rule_id>/edit", methods=["GET", "POST"])
def rule_edit(rule_id: int | None = None) -> Any:
    rule = _found(rules.get_rule(rule_id)) if rule_id else None
    form = RuleForm(obj=rule)
    if form.validate_on_submit():
        data = rules.RuleInput(
            code=form.code.data or "",
            label_de=form.label_de.data or "",
            label_en=form.label_en.data or "",
            points=form.points.data if form.points.data is not None else -1,
            facility_specific=bool(form.facility_specific.data),
            proof_required=bool(form.proof_required.data),
            active=bool(form.active.data),
            sort_order=form.sort_order.data or 0,
        )
        try:
            rules.save_rule(current_user, data, rule)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(_("The rule has been saved."), "success")
            return redirect(url_for("office.rule_list"))
    status = 422 if request.method == "POST" else 200
    return render_template("office/rule_form.html", form=form, rule=rule), status


@bp.route("/rounds/<int:round_id>/tiebreak", methods=["POST"])
def round_tiebreak(round_id: int) -> Any:
    round_ = _found(rounds.get_round(round_id))
    form = TiebreakForm(prefix=f"r{round_.id}")
    if not form.validate_on_submit():
        abort(400)
    try:
        rules.set_tiebreak(current_user, round_, form.tiebreak_method.data)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("The tie-break has been saved."), "success")
    return redirect(url_for("office.rule_list"))


@bp.route("/rounds/<int:round_id>/lottery", methods=["POST"])
def round_lottery(round_id: int) -> Any:
    round_ = _found(rounds.get_round(round_id))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        drawn = rules.draw_lottery(round_, current_user)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(
            _("The lottery has been drawn.") if drawn else _("The lottery had been drawn already."),
            "success",
        )
    return redirect(url_for("office.rule_list"))


# --- rounds ----------------------------------------------------------------------------


@bp.route("/rounds")
def round_list() -> Any:
    return render_template(
        "office/rounds.html", rounds=rounds.all_rounds(), counts=rounds.application_counts()
    )


@bp.route("/rounds/new", methods=["GET", "POST"])
@bp.route("/rounds/<int:round_id>/edit", methods=["GET", "POST"])
def round_edit(round_id: int | None = None) -> Any:
    round_ = _found(rounds.get_round(round_id)) if round_id else None
    form = RoundForm(obj=round_)
    if request.method == "GET" and round_ is not None:
        form.tiebreak_method.data = round_.tiebreak_method.value
    if form.validate_on_submit():
        data = rounds.RoundInput(
            name=form.name.data or "",
            care_start_from=form.care_start_from.data,  # type: ignore[arg-type]
            care_start_to=form.care_start_to.data,  # type: ignore[arg-type]
            application_deadline=form.application_deadline.data,  # type: ignore[arg-type]
            offer_response_days=form.offer_response_days.data or 0,
            tiebreak_method=form.tiebreak_method.data or "lottery",
            reconfirmation_date=form.reconfirmation_date.data,
        )
        try:
            rounds.save_round(current_user, data, round_)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(_("The round has been saved."), "success")
            return redirect(url_for("office.round_list"))
    status = 422 if request.method == "POST" else 200
    return render_template("office/round_form.html", form=form, round=round_), status


# --- import ----------------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
def import_page() -> Any:
    form = ImportForm()
    all_rounds = rounds.all_rounds()
    form.round.choices = [(r.id, r.name) for r in all_rounds]
    preview = None
    content = ""
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            status = 422
        else:
            round_ = _found(rounds.get_round(form.round.data))
            upload = request.files.get("file")
            if upload is not None and upload.filename:
                raw = upload.read(10 * 1024 * 1024 + 1)
                if len(raw) > 10 * 1024 * 1024:
                    form.file.errors = [_("The file is too large (at most 10 MB).")]
                    return render_template("office/import.html", form=form), 422
                content = imports.decode(raw)
            else:
                content = form.content.data or ""
            if not content.strip():
                form.file.errors = [_("Please choose a CSV file.")]
                status = 422
            elif request.form.get("confirm") == "1":
                try:
                    result = imports.run(current_user, content, round_)
                except ValidationFailed:
                    preview = imports.preview(content, round_)
                    status = 422
                else:
                    flash(_("%(n)d applications imported.", n=len(result.rows)), "success")
                    return redirect(
                        url_for("office.applications", round=round_.id, sort="submitted")
                    )
            else:
                preview = imports.preview(content, round_)
                status = 200 if preview.ok else 422
    form.content.data = content
    return render_template("office/import.html", form=form, preview=preview), status


# --- entries on behalf of families without internet --------------------------------------


def _entry_choices(form: EntryForm) -> None:
    all_rounds = [r for r in rounds.all_rounds() if r.is_open]
    form.round_id.choices = [(r.id, r.name) for r in all_rounds]
    form.care_type.choices = [(c.value, care_type_label(c)) for c in CareType]
    form.district.choices = [("", "–")] + [(d, d) for d in facilities.districts()]
    options = [(0, "–")] + [
        (f.id, f"{f.name} ({f.district})") for f in facilities.active_facilities()
    ]
    for i in range(1, 6):
        getattr(form, f"wish_{i}").choices = options


@bp.route("/entries/new", methods=["GET", "POST"])
def entry_new() -> Any:
    form = EntryForm()
    _entry_choices(form)
    all_rules = rules.all_rules(active_only=True)
    selected: set[str] = set(request.form.getlist("criteria"))
    if request.method == "GET" and facilities.open_round() is not None:
        form.round_id.data = facilities.open_round().id  # type: ignore[union-attr]
    if form.validate_on_submit():
        wishes = [getattr(form, f"wish_{i}").data for i in range(1, 6)]
        criteria: list[tuple[int, int | None]] = []
        for value in selected:
            rid, _sep, fid = value.partition(":")
            if rid.isdigit():
                criteria.append((int(rid), int(fid) if fid.isdigit() else None))
        paper = office_entry.PaperForm(
            guardian_first_name=form.guardian_first_name.data or "",
            guardian_last_name=form.guardian_last_name.data or "",
            street=form.street.data or "",
            postal_code=form.postal_code.data or "",
            city=form.city.data or "",
            district=form.district.data or None,
            phone=form.phone.data or None,
            contact_email=form.contact_email.data or None,
            locale=form.locale.data or "de",
            child_first_name=form.child_first_name.data or "",
            child_last_name=form.child_last_name.data or "",
            birth_date=form.birth_date.data,  # type: ignore[arg-type]
            round_id=form.round_id.data,
            start_date=form.start_date.data,  # type: ignore[arg-type]
            care_type=form.care_type.data or "",
            weekly_hours=form.weekly_hours.data or 0,
            wishes=[w for w in wishes if w],
            criteria=criteria,
            remarks=form.remarks.data or "",
        )
        try:
            application, code = office_entry.enter(current_user, paper)
        except ValidationFailed as exc:
            mapped = {("wish_1" if k == "child_id" else k): v for k, v in exc.errors.items()}
            apply_errors(form, ValidationFailed(mapped))
        else:
            flash(
                _(
                    "Application %(ref)s entered. Access code for the family: %(code)s",
                    ref=application.reference,
                    code=code,
                ),
                "success",
            )
            return redirect(url_for("office.application", app_id=application.id))
    status = 422 if request.method == "POST" else 200
    return (
        render_template(
            "office/entry.html",
            form=form,
            rules=all_rules,
            selected=selected,
            facilities=facilities.active_facilities(),
        ),
        status,
    )


@bp.route("/letters")
def letters() -> Any:
    printed = request.args.get("printed") == "1"
    return render_template(
        "office/letters.html",
        letters=office_entry.letters(printed=printed),
        printed=printed,
        form=ConfirmForm(),
    )


@bp.route("/letters/<int:letter_id>.pdf")
def letter_pdf(letter_id: int) -> Any:
    from kita.services import letters as letter_service

    mail = office_entry.get_letter(letter_id)
    pdf = letter_service.mail_letter_pdf(mail)
    audit.record_now(current_user, "letter.view", mail)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{letter_service.mail_letter_filename(mail)}"'
        },
    )


@bp.route("/letters/<int:letter_id>/printed", methods=["POST"])
def letter_printed(letter_id: int) -> Any:
    mail = office_entry.get_letter(letter_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    office_entry.mark_printed(current_user, mail)
    flash(_("Marked as printed."), "success")
    return redirect(url_for("office.letters"))


# --- audit log -------------------------------------------------------------------------


@bp.route("/audit")
def audit_page() -> Any:
    form = AuditFilterForm(request.args)
    form.validate()
    page = audit_log.search(
        action=form.action.data or None,
        object_type=form.object_type.data or None,
        object_id=form.object_id.data or None,
        actor_email=form.actor.data or None,
        date_from=form.date_from.data if not form.date_from.errors else None,
        date_to=form.date_to.data if not form.date_to.errors else None,
        page=request.args.get("page", 1, type=int),
    )
    args = {k: v for k, v in request.args.items() if v and k != "page"}
    return render_template("office/audit.html", form=form, page=page, args=args)
