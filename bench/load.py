"""Deadline-day load test: gunicorn + PostgreSQL on this machine, driven by locust.

    .venv/bin/python bench/load.py [--users 50] [--minutes 2] [--workers 4]
                                   [--database-url postgresql://...] [--probe-seconds 20]

1. Starts a throwaway PostgreSQL cluster (as .ci/with-services does; or uses
   ``--database-url``), migrates it and loads the demo municipality (300 families,
   12 facilities, applications at every station; logins eltern001@kita.example ...).
2. Starts gunicorn (production settings, rate limits off because every simulated user
   comes from 127.0.0.1) and waits for ``/healthz``.
3. Deadline day: ``--users`` simulated people for ``--minutes``, 1-3 s think time
   between a person's requests. Parents (9 of 10) log in, look at their overview and
   application pages, read the start and help pages, add a child and submit an
   application, accept an open offer; office staff (1 of 10) log in and open the
   dashboard, the application list, application pages and the figures. ``/ping`` (a bare
   endpoint of the same app returning a fixed string) is requested by the same people
   now and then, so its latency is measured under the same load.
4. Throughput probe, same run: closed loop (no think time) with ``--probe-users``
   logged-in parents on the parent status page, then on ``/ping``, ``--probe-seconds``
   each; the ratio of the two is the figure of merit.

Prints one table per phase: requests, requests per second, p50/p95/p99 (ms), errors;
and checks the bar of issue 9 (exit status 1 when missed).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import gevent
from locust import FastHttpUser, between, constant, task
from locust.env import Environment

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DEMO_PASSWORD = "kitaplatz-demo"  # noqa: S105 - the demo's published password
OFFICE_LOGIN = "office@kita.example"
FAMILIES = 300

PARENT_PAGES = {"GET /parent/ (status)", "GET /parent/applications/<id>", "GET /", "GET /help"}
LOGIN_SUBMIT = {"POST /login", "POST /parent/applications/new (submit)", "POST accept offer"}
STATUS_PAGE = "GET /parent/ (status)"
PING = "GET /ping (bare)"

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1) or match.group(2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- services -----------------------------------------------------------------------


@contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on loopback (fsync off: a benchmark, not a bank)."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
    if not bins:
        raise SystemExit("PostgreSQL binaries not found (apt-get install postgresql)")
    pgbin = bins[-1]
    work = Path(tempfile.mkdtemp(prefix="kita-bench-"))
    work.chmod(0o755)
    port = free_port()
    as_root = os.geteuid() == 0

    def run(cmd: str) -> None:
        if as_root:
            subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", cmd], check=True)
        else:
            subprocess.run(["sh", "-c", cmd], check=True)

    if as_root:
        shutil.chown(work, "postgres")
    run(f"{pgbin}/initdb -D {work}/pg -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null")
    options = (
        f"-p {port} -k {work} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    run(f"{pgbin}/pg_ctl -D {work}/pg -o '{options}' -l {work}/pg.log -w start >/dev/null")
    try:
        run(f"{pgbin}/createdb -h 127.0.0.1 -p {port} -U postgres kita_bench")
        yield f"postgresql://postgres@127.0.0.1:{port}/kita_bench"
    finally:
        run(f"{pgbin}/pg_ctl -D {work}/pg -m immediate stop >/dev/null 2>&1 || true")
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def given(database_url: str) -> Iterator[str]:
    yield database_url


def app_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "KITA_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            # plain http on loopback: the session cookie must travel without TLS
            "KITA_SESSION_COOKIE_SECURE": "false",
            "KITA_REMEMBER_COOKIE_SECURE": "false",
            "KITA_HSTS": "false",
            # every simulated person comes from 127.0.0.1
            "KITA_RATELIMIT_ENABLED": "false",
            "KITA_MAIL_BACKEND": "memory",
            "KITA_MAIL_SEND_IMMEDIATELY": "false",
            "FLASK_APP": "kita",
        }
    )
    return env


def prepare_database(env: dict[str, str]) -> None:
    flask = [str(VENV_BIN / "flask"), "--app", "kita"]
    t0 = time.monotonic()
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run(
        [*flask, "demo", "--password", DEMO_PASSWORD],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    print(f"database: migrated and demo loaded in {time.monotonic() - t0:.0f} s", flush=True)


def demo_facts(env: dict[str, str]) -> tuple[date, list[str]]:
    """The open round's first care start, and the parents holding an open offer."""
    code = (
        "from sqlalchemy import select\n"
        "from kita import create_app\n"
        "from kita.extensions import db\n"
        "from kita.models import Application, Child, Household, Offer, OfferStatus, User\n"
        "from kita.services import facilities\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    r = facilities.open_round()\n"
        "    print(r.care_start_from.isoformat())\n"
        "    q = (select(User.email).join(Household, Household.user_id == User.id)\n"
        "         .join(Child).join(Application).join(Offer)\n"
        "         .where(Offer.status == OfferStatus.OPEN).distinct())\n"
        "    print(' '.join(sorted(db.session.scalars(q))))\n"
    )
    lines = (
        subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()
    )
    return date.fromisoformat(lines[-2].strip()), lines[-1].split()


