"""The parent's overview (GET /parent/): its data in few queries, and a render cache.

The overview is the page parents open most, on a deadline day again and again. The
rendered page is kept per process, keyed by

* the user (id and creation time, role, household),
* ``household.overview_version`` (read with the user in the login manager's one query),
* the language, the day (which round is "current" depends on the date) and the
  municipality's letterhead shown in the layout.

Every change the page shows raises the household's ``overview_version`` in the same
transaction as the change itself, so the next request of that family misses the cache
and renders the page anew. Nobody has to remember it: two session hooks do it for every
write that goes through the ORM session:

* ``after_flush``: new, changed or deleted households, guardians, children,
  applications and offers raise their own household's version; rounds and facilities
  (round name and deadline, facility name of an offer) raise every household's version;
* ``do_orm_execute``: UPDATE/DELETE/INSERT statements on those tables raise the version
  of the household of the row named by ``id = ...`` in the statement (the services'
  conditional updates of one row), or of every household when the rows are not known.

What is per request is never cached: the page is rendered with unguessable stand-ins
for the CSRF token and the CSP nonce, which ``fill`` replaces with this request's values;
a request with flash messages to show is rendered without the cache. A page is never
shared between users (the user id is part of the key).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Flask, current_app, g, render_template, session
from flask_wtf.csrf import generate_csrf
from sqlalchemy import and_, bindparam, event, inspect, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session, contains_eager
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList

from kita.extensions import db
from kita.models import (
    Application,
    Child,
    Facility,
    Guardian,
    Household,
    Offer,
    OfferStatus,
    Round,
    User,
)
from kita.services import settings

# --- the version -------------------------------------------------------------------------


#: built once: building the statement costs about as much as running it
_USER_WITH_HOUSEHOLD = (
    select(User, Household.id, Household.overview_version)
    .outerjoin(Household, Household.user_id == User.id)
    .where(User.id == bindparam("user_id"))
)


def user_with_household(user_id: int) -> tuple[User, int | None, int | None] | None:
    """The user, their household's id and overview version, in one query (the login
    manager's user loader, which runs on every request anyway)."""
    row = db.session.execute(_USER_WITH_HOUSEHOLD, {"user_id": user_id}).first()
    if row is None:
        return None
    user, household_id, version = row
    g.overview_version = (household_id, version) if household_id is not None else None
    return user, household_id, version


#: tables whose rows the overview shows -> how to find the household of row ids
_OWNED = {
    "household": lambda ids: select(Household.id).where(Household.id.in_(ids)),
    "guardian": lambda ids: select(Guardian.household_id).where(Guardian.id.in_(ids)),
    "child": lambda ids: select(Child.household_id).where(Child.id.in_(ids)),
    "application": lambda ids: (
        select(Child.household_id)
        .join(Application, Application.child_id == Child.id)
        .where(Application.id.in_(ids))
    ),
    "offer": lambda ids: (
        select(Child.household_id)
        .join(Application, Application.child_id == Child.id)
        .join(Offer, Offer.application_id == Application.id)
        .where(Offer.id.in_(ids))
    ),
}
#: tables every overview shows a part of (the current round, facility names)
_SHARED = {"round", "facility"}


@dataclass
class _Changes:
    everyone: bool = False
    rows: dict[str, set[int]] = field(default_factory=dict)

    def add(self, table: str, row_id: Any) -> None:
        if row_id is None:
            self.everyone = True
        else:
            self.rows.setdefault(table, set()).add(int(row_id))

    def __bool__(self) -> bool:
        return self.everyone or any(self.rows.values())


#: ids per UPDATE (SQLite allows a limited number of parameters in one statement)
_CHUNK = 500


def _raise_versions(connection: Connection, changes: _Changes) -> None:
    # executed on the connection: a plain UPDATE, not seen by the session's hooks again
    stmt = update(Household).values(overview_version=Household.overview_version + 1)
    if changes.everyone:
        connection.execute(stmt)
        return
    for table, ids in changes.rows.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), _CHUNK):
            owners = _OWNED[table](ordered[start : start + _CHUNK])
            connection.execute(stmt.where(Household.id.in_(owners)))


def _values(obj: Any, key: str) -> set[Any]:
    """A column's value, and its value before this flush, without loading anything (the
    object may be deleted). ``{None}`` when it is not known."""
    state = inspect(obj)
    values = {v for v in (state.dict.get(key), state.committed_state.get(key)) if type(v) is int}
    return values or {None}


#: for objects: which table's ids the overview's households are found through
_OWNER_OF = {
    Household: ("household", "id"),
    Guardian: ("household", "household_id"),
    Child: ("household", "household_id"),
    Application: ("child", "child_id"),
    Offer: ("application", "application_id"),
}


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: Any) -> None:
    changes = _Changes()
    for obj in session.new:
        if isinstance(obj, Round):
            changes.everyone = True
        elif type(obj) in _OWNER_OF and not isinstance(obj, Household):
            table, key = _OWNER_OF[type(obj)]
            for value in _values(obj, key):
                changes.add(table, value)
    for obj in list(session.dirty) + list(session.deleted):
        deleted = obj in session.deleted
        if not deleted and not session.is_modified(obj, include_collections=False):
            continue
        if isinstance(obj, (Round, Facility)):
            changes.everyone = True
        elif type(obj) in _OWNER_OF:
            if isinstance(obj, Household) and deleted:
                continue  # its overview is gone with it
            table, key = _OWNER_OF[type(obj)]
            for value in _values(obj, key):
                changes.add(table, value)
    if changes:
        _raise_versions(session.connection(), changes)


