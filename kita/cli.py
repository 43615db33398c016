"""``flask --app kita …`` commands: thin wrappers over services."""

from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from kita.errors import ValidationFailed
from kita.extensions import db
from kita.models import Facility, OutboxMail, Role


def register_cli(app: Flask) -> None:
    from kita.jobs import scheduler_command

    app.cli.add_command(scheduler_command)

    @app.cli.command("demo")
    @click.option(
        "--password",
        default="kitaplatz-demo",
        show_default=True,
        help="Password of every demo account.",
    )
    @click.option("--families", default=300, show_default=True, type=int)
    def demo(password: str, families: int) -> None:
        """Create a complete demo municipality in an empty database."""
        from kita.services.demo import create_demo

        try:
            logins = create_demo(password=password, families=families)
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo("Demo municipality created. Logins (password for all: %s):" % logins.password)
        click.echo(f"  Koordinierungsstelle: {logins.office}")
        click.echo(f"  Administration:       {logins.admin}")
        for name, email in logins.staff[:3]:
            click.echo(f"  Einrichtung {name}: {email}")
        click.echo(f"  … and {len(logins.staff) - 3} more facility accounts (leitung.<facility>@…)")
        for email in logins.parents[:3]:
            click.echo(f"  Eltern: {email}")
        click.echo(
            "  … and more parents: eltern001@kita.example to eltern%03d@kita.example" % families
        )

    @app.cli.command("create-user")
    @click.option("--email", required=True)
    @click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
    @click.option("--facility", "facility_slug", help="Facility id (slug) for facility staff.")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option("--name", "display_name", default=None)
    def create_user(
        email: str, role: str, facility_slug: str | None, password: str, display_name: str | None
    ) -> None:
        """Create an office, facility, admin or parent account."""
        from kita.services import accounts

        facility = None
        if facility_slug:
            facility = db.session.scalar(select(Facility).where(Facility.slug == facility_slug))
            if facility is None:
                raise click.ClickException(f"no facility {facility_slug!r}")
        try:
            user = accounts.create_user(
                email, password, Role(role), facility=facility, display_name=display_name
            )
        except ValidationFailed as exc:
            msgs = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
            raise click.ClickException(msgs) from exc
        click.echo(f"created {user.role} account {user.email}")

    @app.cli.command("allocate")
    @click.argument("round_id", type=int)
    @click.option(
        "--mode",
        type=click.Choice(["stable", "fair-max", "max-placement"]),
        default="stable",
        show_default=True,
    )
    @click.option("--siblings", type=click.Choice(["together", "ignore"]), default="together")
    @click.option("--publish", is_flag=True, help="Send the offers of this run at once.")
    def allocate(round_id: int, mode: str, siblings: str, publish: bool) -> None:
        """Run the allocation of a round (and optionally publish its offers)."""
        from kita.errors import DomainError
        from kita.models import Round
        from kita.services import allocation_runs

        round_ = db.session.get(Round, round_id)
        if round_ is None:
            raise click.ClickException(f"no round {round_id}")
        try:
            run = allocation_runs.start_run(
                None, round_, mode=mode, siblings=siblings, background=False
            )
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
        if str(run.status) != "succeeded":
            raise click.ClickException(f"run {run.id} failed: {run.error}")
        stats = allocation_runs.result_of(run).get("stats", {})
        click.echo(
            f"run {run.id}: placed {stats.get('placed')}/{stats.get('children')}, "
            f"first wish {stats.get('first_choice')}, blocking pairs "
            f"{stats.get('blocking_pairs')}, {stats.get('status')}"
        )
        if publish:
            try:
                report = allocation_runs.publish(None, run)
            except DomainError as exc:
                raise click.ClickException(exc.message) from exc
            click.echo(f"published: {report.offers} offers, {report.waitlisted} waiting list")

    @app.cli.command("mails")
    @click.option("--to", "to_address", default=None, help="Only mails to this address.")
    @click.option("--last", default=10, show_default=True, type=int)
    def mails(to_address: str | None, last: int) -> None:
        """Print recent outbox mails with their links (support and development)."""
        q = select(OutboxMail).order_by(OutboxMail.id.desc()).limit(last)
        if to_address:
            q = q.where(OutboxMail.to_address == to_address.strip().lower())
        for mail in reversed(db.session.scalars(q).all()):
            click.echo(
                f"=== #{mail.id} {mail.created_at:%Y-%m-%d %H:%M} [{mail.status}] "
                f"to {mail.to_address or '(letter)'}"
            )
            click.echo(f"Subject: {mail.subject}")
            click.echo(mail.body)
