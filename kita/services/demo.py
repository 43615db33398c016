"""A complete demo municipality, created through the same services users trigger."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select, update

from kita.extensions import db
from kita.models import (
    Application,
    Capacity,
    CareType,
    Child,
    Facility,
    FacilityCareType,
    Household,
    MailStatus,
    OutboxMail,
    PriorityRule,
    Role,
    Round,
    User,
    utcnow,
)
from kita.services import accounts, applications, households
from kita.services.applications import ApplicationInput

DISTRICTS = ("Altstadt", "Nordstadt", "Südstadt", "Weststadt")

FACILITIES = [
    # name, operator, district, street, care types
    ("Kita Sonnenschein", "Stadt Musterstadt", "Altstadt", "Marktstraße 3", "KG"),
    ("Kita Regenbogen", "Ev. Kirchengemeinde", "Altstadt", "Kirchgasse 7", "K"),
    ("Kinderhaus Löwenzahn", "AWO Ortsverein", "Altstadt", "Mühlweg 12", "KGH"),
    ("Kita Pusteblume", "Stadt Musterstadt", "Nordstadt", "Birkenallee 21", "KG"),
    ("Kita Sternschnuppe", "Caritasverband", "Nordstadt", "Sternstraße 2", "G"),
    ("Hort am Schlosspark", "Stadt Musterstadt", "Nordstadt", "Schlossallee 5", "H"),
    ("Kita Spatzennest", "Elterninitiative Spatzennest e. V.", "Südstadt", "Lindenweg 4", "K"),
    ("Kita Wirbelwind", "DRK Kreisverband", "Südstadt", "Am Bahnhof 9", "KG"),
    ("Kita Zwergenland", "Stadt Musterstadt", "Südstadt", "Gartenstraße 30", "GH"),
    ("Kita Kunterbunt", "Ev. Kirchengemeinde", "Weststadt", "Ulmenring 14", "KG"),
    ("Kita Am Mühlbach", "AWO Ortsverein", "Weststadt", "Mühlbachstraße 1", "G"),
    ("Kinderhaus Arche Noah", "Caritasverband", "Weststadt", "Rosenstraße 8", "KGH"),
]
CODES = {"K": CareType.KRIPPE, "G": CareType.KINDERGARTEN, "H": CareType.HORT}
HOURS = {CareType.KRIPPE: (20, 45), CareType.KINDERGARTEN: (25, 45), CareType.HORT: (10, 25)}

RULES = [
    # code, de, en, points, facility-specific, proof
    (
        "sibling",
        "Geschwisterkind besucht die Einrichtung",
        "A sibling attends the facility",
        300,
        True,
        False,
    ),
    (
        "single_parent_working",
        "Alleinerziehend und berufstätig",
        "Single parent in work",
        250,
        False,
        True,
    ),
    (
        "both_working",
        "Beide Eltern berufstätig oder in Ausbildung",
        "Both parents in work or training",
        200,
        False,
        True,
    ),
    (
        "hardship",
        "Soziale Härte, vom Jugendamt bestätigt",
        "Social hardship confirmed by the youth office",
        400,
        False,
        True,
    ),
    ("resident", "Wohnsitz in der Gemeinde", "Residence in the municipality", 100, False, True),
]
RULE_HELP = {
    "sibling": (
        "Ein Geschwisterkind wird in dieser Einrichtung betreut (gilt nur für diese Einrichtung).",
        "A brother or sister is cared for at this facility (counts only there).",
    ),
    "single_parent_working": (
        "Sie erziehen allein und arbeiten (Nachweis des Arbeitgebers).",
        "You raise your child alone and work (employer's certificate).",
    ),
    "both_working": (
        "Beide Eltern arbeiten oder sind in Ausbildung (Nachweise).",
        "Both parents work or are in training (certificates).",
    ),
    "hardship": (
        "Das Jugendamt hat eine besondere soziale Lage bestätigt.",
        "The youth office confirmed a special social situation.",
    ),
    "resident": (
        "Ihr Hauptwohnsitz ist in der Gemeinde (Meldebescheinigung).",
        "Your main residence is in the municipality (registration certificate).",
    ),
}

FIRST_NAMES = (
    "Mia Emma Sophia Hannah Emilia Lina Marie Lea Ella Clara Leni Mila Ida Frieda Lotta Zoé "
    "Noah Ben Paul Leon Finn Elias Felix Jonas Luis Henry Emil Anton Theo Matteo Jakob Ömer "
    "Aylin Elif Yusuf Mohammed Amelie Johanna Maja Nele Luca Milan Levi Oskar Karl Mats"
).split()
LAST_NAMES = (
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Richter "
    "Klein Wolf Schröder Neumann Schwarz Braun Zimmermann Krüger Hartmann Lange Werner Krause "
    "Lehmann Köhler Yılmaz Kaya Nowak Kowalski Popescu Rossi Meier-Lüdenscheid Groß Weiß"
).split()
STREETS = ("Hauptstraße", "Schulstraße", "Gartenweg", "Bergstraße", "Am Anger", "Feldweg")


@dataclass
class DemoLogins:
    password: str
    office: str = "office@kita.example"
    admin: str = "admin@kita.example"
    staff: list[tuple[str, str]] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)


def create_demo(
    password: str = "kitaplatz-demo",
    families: int = 300,
    seed: int = 2027,
    allocate: bool = True,
) -> DemoLogins:
    """Create the demo municipality in an empty database.

    With ``allocate`` the round is also allocated and published, and the families
    answer, so that applications stand at every station.
    """
    if db.session.scalar(select(func.count(User.id))):
        raise RuntimeError("the database is not empty; the demo needs an empty database")
    rng = random.Random(seed)
    logins = DemoLogins(password=password)
    office = accounts.create_user(
        logins.office,
        password,
        Role.OFFICE,
        display_name="Koordinierungsstelle",
        check_password=False,
    )
    accounts.create_user(
        logins.admin, password, Role.ADMIN, display_name="Administration", check_password=False
    )

    today = date.today()
    year = today.year + 1 if today.month >= 3 else today.year
    round_ = Round(
        name=f"Kita-Jahr {year}/{str(year + 1)[-2:]}",
        care_start_from=date(year, 8, 1),
        care_start_to=date(year + 1, 7, 31),
        application_deadline=max(date(year, 1, 31), today + timedelta(days=30)),
        offer_response_days=14,
    )
    db.session.add(round_)

    for i, (code, de, en, points, specific, proof) in enumerate(RULES):
        db.session.add(
            PriorityRule(
                code=code,
                label_de=de,
                label_en=en,
                description_de=RULE_HELP[code][0],
                description_en=RULE_HELP[code][1],
                points=points,
                facility_specific=specific,
                proof_required=proof,
                sort_order=i,
            )
        )

    facilities: list[Facility] = []
    for name, operator, district, street, codes in FACILITIES:
        slug = (
            name.lower()
            .replace("kita ", "")
            .replace("kinderhaus ", "")
            .replace("ö", "oe")
            .replace("ü", "ue")
            .replace("ä", "ae")
            .replace(" ", "-")
        )
        fac = Facility(
            slug=slug,
            name=name,
            operator=operator,
            street=street,
            postal_code="12345",
            city="Musterstadt",
            district=district,
        )
        for c in codes:
            lo, hi = HOURS[CODES[c]]
            fac.care_types.append(FacilityCareType(care_type=CODES[c], min_hours=lo, max_hours=hi))
        db.session.add(fac)
        facilities.append(fac)
    db.session.flush()
    for fac in facilities:
        for ct in fac.care_types:
            places = {CareType.KRIPPE: 10, CareType.KINDERGARTEN: 22, CareType.HORT: 15}
            db.session.add(
                Capacity(
                    round=round_,
                    facility_id=fac.id,
                    care_type=ct.care_type,
                    places=places[ct.care_type] + rng.randint(-3, 4),
                )
            )
    db.session.commit()
    for fac in facilities:
        email = f"leitung.{fac.slug}@kita.example"
        accounts.create_user(
            email,
            password,
            Role.FACILITY,
            facility=fac,
            display_name=f"Leitung {fac.name}",
            check_password=False,
        )
        logins.staff.append((fac.name, email))

    rules = {r.code: r for r in db.session.scalars(select(PriorityRule)).all()}
    parent_hash = accounts.hash_password(password)
    start = round_.care_start_from
    # 300 families, 30 of them with two children (twins or siblings): 330 children
    plan = ["released"] * 40 + ["submitted"] * 20 + ["in_review"] * 15 + ["query"] * 5
    plan += ["draft"] * 5 + ["rejected"] * 5 + ["withdrawn"] * 5 + ["released_unverified"] * 5
    for n in range(families):
        email = f"eltern{n + 1:03d}@kita.example"
        user = User(
            email=email,
            password_hash=parent_hash,
            role=Role.PARENT,
            confirmed_at=utcnow(),
            locale="en" if n % 15 == 7 else "de",
        )
        db.session.add(user)
        db.session.flush()
        household = Household(user_id=user.id, locale=user.locale)
        db.session.add(household)
        district = rng.choice(DISTRICTS)
        last = rng.choice(LAST_NAMES)
        households.update_household(
            user,
            household,
            first_name=rng.choice(FIRST_NAMES),
            last_name=last,
            street=f"{rng.choice(STREETS)} {rng.randint(1, 80)}",
            postal_code="12345",
            city="Musterstadt",
            phone=f"0621 {rng.randint(100000, 999999)}",
            district=district,
            commit=False,
        )
        n_children = 2 if n % 10 == 0 else 1
        twins = n_children == 2 and n % 20 == 0
        kids: list[Child] = []
        for k in range(n_children):
            if twins and k == 1:
                birth = kids[0].birth_date
            else:
                age_years = rng.choice([1, 1, 1, 2, 2, 3, 3, 4, 5, 6, 7])
                birth = start - timedelta(days=365 * age_years + rng.randint(15, 340))
            kids.append(
                households.add_child(
                    user,
                    household,
                    first_name=rng.choice(FIRST_NAMES),
                    last_name=last,
                    birth_date=birth,
                    commit=False,
                )
            )
        if n < 10:
            logins.parents.append(email)
        station = plan[n % len(plan)]
        group = f"family-{household.id}" if n_children == 2 else None
        for kid in kids:
            _demo_application(
                user, office, kid, round_, facilities, rules, district, station, group, rng
            )
        db.session.commit()
    if allocate:
        _demo_allocation(office, round_)
    # demo families have no real mailboxes: their mails count as delivered
    db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.status == MailStatus.PENDING)
        .values(status=MailStatus.SENT, sent_at=utcnow())
    )
    db.session.commit()
    return logins


def _demo_application(
    user: User,
    office: User,
    kid: Child,
    round_: Round,
    facilities: list[Facility],
    rules: dict[str, PriorityRule],
    district: str,
    station: str,
    group: str | None,
    rng: random.Random,
) -> Application:
    start = round_.care_start_from + timedelta(days=rng.choice([0, 0, 0, 31, 62, 92]))
    care_type = applications.suggested_care_type(kid.birth_date, start) or CareType.KINDERGARTEN
    offering = [f for f in facilities if f.offers(care_type)]
    near = [f for f in offering if f.district == district]
    far = [f for f in offering if f.district != district]
    rng.shuffle(near)
    rng.shuffle(far)
    wishes = (near + far)[: rng.randint(1, min(5, len(offering)))]
    lo = max(f.offers(care_type).min_hours for f in wishes)  # type: ignore[union-attr]
    hi = min(f.offers(care_type).max_hours for f in wishes)  # type: ignore[union-attr]
    hours = rng.randint(lo, hi) if lo <= hi else lo
    if lo > hi:
        wishes = wishes[:1]
        hours = wishes[0].offers(care_type).min_hours  # type: ignore[union-attr]
    criteria: list[tuple[int, int | None]] = [(rules["resident"].id, None)]
    roll = rng.random()
    if roll < 0.15:
        criteria.append((rules["single_parent_working"].id, None))
    elif roll < 0.6:
        criteria.append((rules["both_working"].id, None))
    if rng.random() < 0.05:
        criteria.append((rules["hardship"].id, None))
    if rng.random() < 0.15:
        criteria.append((rules["sibling"].id, wishes[0].id))
    data = ApplicationInput(
        child_id=kid.id,
        round_id=round_.id,
        start_date=start,
        care_type=care_type,
        weekly_hours=hours,
        wishes=[f.id for f in wishes],
        criteria=criteria,
        remarks="",
    )
    app = applications.create(
        user, kid, round_, data, submit=station != "draft", sibling_group=group, commit=False
    )
    if station in ("draft", "submitted"):
        return app
    if station == "withdrawn":
        applications.transition(app, "withdraw", user, commit=False)
        return app
    applications.transition(app, "start_review", office, commit=False)
    if station == "in_review":
        return app
    if station == "query":
        applications.transition(
            app,
            "ask_back",
            office,
            message="Bitte reichen Sie die Arbeitgeberbescheinigung nach.",
            commit=False,
        )
        return app
    if station == "rejected":
        applications.transition(
            app,
            "reject",
            office,
            message="Der Hauptwohnsitz liegt nicht in der Gemeinde.",
            commit=False,
        )
        return app
    if station == "released":
        for c in app.criteria:
            c.verified = True
            c.verified_by_id = office.id
            c.verified_at = utcnow()
    applications.transition(app, "release", office, commit=False)
    return app


def _demo_allocation(office: User, round_: Round) -> None:
    """Run stable, publish, and let the families and facilities answer (all via services)."""
    from kita.models import Offer, OfferStatus, Status
    from kita.services import allocation_runs, enrollments, offers

    # a few applications are released only after the allocation: they stay "Freigegeben"
    later = db.session.scalars(
        select(Application)
        .where(Application.round_id == round_.id, Application.status == Status.IN_REVIEW)
        .order_by(Application.id)
        .limit(3)
    ).all()
    run = allocation_runs.start_run(office, round_, background=False)
    if run.status != "succeeded":
        return
    allocation_runs.publish(office, run)
    open_offers = db.session.scalars(
        select(Offer).where(Offer.status == OfferStatus.OPEN).order_by(Offer.id)
    ).all()
    staff = {
        u.facility_id: u
        for u in db.session.scalars(select(User).where(User.role == Role.FACILITY)).all()
    }
    expiring: list[Offer] = []
    for i, offer in enumerate(open_offers):
        parent = offer.application.child.household.user
        step = i % 8
        if step in (0, 1, 2, 3):
            # below the first wish most families keep waiting for a better one
            keep = step != 0 and (offer.wish_rank or 0) > 1
            offers.accept(parent, offer, keep_waiting=keep)
            if step == 0 and offer.facility_id in staff:
                enrollments.confirm(staff[offer.facility_id], offer)
        elif step == 4:
            offers.decline(parent, offer)
        elif step == 5 and len(expiring) < 3:
            expiring.append(offer)
    # offers made earlier whose deadline has passed: the scheduler's job expires them
    for offer in expiring:
        offer.deadline = utcnow() - timedelta(minutes=1)
    db.session.commit()
    offers.expire_due()
    for app in later:
        for c in app.criteria:
            c.verified = True
        applications.transition(app, "release", office, commit=False)
    db.session.commit()
