"""Settings: defaults here, then ``instance/kita.cfg``, then environment variables.

``DATABASE_URL`` and ``SECRET_KEY`` are read as they are; every other setting is
read from ``KITA_<NAME>`` (Flask's ``from_prefixed_env``), e.g. ``KITA_MAIL_BACKEND``.
"""

from __future__ import annotations

import os
from datetime import timedelta

DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused outside development


class Config:
    ENV_NAME = "development"
    SECRET_KEY = DEV_SECRET_KEY
    SQLALCHEMY_DATABASE_URI: str | None = None  # default: SQLite in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_RECORD_QUERIES = False

    MUNICIPALITY_NAME = "Musterstadt"
    MUNICIPALITY_OFFICE = "Koordinierungsstelle Kindertagesbetreuung"
    MUNICIPALITY_ADDRESS = "Rathausplatz 1, 12345 Musterstadt"
    MUNICIPALITY_CONTACT_EMAIL = "kita@musterstadt.example"
    BASE_URL = "http://127.0.0.1:5000"

    BABEL_DEFAULT_LOCALE = "de"
    BABEL_DEFAULT_TIMEZONE = "Europe/Berlin"
    LANGUAGES = ("de", "en")

    MAIL_BACKEND = "console"  # console | smtp | memory
    MAIL_SERVER = "localhost"
    MAIL_PORT = 587
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_STARTTLS = True
    MAIL_SENDER = "Kitaplatz <no-reply@kitaplatz.example>"
    MAIL_SEND_IMMEDIATELY = True  # development: deliver right after commit

    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = False
    LOGIN_RATE_LIMIT = "20 per minute"
    ACCOUNT_FAILED_LOGIN_LIMIT = 10
    ACCOUNT_FAILED_LOGIN_WINDOW = timedelta(minutes=10)

    CONFIRM_TOKEN_MAX_AGE = 3 * 24 * 3600
    RESET_TOKEN_MAX_AGE = 60 * 60
    STAFF_IDLE_TIMEOUT = timedelta(minutes=30)
    # rendered parents' overview pages kept per web process (kita.services.overview); 0: off
    OVERVIEW_CACHE_SIZE = 2000
    # number of trusted reverse proxies in front of the app (X-Forwarded-For/-Proto); 0: none
    PROXY_FIX_X_FOR = 0

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    WTF_CSRF_TIME_LIMIT = None  # the token is bound to the session; a slow form still submits
    HSTS = False

    # argon2id with OWASP's recommended parameters (19 MiB, 2 passes): ~60-90 ms per login
    # on a 2-core server, so a deadline day's logins do not queue behind hashing.
    # Hashes made with other parameters are upgraded at the next login.
    PASSWORD_HASH_PARAMETERS: dict = {"time_cost": 2, "memory_cost": 19456, "parallelism": 1}


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS = True
    MAIL_SEND_IMMEDIATELY = False  # the scheduler process sends the outbox
    # templates are compiled once per process and never checked for changes on disk
    TEMPLATES_AUTO_RELOAD = False


class TestConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
    WTF_CSRF_ENABLED = False
    MAIL_BACKEND = "memory"
    MAIL_SEND_IMMEDIATELY = False
    RATELIMIT_ENABLED = False
    SERVER_NAME = "localhost"
    SETTINGS_CACHE_SECONDS = 0
    BASE_URL = "http://localhost"
    # fast hashes keep the suite quick; production uses argon2's defaults
    PASSWORD_HASH_PARAMETERS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


def config_for(env_name: str | None) -> type[Config]:
    name = (env_name or os.environ.get("KITA_ENV") or "development").lower()
    return {"production": ProductionConfig, "testing": TestConfig}.get(name, Config)
