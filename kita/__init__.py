"""Kitaplatz: daycare place reservation and allocation for German municipalities."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.routing import IntegerConverter, Map

from kita.config import DEV_SECRET_KEY, config_for
from kita.extensions import babel, csrf, db, limiter, login_manager, migrate
from kita.models.base import MAX_ID

ROOT = Path(__file__).resolve().parent.parent


class DatabaseIdConverter(IntegerConverter):
    """``<int:…>`` in every route, bounded by the database's 32-bit integer ids."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """The application factory: configuration, extensions, blueprints, CLI, error pages."""
    overrides = dict(overrides or {})
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    # ids in URLs are database integers: a larger number names no record (404), instead of
    # reaching PostgreSQL, which refuses to compare an integer column with it
    app.url_map.converters["int"] = DatabaseIdConverter
    app.config.from_object(config_for(overrides.get("ENV_NAME")))
    app.config.from_pyfile("kita.cfg", silent=True)
    app.config.from_prefixed_env("KITA")
    if os.environ.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    app.config.update(overrides)
    _finish_config(app)

    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(ROOT / "migrations"), compare_type=True, render_as_batch=True
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)

    from kita import i18n, security, web
    from kita.services import overview

    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    i18n.init_app(app)
    security.init_app(app)
    overview.init_app(app)
    web.init_app(app)

    from kita.cli import register_cli

    register_cli(app)
    return app


def _finish_config(app: Flask) -> None:
    env_name = app.config["ENV_NAME"]
    if env_name == "production" and app.config["SECRET_KEY"] in (None, "", DEV_SECRET_KEY):
        raise RuntimeError("SECRET_KEY must be set to a long random value outside development")
    if env_name == "production" and len(str(app.config["SECRET_KEY"])) < 32:
        raise RuntimeError("SECRET_KEY must be at least 32 characters long")
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(
            app.instance_path, "kita.sqlite3"
        )
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = uri = (
            "postgresql+psycopg://" + uri.split("://", 1)[1]
        )
    if uri.startswith("sqlite"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    else:
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.setdefault("pool_pre_ping", True)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite: foreign keys on, WAL, and a busy timeout so concurrent writers wait."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    # let SQLAlchemy emit BEGIN itself (see _sqlite_begin) so writes take the lock up front
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    except Exception:  # noqa: BLE001,S110 - in-memory databases have no WAL
        pass
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Any) -> None:
    """SQLite: immediate write transactions, so writers queue instead of failing later."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
