"""Requirement 1: brute force is slowed down per account (database) and per address
(Flask-Limiter, shared through Redis across worker processes); successful logins and
normal browsing are not limited that tightly."""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from kita.extensions import db
from kita.models import AuditEvent, FailedLogin, Role, utcnow
from tests.conftest import PASSWORD, Auth, make_user

ROOT = Path(__file__).resolve().parents[2]


def random_address() -> str:
    """A client address of this test alone (tests share one Redis server)."""
    return "10.{}.{}.{}".format(*(random.randint(1, 254) for _ in range(3)))


def post_login(client: FlaskClient, email: str, password: str, address: str) -> int:
    response = client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )
    return response.status_code


def test_req01_account_slowed_down_after_ten_failures(client: FlaskClient) -> None:
    victim = make_user(Role.PARENT, email="victim@example.org")
    bystander = make_user(Role.PARENT, email="bystander@example.org")
    for i in range(10):
        # every attempt from another address: the per-account counter is what stops it
        assert post_login(client, victim.email, f"guess number {i}", random_address()) == 401
    failures = db.session.scalar(
        select(func.count(FailedLogin.id)).where(FailedLogin.email == victim.email)
    )
    assert failures == 10  # counted in the database, shared by every worker

    # the 11th attempt is refused even with the right password
    response = client.post("/login", data={"email": victim.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Zu viele Versuche" in response.get_data(as_text=True)
    assert client.get("/parent/").status_code == 302  # not logged in
    # other accounts are unaffected
    assert Auth(client).login(bystander).status_code == 302
    # failed attempts on an existing account are in the audit log
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "account.login_failed",
                AuditEvent.object_id == str(victim.id),
            )
        )
        == 10
    )


def test_req01_no_permanent_lockout(app: Flask) -> None:
    victim = make_user(Role.PARENT, email="victim@example.org")
    client = app.test_client()
    for i in range(12):
        post_login(client, victim.email, f"guess number {i}", "10.1.1.1")
    assert post_login(client, victim.email, PASSWORD, "10.1.1.1") == 429
    # after the window the owner gets in again: a slow-down, not a lock-out
    with time_machine.travel(utcnow() + timedelta(minutes=11), tick=False):
        assert post_login(client, victim.email, PASSWORD, "10.1.1.2") == 302


def test_req01_twenty_failed_logins_per_minute_per_address(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    user = make_user(Role.PARENT, email="owner@example.org")
    client = app.test_client()
    attacker = random_address()
    # different accounts each time: only the per-address limit can stop this
    for i in range(20):
        assert post_login(client, f"guess{i}@example.org", "wrong password!", attacker) == 401
    assert post_login(client, "guess21@example.org", "wrong password!", attacker) == 429
    # while limited, even a correct password from that address waits
    assert post_login(client, user.email, PASSWORD, attacker) == 429
    # another address is not affected
    assert post_login(app.test_client(), user.email, PASSWORD, random_address()) == 302
    # the limit is per minute
    with time_machine.travel(time.time() + 61, tick=False):
        assert post_login(app.test_client(), user.email, PASSWORD, attacker) == 302


def test_req01_successful_logins_and_browsing_not_limited(
    make_app: Callable[..., Flask],
) -> None:
    """A town hall behind one address, or a load test, is not locked out."""
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    user = make_user(Role.PARENT, email="townhall@example.org")
    office = random_address()
    client = app.test_client()
    for _ in range(60):
        assert post_login(client, user.email, PASSWORD, office) == 302
        assert client.get("/parent/", environ_base={"REMOTE_ADDR": office}).status_code == 200
        assert client.post("/logout", environ_base={"REMOTE_ADDR": office}).status_code == 302
    for _ in range(100):
        assert client.get("/", environ_base={"REMOTE_ADDR": office}).status_code == 200
        assert client.get("/login", environ_base={"REMOTE_ADDR": office}).status_code == 200


# --- the limit holds across worker processes when the counters live in Redis ---------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``KITA_TEST_REDIS_URL`` (set by .ci/with-services), else a Redis server of our own."""
    url = os.environ.get("KITA_TEST_REDIS_URL")
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs Redis (KITA_TEST_REDIS_URL or redis-server)")
        pytest.skip("no Redis server available (CI always has one)")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


WORKER = """
import json, sys
from kita import create_app
database_url, redis_url, address, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                  "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": redis_url})
client = app.test_client()
codes = []
for i in range(count):
    r = client.post("/login", data={"email": f"worker{i}@example.org", "password": "wrong!!!!!!"},
                    environ_base={"REMOTE_ADDR": address})
    codes.append(r.status_code)
print(json.dumps(codes))
"""


def test_req01_address_limit_shared_by_workers_through_redis(
    make_app: Callable[..., Flask], redis_url: str, database_url: str
) -> None:
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=redis_url)
    attacker = random_address()
    client = app.test_client()
    # worker 1 (this process) sees 12 failed attempts
    for i in range(12):
        assert post_login(client, f"main{i}@example.org", "wrong password!", attacker) == 401
    db.session.commit()
    # worker 2 (another process) sees 9 more: the 21st of the minute is refused there
    result = subprocess.run(
        [sys.executable, "-c", WORKER, database_url, redis_url, attacker, "9"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KITA_ENV": "testing"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    codes = json.loads(result.stdout.strip().splitlines()[-1])
    assert codes == [401] * 8 + [429]
    # and worker 1 refuses as well
    assert post_login(client, "main-last@example.org", "wrong password!", attacker) == 429
    # in-memory counters would have let worker 2 try 20 times: prove the counter is Redis
    import redis

    keys = redis.Redis.from_url(redis_url).keys("*")
    assert any(b"auth.login" in k or b"login" in k for k in keys), keys