@contextmanager
def gunicorn(env: dict[str, str], workers: int, threads: int) -> Iterator[str]:
    port = free_port()
    cmd = [
        str(VENV_BIN / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--log-level",
        "warning",
        # longer than the think time, so an idle keep-alive connection is not closed
        # by the server just as the client reuses it
        "--keep-alive",
        "10",
        "kita:create_app()",
    ]
    log = Path(tempfile.gettempdir()) / "kita-bench-gunicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as r:  # noqa: S310
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not come up")
        print(f"gunicorn: {workers} workers x {threads} threads on {url}; log {log}", flush=True)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


# --- the simulated people --------------------------------------------------------------

_logins: list[str] = []
START: dict[str, date] = {}
READY = {"n": 0}  # simulated people that have finished logging in (on_start)


def prepare_logins(first: list[str]) -> None:
    numbers = list(range(1, FAMILIES + 1))
    random.Random(7).shuffle(numbers)
    rest = [f"eltern{n:03d}@kita.example" for n in numbers]
    order = [e for e in first if e in rest] + [e for e in rest if e not in first]
    _logins[:] = list(reversed(order))  # pop() takes from the end


def next_parent_login() -> str:
    if not _logins:
        prepare_logins([])
    return _logins.pop()


class Person(FastHttpUser):
    abstract = True
    wait_time = between(1, 3)

    def log_in(self, email: str) -> None:
        page = self.client.get("/login", name="GET /login")
        with self.client.post(
            "/login",
            data={"email": email, "password": DEMO_PASSWORD, "csrf_token": csrf_of(page.text)},
            name="POST /login",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login failed: {response.status_code}")

    @task(1)
    def ping(self) -> None:
        self.client.get("/ping", name=PING)


class Parent(Person):
    weight = 9

    def on_start(self) -> None:
        self.email = next_parent_login()
        self.log_in(self.email)
        self.application_ids: list[str] = []
        self.submitted = False
        self.status()
        READY["n"] += 1

    @task(1)
    def new_visit(self) -> None:
        """The session of an earlier visit has ended: log in again."""
        page = self.client.get("/parent/", name=STATUS_PAGE)
        self.client.post("/logout", data={"csrf_token": csrf_of(page.text)}, name="POST /logout")
        self.log_in(self.email)
        self.status()

    @task(6)
    def status(self) -> None:
        page = self.client.get("/parent/", name=STATUS_PAGE)
        self.application_ids = sorted(set(re.findall(r"/parent/applications/(\d+)\"", page.text)))

    @task(4)
    def application(self) -> None:
        if not self.application_ids:
            return self.status()
        app_id = random.choice(self.application_ids)
        page = self.client.get(
            f"/parent/applications/{app_id}", name="GET /parent/applications/<id>"
        )
        match = re.search(r'action="(/parent/applications/\d+/offers/\d+/accept)"', page.text)
        if match and random.random() < 0.3:  # an open offer: read, think, accept later
            self.client.post(
                match.group(1), data={"csrf_token": csrf_of(page.text)}, name="POST accept offer"
            )
        return None

    @task(2)
    def public_pages(self) -> None:
        self.client.get("/", name="GET /")
        self.client.get("/help", name="GET /help")

    @task(1)
    def submit(self) -> None:
        """A new child and its application: the deadline-day rush."""
        if self.submitted:
            return self.status()
        self.submitted = True
        start = START["round"] + timedelta(days=30)
        form = self.client.get("/parent/children/new", name="GET /parent/children/new")
        name = f"Lasttest{random.randint(1000, 9999)}"
        self.client.post(
            "/parent/children/new",
            data={
                "csrf_token": csrf_of(form.text),
                "first_name": name,
                "last_name": "Müller",
                "birth_date": (start - timedelta(days=400)).isoformat(),
            },
            name="POST /parent/children/new",
        )
        form = self.client.get("/parent/applications/new", name="GET /parent/applications/new")
        child = re.search(rf'<option[^>]*value="(\d+)"[^>]*>\s*{name}', form.text)
        wishes = re.findall(r'<select[^>]*name="wish_1".*?</select>', form.text, re.S)
        facility_ids = (
            re.findall(r'value="(\d+)" data-care-types="[^"]*krippe', wishes[0]) if wishes else []
        )
        if child is None or not facility_ids:
            self.client.get("/parent/", name=STATUS_PAGE)
            return None
        with self.client.post(
            "/parent/applications/new",
            data={
                "csrf_token": csrf_of(form.text),
                "child_id": child.group(1),
                "start_date": start.isoformat(),
                "care_type": "krippe",
                "weekly_hours": "35",
                "wish_1": random.choice(facility_ids),
                "wish_2": "",
                "wish_3": "",
                "wish_4": "",
                "wish_5": "",
                "remarks": "",
                "submit_application": "1",
            },
            name="POST /parent/applications/new (submit)",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"submit refused: {response.status_code}")
        return None


class Office(Person):
    weight = 1

    def on_start(self) -> None:
        self.log_in(OFFICE_LOGIN)
        self.application_ids: list[str] = []
        READY["n"] += 1

    @task(3)
    def dashboard(self) -> None:
        self.client.get("/office/", name="GET /office/")

    @task(3)
    def applications(self) -> None:
        page = self.client.get("/office/applications", name="GET /office/applications")
        self.application_ids = re.findall(r"/office/applications/(\d+)\"", page.text)[:50]

    @task(3)
    def application(self) -> None:
        if not self.application_ids:
            return self.applications()
        app_id = random.choice(self.application_ids)
        self.client.get(f"/office/applications/{app_id}", name="GET /office/applications/<id>")
        return None

    @task(1)
    def figures(self) -> None:
        self.client.get("/office/figures", name="GET /office/figures")


class ProbeParent(FastHttpUser):
    """Closed loop, no think time: how many status pages per second can the app serve?"""

    abstract = True
    wait_time = constant(0)
    target = ""

    def on_start(self) -> None:
        if self.target != "/ping":
            page = self.client.get("/login", name="probe login")
            self.client.post(
                "/login",
                data={
                    "email": next_parent_login(),
                    "password": DEMO_PASSWORD,
                    "csrf_token": csrf_of(page.text),
                },
                name="probe login",
            )
        READY["n"] += 1

    @task
    def hit(self) -> None:
        name = STATUS_PAGE if self.target != "/ping" else PING
        self.client.get(self.target, name=name)


class ProbeStatus(ProbeParent):
    abstract = False
    target = "/parent/"


class ProbePing(ProbeParent):
    abstract = False
    target = "/ping"


# --- running and reporting ---------------------------------------------------------------


def run_phase(
    url: str, user_classes: list[type[FastHttpUser]], users: int, seconds: float, spawn_rate: float
) -> tuple[Environment, float]:
    env = Environment(user_classes=user_classes, host=url)
    runner = env.create_local_runner()
    READY["n"] = 0
    runner.start(users, spawn_rate=spawn_rate)
    waited = 0.0
    while READY["n"] < users and waited < 300:  # everyone logged in: the steady state
        gevent.sleep(0.5)
        waited += 0.5
    env.stats.reset_all()  # measure the steady state only
    t0 = time.monotonic()
    gevent.sleep(seconds)
    elapsed = time.monotonic() - t0
    runner.quit()
    return env, elapsed


def table(env: Environment, elapsed: float, title: str) -> tuple[str, dict[str, dict[str, float]]]:
    rows: dict[str, dict[str, float]] = {}
    lines = [
        f"### {title}",
        "",
        "| request | n | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    entries = sorted(env.stats.entries.values(), key=lambda e: (-e.num_requests, e.name))
    for e in entries:
        if e.num_requests == 0 or "probe login" in e.name:
            continue
        row = {
            "n": e.num_requests,
            "rps": e.num_requests / elapsed,
            "p50": e.get_response_time_percentile(0.5) or 0,
            "p95": e.get_response_time_percentile(0.95) or 0,
            "p99": e.get_response_time_percentile(0.99) or 0,
            "errors": e.num_failures,
        }
        rows[e.name] = row
        lines.append(
            f"| {e.name} | {row['n']} | {row['rps']:.1f} | {row['p50']:.0f} | {row['p95']:.0f} "
            f"| {row['p99']:.0f} | {row['errors']} |"
        )
    total = env.stats.total
    lines.append(
        f"| **all** | {total.num_requests} | {total.num_requests / elapsed:.1f} "
        f"| {total.get_response_time_percentile(0.5) or 0:.0f} "
        f"| {total.get_response_time_percentile(0.95) or 0:.0f} "
        f"| {total.get_response_time_percentile(0.99) or 0:.0f} | {total.num_failures} |"
    )
    errors = [
        f"- {err.method} {err.name}: {err.error} ({err.occurrences}x)"
        for err in env.stats.errors.values()
    ]
    if errors:
        lines += ["", "Errors:", *errors]
    return "\n".join(lines), rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--probe-users", type=int, default=16)
    parser.add_argument("--probe-seconds", type=float, default=20.0)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--output", type=Path, help="also write the tables to this file")
    parser.add_argument(
        "--hash-parameters",
        help='argon2 parameters as JSON, e.g. \'{"time_cost": 2, "memory_cost": 19456, '
        "\"parallelism\": 1}' (default: the app's configuration)",
    )
    args = parser.parse_args()

    with given(args.database_url) if args.database_url else postgres() as database_url:
        env = app_env(database_url)
        if args.hash_parameters:
            env["KITA_PASSWORD_HASH_PARAMETERS"] = args.hash_parameters
        prepare_database(env)
        START["round"], with_offers = demo_facts(env)
        # a deadline day also has families answering offers: those log in first
        prepare_logins(with_offers)
        print(f"demo: {len(with_offers)} families hold an open offer", flush=True)
        with gunicorn(env, args.workers, args.threads) as url:
            print(
                f"deadline day: {args.users} users for {args.minutes:g} min, 1-3 s think time",
                flush=True,
            )
            day, day_s = run_phase(url, [Parent, Office], args.users, args.minutes * 60, 10)
            day_table, day_rows = table(
                day,
                day_s,
                f"Deadline day: {args.users} users, {args.minutes:g} min, 1-3 s think time",
            )
            print(day_table, flush=True)
            print(f"throughput probe: {args.probe_users} users without think time", flush=True)
            status, status_s = run_phase(
                url, [ProbeStatus], args.probe_users, args.probe_seconds, args.probe_users
            )
            ping, ping_s = run_phase(
                url, [ProbePing], args.probe_users, args.probe_seconds, args.probe_users
            )
            status_table, status_rows = table(status, status_s, "Probe: parent status page")
            ping_table, ping_rows = table(ping, ping_s, "Probe: bare endpoint /ping")
            print(status_table + "\n\n" + ping_table, flush=True)

    failures = []
    day_errors = sum(int(r["errors"]) for r in day_rows.values())
    if day_errors:
        failures.append(f"{day_errors} errors on deadline day")
    for name, row in day_rows.items():
        if name in PARENT_PAGES and row["p95"] >= 300:
            failures.append(f"{name}: p95 {row['p95']:.0f} ms >= 300 ms")
        if name in LOGIN_SUBMIT and row["p95"] >= 800:
            failures.append(f"{name}: p95 {row['p95']:.0f} ms >= 800 ms")
    ratio = status_rows[STATUS_PAGE]["rps"] / ping_rows[PING]["rps"]
    verdict = [
        "",
        f"Parent status page throughput: {status_rows[STATUS_PAGE]['rps']:.0f} req/s, "
        f"bare endpoint: {ping_rows[PING]['rps']:.0f} req/s, ratio {ratio:.0%} (bar: >= 25%)",
    ]
    if ratio < 0.25:
        failures.append(f"status page at {ratio:.0%} of the bare endpoint's throughput")
    verdict.append("Bar met." if not failures else "Bar missed: " + "; ".join(failures))
    print("\n".join(verdict), flush=True)
    if args.output:
        args.output.write_text(
            "\n\n".join([day_table, status_table, ping_table, "\n".join(verdict).strip()]) + "\n",
            encoding="utf-8",
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