def _ids_named(statement: Any, table: str) -> list[int] | None:
    """The ids of ``WHERE <table>.id = :x`` (or ``IN``) in an UPDATE/DELETE, else None."""
    where = getattr(statement, "whereclause", None)
    clauses = [where]
    if isinstance(where, BooleanClauseList) and where.operator is operators.and_:
        clauses = list(where.clauses)
    for clause in clauses:
        if not isinstance(clause, BinaryExpression):
            continue
        left, right = clause.left, clause.right
        column_table = getattr(getattr(left, "table", None), "name", None)
        if getattr(left, "key", None) != "id" or column_table != table:
            continue
        if not isinstance(right, BindParameter):
            continue
        value = right.effective_value
        if clause.operator is operators.eq and value is not None:
            return [int(value)]
        if clause.operator is operators.in_op and isinstance(value, (list, tuple)):
            return [int(v) for v in value]
    return None


def _ids_in_parameters(parameters: Any) -> list[int] | None:
    """Bulk UPDATE by primary key (a list of parameter dicts, each with "id")."""
    if isinstance(parameters, (list, tuple)) and parameters:
        if all(isinstance(p, dict) and p.get("id") is not None for p in parameters):
            return [int(p["id"]) for p in parameters]
    return None


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state: ORMExecuteState) -> Any:
    if not (state.is_update or state.is_delete or state.is_insert):
        return None
    statement = state.statement
    table = getattr(getattr(statement, "table", None), "name", None)
    if table not in _OWNED and table not in _SHARED:
        return None
    ids = None
    if table in _OWNED and not state.is_insert:
        ids = _ids_named(statement, str(table))
        if ids is None:
            ids = _ids_in_parameters(state.parameters)
    if ids is not None:
        # the rows are named: raise their households' versions while the rows exist
        if ids and not (table == "household" and state.is_delete):
            _raise_versions(state.session.connection(), _Changes(rows={str(table): set(ids)}))
        return state.invoke_statement()
    result = state.invoke_statement()
    if getattr(result, "rowcount", -1) != 0:
        _raise_versions(state.session.connection(), _Changes(everyone=True))
    return result


# --- what the page shows -----------------------------------------------------------------


def applications_with_open_offers(
    children: Iterable[Child],
) -> list[tuple[Child, list[tuple[Application, Offer | None]]]]:
    """Every child with its applications (newest first), each with its open offer and the
    offer's facility: one query, however many children and applications."""
    children = list(children)
    rows = (
        db.session.execute(
            select(Application, Offer)
            .outerjoin(
                Offer,
                and_(Offer.application_id == Application.id, Offer.status == OfferStatus.OPEN),
            )
            .outerjoin(Facility, Facility.id == Offer.facility_id)
            .options(contains_eager(Offer.facility))
            .where(Application.child_id.in_([c.id for c in children]))
            .order_by(Application.id.desc())
        ).all()
        if children
        else []
    )
    by_child: dict[int, list[tuple[Application, Offer | None]]] = {c.id: [] for c in children}
    for application, offer in rows:
        by_child[application.child_id].append((application, offer))
    return [(c, by_child[c.id]) for c in children]


# --- the render cache ----------------------------------------------------------------------


class RenderCache:
    """A bounded, thread-safe LRU of rendered HTML (one per app and process)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pages: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: Hashable, page: str) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)


def init_app(app: Flask) -> None:
    app.extensions["kita.overview_cache"] = RenderCache(int(app.config["OVERVIEW_CACHE_SIZE"]))


def cache() -> RenderCache:
    return current_app.extensions["kita.overview_cache"]  # type: ignore[no-any-return]


def cache_key(user: User, locale: str) -> tuple[Any, ...] | None:
    """The key of the user's overview now, or None when it must not come from the cache:
    the version is not known (no household yet), or flash messages wait to be shown."""
    known = g.get("overview_version")
    if known is None or session.get("_flashes"):
        return None
    household_id, version = known
    return (
        "parent-overview",
        user.id,
        user.created_at,  # SQLite may give a deleted account's id to a new one
        user.role,
        household_id,
        version,
        locale,
        date.today().isoformat(),
        settings.municipality(),
    )


#: stand-ins for the per-request parts of a cached page (new for every process)
_STAND_IN = secrets.token_hex(16)
CSRF_STAND_IN = f"csrf-{_STAND_IN}"
NONCE_STAND_IN = f"nonce-{_STAND_IN}"


def render_cacheable(template: str, **context: Any) -> str:
    """``template`` rendered with stand-ins for the CSRF token and the CSP nonce."""
    return render_template(
        template, csrf_token=lambda: CSRF_STAND_IN, csp_nonce=NONCE_STAND_IN, **context
    )


def fill(page: str) -> str:
    """A cached page with this request's CSRF token and CSP nonce."""
    return page.replace(CSRF_STAND_IN, generate_csrf()).replace(
        NONCE_STAND_IN, g.get("csp_nonce", "")
    )
