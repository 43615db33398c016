"""Allocation runs: build the ``kita-allocation/1`` problem of a round, solve it outside
the request, store everything, compare runs and publish one as offers.

This module is the only caller of the ``allocation`` core. A run goes
``queued → running → succeeded | failed``; only one run per round may be queued or
running (partial unique index ``uq_allocation_run_active_round``). The worker commits
and closes its session before solving (SQLite takes the write lock with
``BEGIN IMMEDIATE``), keeps a heartbeat while solving, and a run whose heartbeat is
stale (the process died) is marked failed by :func:`fail_stale_runs`.

Nothing reaches a parent before :func:`publish`.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

import allocation
from kita.errors import Conflict, DomainError, InvalidTransition, NotFound, ValidationFailed
from kita.extensions import db
from kita.models import (
    AllocationOverride,
    AllocationRun,
    Application,
    ApplicationCriterion,
    Capacity,
    CareType,
    Child,
    Facility,
    Offer,
    OverrideKind,
    Round,
    RunStatus,
    Status,
    User,
    utcnow,
)
from kita.services import audit, offers, points

log = logging.getLogger("kita.allocation")

#: stations of the applications a run allocates
IN_PROBLEM = (Status.RELEASED, Status.WAITLIST, Status.ACCEPTED_WAITING)
MODES = ("stable", "fair-max", "max-placement")
SIBLINGS = ("together", "ignore")
HEARTBEAT_SECONDS = 2.0
STALE_SECONDS = 60.0
DEFAULT_TIME_LIMIT = 30.0

MODE_LABELS = {
    "stable": _l("Stable (priority rules)"),
    "fair-max": _l("Fair and most placed"),
    "max-placement": _l("Most placed (ignores priorities)"),
}
SIBLING_LABELS = {
    "together": _l("Place siblings together"),
    "ignore": _l("Ignore sibling requests"),
}
RUN_STATUS_LABELS = {
    RunStatus.QUEUED: _l("Queued"),
    RunStatus.RUNNING: _l("Running"),
    RunStatus.SUCCEEDED: _l("Finished"),
    RunStatus.FAILED: _l("Failed"),
}


def solver_version() -> str:
    try:
        from importlib.metadata import version

        return f"kita-allocation/1 ortools {version('ortools')}"
    except Exception:  # noqa: BLE001 - the version is informational
        return "kita-allocation/1"


# --- the problem ---------------------------------------------------------------------


def _tiebreaks(round_: Round, apps: list[Application]) -> dict[int, int]:
    """Raw tie-break numbers: the rules service's (lottery or submission order).

    Before the lottery is drawn (and while the deadline has not passed) the
    submission order is used.
    """
    try:
        from kita.services import rules

        numbers = rules.tiebreaks_for_round(round_.id)
        return {a.id: int(numbers[a.id]) for a in apps}
    except (ImportError, AttributeError, KeyError, DomainError):
        pass
    result = {}
    for a in apps:
        lottery = a.child.household.lottery_number
        if lottery is not None:
            result[a.id] = lottery
        elif a.submitted_at is not None:
            result[a.id] = int(a.submitted_at.timestamp() * 1_000_000)
        else:
            result[a.id] = 10**18 + a.id
    return result


def _normalise_tiebreaks(apps: list[Application], raw: dict[int, int]) -> dict[int, int]:
    """Keep the raw numbers when they are unique per sibling group; else rank them."""

    def key(a: Application) -> str:
        return a.sibling_group or f"ref:{a.reference}"

    owners: dict[int, set[str]] = defaultdict(set)
    for a in apps:
        owners[raw[a.id]].add(key(a))
    if all(len(keys) == 1 for keys in owners.values()):
        return {a.id: raw[a.id] for a in apps}
    result: dict[int, int] = {}
    group_number: dict[str, int] = {}
    for a in sorted(apps, key=lambda a: (raw[a.id], a.reference)):
        k = key(a)
        if k not in group_number:
            group_number[k] = len(group_number) + 1
        result[a.id] = group_number[k]
    return result


def problem_applications(round_id: int) -> list[Application]:
    return list(
        db.session.scalars(
            select(Application)
            .where(Application.round_id == round_id, Application.status.in_(IN_PROBLEM))
            .options(
                selectinload(Application.wishes),
                selectinload(Application.criteria).joinedload(ApplicationCriterion.rule),
                joinedload(Application.child).joinedload(Child.household),
            )
            .order_by(Application.id)
        ).all()
    )


def build_problem(
    round_: Round,
    *,
    mode: str = "stable",
    siblings: str = "together",
    time_limit_s: float = DEFAULT_TIME_LIMIT,
) -> dict[str, Any]:
    """The round's problem: released, waiting-list and accepted-waiting applications."""
    apps = problem_applications(round_.id)
    facilities = {f.id: f for f in db.session.scalars(select(Facility)).all()}
    in_problem = {a.id for a in apps}
    holds: dict[int, Offer] = {}
    for a in apps:
        if a.status == Status.ACCEPTED_WAITING:
            held = offers.held_offer(a)
            if held is not None:
                holds[a.id] = held
    # places taken by children outside the problem: open offers, accepted places of
    # families who stopped waiting, enrolled children
    outside: Counter[tuple[int, CareType]] = Counter()
    for fid, ct, app_id in db.session.execute(
        select(Offer.facility_id, Offer.care_type, Offer.application_id)
        .join(Application, Application.id == Offer.application_id)
        .where(Application.round_id == round_.id, Offer.status.in_(offers.TAKING))
    ).all():
        held = holds.get(app_id)
        if app_id in in_problem and held is not None and held.facility_id == fid:
            continue
        outside[(fid, CareType(ct))] += 1
    hold_count: Counter[tuple[int, CareType]] = Counter(
        (o.facility_id, CareType(o.care_type)) for o in holds.values()
    )
    capacity: dict[int, dict[str, int]] = defaultdict(dict)
    for cap in db.session.scalars(select(Capacity).where(Capacity.round_id == round_.id)):
        k = (cap.facility_id, CareType(cap.care_type))
        seats = max(cap.places - outside[k], hold_count[k], 0)
        capacity[cap.facility_id][CareType(cap.care_type).value] = seats
    tiebreaks = _normalise_tiebreaks(apps, _tiebreaks(round_, apps))
    children = []
    used_facilities: set[int] = set(capacity)
    for a in apps:
        wish_ids = [w.facility_id for w in a.wishes]
        held = holds.get(a.id)
        if held is not None and held.facility_id not in wish_ids:
            wish_ids.append(held.facility_id)  # an accepted alternative place
        pts = points.for_application(a)
        child: dict[str, Any] = {
            "id": a.reference,
            "care_type": CareType(a.care_type).value,
            "wishes": [facilities[f].slug for f in wish_ids],
            "priority": {facilities[f].slug: pts.get(f, 0) for f in wish_ids if pts.get(f)},
            "tiebreak": tiebreaks[a.id],
        }
        if a.sibling_group:
            child["sibling_group"] = a.sibling_group
        if held is not None:
            child["holds"] = facilities[held.facility_id].slug
        used_facilities.update(wish_ids)
        children.append(child)
    locks: list[dict[str, str]] = []
    bans: list[dict[str, str]] = []
    by_id = {a.id: a for a in apps}
    for o in db.session.scalars(
        select(AllocationOverride)
        .where(AllocationOverride.round_id == round_.id)
        .order_by(AllocationOverride.id)
    ):
        target = by_id.get(o.application_id)
        if target is None:
            continue
        entry = {"child": target.reference, "facility": facilities[o.facility_id].slug}
        (locks if o.kind == OverrideKind.LOCK else bans).append(entry)
    return {
        "format": "kita-allocation/1",
        "facilities": [
            {"id": facilities[fid].slug, "capacity": dict(sorted(capacity.get(fid, {}).items()))}
            for fid in sorted(used_facilities, key=lambda f: facilities[f].slug)
        ],
        "children": children,
        "locks": locks,
        "bans": bans,
        "options": {
            "mode": mode,
            "siblings": siblings,
            "time_limit_s": time_limit_s,
            "seed": 0,
        },
    }


# --- starting and running ------------------------------------------------------------


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def active_run(round_id: int) -> AllocationRun | None:
    return db.session.scalar(
        select(AllocationRun).where(
            AllocationRun.round_id == round_id,
            AllocationRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]),
        )
    )


def fail_stale_runs(now: datetime | None = None, stale_seconds: float | None = None) -> int:
    """Mark runs failed whose worker stopped sending heartbeats (e.g. a restart)."""
    now = now or utcnow()
    if stale_seconds is None:
        stale_seconds = float(current_app.config.get("ALLOCATION_STALE_SECONDS", STALE_SECONDS))
    limit = now - timedelta(seconds=stale_seconds)
    runs = db.session.scalars(
        select(AllocationRun).where(
            AllocationRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]),
            or_(
                AllocationRun.heartbeat_at < limit,
                (AllocationRun.heartbeat_at.is_(None)) & (AllocationRun.created_at < limit),
            ),
        )
    ).all()
    count = 0
    for run in runs:
        changed = db.session.execute(
            update(AllocationRun)
            .where(
                AllocationRun.id == run.id,
                AllocationRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]),
            )
            .values(
                status=RunStatus.FAILED,
                error="interrupted: the worker stopped (server restart?)",
                finished_at=now,
            )
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if changed:
            audit.record(None, "allocation_run.stale", run, round_id=run.round_id)
            count += 1
    db.session.commit()
    return count


def start_run(
    actor: User | None,
    round_: Round,
    *,
    mode: str = "stable",
    siblings: str = "together",
    time_limit_s: float | None = None,
    background: bool = True,
) -> AllocationRun:
    """Queue a run for ``round_`` and start it (in a worker thread unless ``background``
    is False). A second run while one is queued or running raises ``Conflict``."""
    errors: dict[str, list[str]] = {}
    if mode not in MODES:
        errors["mode"] = [str(_l("Please choose a mode."))]
    if siblings not in SIBLINGS:
        errors["siblings"] = [str(_l("Please choose how to treat siblings."))]
    if errors:
        raise ValidationFailed(errors)
    if not round_.is_open:
        raise InvalidTransition(str(_l("This round is closed.")))
    fail_stale_runs()
    if time_limit_s is None:
        time_limit_s = float(current_app.config.get("ALLOCATION_TIME_LIMIT", DEFAULT_TIME_LIMIT))
    follow_up = (
        db.session.scalar(
            select(AllocationRun.id)
            .where(AllocationRun.round_id == round_.id, AllocationRun.published_at.is_not(None))
            .limit(1)
        )
        is not None
    )
    run = AllocationRun(
        round_id=round_.id,
        status=RunStatus.QUEUED,
        mode=mode,
        siblings=siblings,
        follow_up=follow_up,
        options_json=json.dumps(
            {"mode": mode, "siblings": siblings, "time_limit_s": time_limit_s, "seed": 0}
        ),
        created_by_id=actor.id if actor is not None else None,
        heartbeat_at=utcnow(),
        progress=0,
        progress_message="queued",
    )
    db.session.add(run)
    try:
        db.session.flush()
        audit.record(actor, "allocation_run.start", run, round_id=round_.id, mode=mode)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            str(_l("A run for this round is already in progress. Please wait for it."))
        ) from None
    run_id = run.id
    if background:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        thread = threading.Thread(
            target=_thread_main, args=(app, run_id), name=f"allocation-run-{run_id}", daemon=True
        )
        thread.start()
    else:
        execute(run_id, close_session=False)
        db.session.expire_all()
        run = db.session.get(AllocationRun, run_id)  # type: ignore[assignment]
    return run


def _thread_main(app: Flask, run_id: int) -> None:
    with app.app_context():
        try:
            execute(run_id)
        finally:
            db.session.remove()


def _set(run_id: int, **values: Any) -> None:
    db.session.execute(
        update(AllocationRun)
        .where(AllocationRun.id == run_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


@dataclass
class _Heartbeat:
    app: Flask
    run_id: int
    time_limit: float
    stop: threading.Event = field(default_factory=threading.Event)

    def loop(self) -> None:
        started = time.monotonic()
        with self.app.app_context():
            try:
                while not self.stop.wait(HEARTBEAT_SECONDS):
                    elapsed = time.monotonic() - started
                    pct = 20 + int(70 * min(1.0, elapsed / max(self.time_limit, 1.0)))
                    try:
                        db.session.execute(
                            update(AllocationRun)
                            .where(
                                AllocationRun.id == self.run_id,
                                AllocationRun.status == RunStatus.RUNNING,
                            )
                            .values(heartbeat_at=utcnow(), progress=pct)
                            .execution_options(synchronize_session=False)
                        )
                        db.session.commit()
                    except Exception:  # noqa: BLE001 - a busy database: beat next time
                        db.session.rollback()
            finally:
                db.session.remove()


def execute(run_id: int, close_session: bool = True) -> None:
    """Build, solve and store one run (the worker's body; never raises).

    The session's transaction is committed (and in the worker closed) before solving.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    run = db.session.get(AllocationRun, run_id)
    if run is None or run.status != RunStatus.QUEUED:
        db.session.rollback()
        return
    started = utcnow()
    claimed = db.session.execute(
        update(AllocationRun)
        .where(AllocationRun.id == run_id, AllocationRun.status == RunStatus.QUEUED)
        .values(
            status=RunStatus.RUNNING,
            started_at=started,
            heartbeat_at=started,
            worker=_worker_name(),
            progress=5,
            progress_message="building problem",
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    db.session.commit()
    if claimed != 1:
        return
    try:
        options = json.loads(run.options_json or "{}")
        round_ = db.session.get(Round, run.round_id)
        assert round_ is not None
        data = build_problem(
            round_,
            mode=options.get("mode", "stable"),
            siblings=options.get("siblings", "together"),
            time_limit_s=float(options.get("time_limit_s", DEFAULT_TIME_LIMIT)),
        )
        problem_text = json.dumps(data, ensure_ascii=False)
        _set(
            run_id,
            problem_json=problem_text,
            solver_version=solver_version(),
            progress=15,
            progress_message="solving",
            heartbeat_at=utcnow(),
        )
        # no transaction is held while solving
        db.session.commit()
        if close_session:
            db.session.close()
        problem = allocation.load_problem(data)
        opts = allocation.Options(
            mode=options.get("mode"),
            siblings=options.get("siblings"),
            time_limit_s=float(options.get("time_limit_s", DEFAULT_TIME_LIMIT)),
            seed=0,
        )
        time_limit = float(options.get("time_limit_s", DEFAULT_TIME_LIMIT))
        beat = _Heartbeat(app, run_id, time_limit)
        beat_thread = threading.Thread(target=beat.loop, daemon=True)
        beat_thread.start()
        box: dict[str, Any] = {}

        def _solve() -> None:
            try:
                box["result"] = allocation.solve(problem, opts)
            except BaseException as exc:  # noqa: BLE001 - reported as a failed run
                box["error"] = exc

        t0 = time.perf_counter()
        solver = threading.Thread(target=_solve, daemon=True)
        solver.start()
        hard_limit = float(current_app.config.get("ALLOCATION_HARD_TIMEOUT", time_limit * 2 + 30))
        solver.join(hard_limit)
        beat.stop.set()
        beat_thread.join(5)
        seconds = time.perf_counter() - t0
        if solver.is_alive():
            _finish_failed(run_id, f"timed out after {hard_limit:.0f} s", seconds)
            return
        if "error" in box:
            raise box["error"]
        result = box["result"].to_dict()
        status = result.get("stats", {}).get("status")
        if status == "INFEASIBLE":
            _set(
                run_id,
                result_json=json.dumps(result, ensure_ascii=False),
                status=RunStatus.FAILED,
                error="INFEASIBLE: no assignment satisfies the locks, bans and holds",
                finished_at=utcnow(),
                solve_seconds=seconds,
                progress=100,
                progress_message="failed",
            )
            return
        _set(
            run_id,
            result_json=json.dumps(result, ensure_ascii=False),
            status=RunStatus.SUCCEEDED,
            finished_at=utcnow(),
            solve_seconds=seconds,
            heartbeat_at=utcnow(),
            progress=100,
            progress_message="done",
        )
    except allocation.ValidationError as exc:
        db.session.rollback()
        _finish_failed(run_id, f"invalid problem: {exc}", None)
    except Exception as exc:  # noqa: BLE001 - any failure is stored on the run
        log.exception("allocation run %s failed", run_id)
        db.session.rollback()
        _finish_failed(run_id, f"{type(exc).__name__}: {exc}", None)


def _finish_failed(run_id: int, error: str, seconds: float | None) -> None:
    _set(
        run_id,
        status=RunStatus.FAILED,
        error=error[:4000],
        finished_at=utcnow(),
        solve_seconds=seconds,
        progress=100,
        progress_message="failed",
    )


def wait(run_id: int, timeout: float = 60.0) -> AllocationRun:
    """Poll until the run has finished (CLI and tests); the session holds no lock between."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        run = db.session.get(AllocationRun, run_id)
        if run is None:
            raise NotFound("run")
        db.session.refresh(run)
        if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
            db.session.commit()
            return run
        db.session.commit()
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} still {run.status}")
        time.sleep(0.05)


# --- reading runs --------------------------------------------------------------------


def get_run(run_id: int) -> AllocationRun:
    run = db.session.get(AllocationRun, run_id)
    if run is None:
        raise NotFound("run")
    return run


def runs_of(round_id: int) -> list[AllocationRun]:
    return list(
        db.session.scalars(
            select(AllocationRun)
            .where(AllocationRun.round_id == round_id)
            .order_by(AllocationRun.id.desc())
        ).all()
    )


def problem_of(run: AllocationRun) -> dict[str, Any]:
    return json.loads(run.problem_json) if run.problem_json else {}


def result_of(run: AllocationRun) -> dict[str, Any]:
    return json.loads(run.result_json) if run.result_json else {}


def progress(run: AllocationRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": str(run.status),
        "status_label": str(RUN_STATUS_LABELS[RunStatus(run.status)]),
        "progress": run.progress,
        "message": run.progress_message,
        "error": run.error,
        "done": run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED),
    }


@dataclass
class ChildRow:
    application: Application
    reference: str
    care_type: str
    facility: Facility | None
    wish_rank: int | None
    wishes: list[str]
    points: dict[str, int]
    holds: str | None
    explanation: list[dict[str, Any]]


@dataclass
class FillRow:
    facility: Facility
    care_type: str
    capacity: int
    assigned: int

    @property
    def percent(self) -> int:
        return round(100 * self.assigned / self.capacity) if self.capacity else 0


@dataclass
class Summary:
    run: AllocationRun
    stats: dict[str, Any]
    fill: list[FillRow]
    children: list[ChildRow]
    unplaced: list[ChildRow]
    blocking: list[dict[str, Any]]
    split_groups: list[list[ChildRow]]
    rank_counts: dict[int, int]

    @property
    def placed(self) -> int:
        return int(self.stats.get("placed", 0))


def summary(run: AllocationRun) -> Summary:
    """The result page's figures, computed from the stored problem and result."""
    problem = problem_of(run)
    result = result_of(run)
    facilities = {f.slug: f for f in db.session.scalars(select(Facility)).all()}
    apps = {
        a.reference: a
        for a in db.session.scalars(
            select(Application).where(
                Application.reference.in_([c["id"] for c in problem.get("children", [])])
            )
        ).all()
    }
    assigned = {a["child"]: a for a in result.get("assignments", [])}
    explanations = result.get("explanations", {})
    rows = []
    for c in problem.get("children", []):
        a = assigned.get(c["id"], {})
        fac_slug = a.get("facility")
        rows.append(
            ChildRow(
                application=apps[c["id"]],
                reference=c["id"],
                care_type=c["care_type"],
                facility=facilities.get(fac_slug) if fac_slug else None,
                wish_rank=a.get("wish_rank"),
                wishes=c["wishes"],
                points=c.get("priority", {}),
                holds=c.get("holds"),
                explanation=explanations.get(c["id"], []),
            )
        )
    used: Counter[tuple[str, str]] = Counter(
        (r.facility.slug, r.care_type) for r in rows if r.facility is not None
    )
    fill = []
    for f in problem.get("facilities", []):
        for ct, cap in f.get("capacity", {}).items():
            if cap > 0 or used[(f["id"], ct)]:
                fill.append(FillRow(facilities[f["id"]], ct, cap, used[(f["id"], ct)]))
    groups: dict[str, list[ChildRow]] = defaultdict(list)
    sib = {c["id"]: c.get("sibling_group") for c in problem.get("children", [])}
    for r in rows:
        if sib.get(r.reference):
            groups[sib[r.reference]].append(r)  # type: ignore[index]
    split = [
        g
        for g in groups.values()
        if len(g) > 1 and len({r.facility.slug if r.facility else None for r in g}) > 1
    ]
    ranks = Counter(r.wish_rank or 0 for r in rows)
    return Summary(
        run=run,
        stats=result.get("stats", {}),
        fill=fill,
        children=rows,
        unplaced=[r for r in rows if r.facility is None],
        blocking=result.get("blocking", []),
        split_groups=split,
        rank_counts=dict(sorted(ranks.items())),
    )


COMPARE_FIELDS = (
    ("placed", _l("Placed")),
    ("first_choice", _l("First wish")),
    ("rank_sum", _l("Rank sum")),
    ("envy_points", _l("Points-justified envy")),
    ("envy_lottery", _l("Lottery-justified envy")),
    ("wasted_seats", _l("Wasted seats")),
    ("sibling_groups_unplaced", _l("Sibling groups unplaced")),
    ("gap", _l("Gap")),
)


def compare(runs: list[AllocationRun]) -> list[dict[str, Any]]:
    """Side by side: each run's figures and its difference to the first (stable) run."""
    done = [r for r in runs if r.status == RunStatus.SUCCEEDED and r.result_json]
    if not done:
        return []
    base = next((r for r in done if r.mode == "stable"), done[0])
    base_stats = result_of(base).get("stats", {})
    rows = []
    for r in done:
        stats = result_of(r).get("stats", {})
        rows.append(
            {
                "run": r,
                "stats": stats,
                "placed_diff": int(stats.get("placed", 0)) - int(base_stats.get("placed", 0)),
                "envy_diff": int(stats.get("envy_points", 0))
                - int(base_stats.get("envy_points", 0)),
                "base": r.id == base.id,
            }
        )
    return rows


def chart_svg(s: Summary) -> str:
    """Per facility and care type: places and assigned children (server-side SVG)."""
    import io

    from matplotlib.figure import Figure

    rows = s.fill
    from kita.services.stations import care_type_label

    labels = [f"{r.facility.name} ({care_type_label(r.care_type)})" for r in rows]
    height = max(2.5, 0.34 * len(rows) + 1.2)
    fig = Figure(figsize=(7.5, height))
    ax = fig.subplots()
    ys = list(range(len(rows)))
    ax.barh(ys, [r.capacity for r in rows], color="#d6e4f0", label=_("Places"))
    ax.barh(ys, [r.assigned for r in rows], height=0.45, color="#1f5f8b", label=_("Assigned"))
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel(_("Children"))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    return svg[svg.find("<svg") :]


# --- overrides -----------------------------------------------------------------------


def set_override(
    actor: User,
    round_: Round,
    application: Application,
    facility: Facility,
    kind: OverrideKind | str,
    reason: str = "",
) -> AllocationOverride:
    kind = OverrideKind(kind)
    if application.round_id != round_.id:
        raise NotFound("application")
    if kind == OverrideKind.LOCK and facility.id not in application.facility_ids:
        raise ValidationFailed(
            {"facility_id": [str(_l("A child can be fixed only at one of its wishes."))]}
        )
    existing = db.session.scalar(
        select(AllocationOverride).where(
            AllocationOverride.round_id == round_.id,
            AllocationOverride.application_id == application.id,
            AllocationOverride.facility_id == facility.id,
        )
    )
    if existing is None:
        existing = AllocationOverride(
            round_id=round_.id, application_id=application.id, facility_id=facility.id, kind=kind
        )
        db.session.add(existing)
    if kind == OverrideKind.LOCK:
        # one lock per child
        db.session.flush()
        for other in db.session.scalars(
            select(AllocationOverride).where(
                AllocationOverride.round_id == round_.id,
                AllocationOverride.application_id == application.id,
                AllocationOverride.kind == OverrideKind.LOCK,
                AllocationOverride.facility_id != facility.id,
            )
        ):
            db.session.delete(other)
    existing.kind = kind
    existing.reason = (reason or "").strip()[:500]
    existing.created_by_id = actor.id
    db.session.flush()
    audit.record(
        actor,
        f"allocation_override.{kind}",
        existing,
        reference=application.reference,
        facility=facility.slug,
    )
    db.session.commit()
    return existing


def remove_override(actor: User, override_id: int, round_id: int) -> None:
    o = db.session.get(AllocationOverride, override_id)
    if o is None or o.round_id != round_id:
        raise NotFound("override")
    audit.record(actor, "allocation_override.remove", o, kind=str(o.kind))
    db.session.delete(o)
    db.session.commit()


def overrides_of(round_id: int) -> list[AllocationOverride]:
    return list(
        db.session.scalars(
            select(AllocationOverride)
            .where(AllocationOverride.round_id == round_id)
            .order_by(AllocationOverride.id)
        ).all()
    )


# --- publishing ----------------------------------------------------------------------


@dataclass
class PublishReport:
    offers: int = 0
    upgrades: int = 0
    waitlisted: int = 0
    deferred: list[str] = field(default_factory=list)  # placed, but the seat is not free yet
    skipped: list[str] = field(default_factory=list)  # changed since the run


def can_publish(run: AllocationRun) -> bool:
    if run.status != RunStatus.SUCCEEDED or run.published_at is not None:
        return False
    later = db.session.scalar(
        select(AllocationRun.id)
        .where(
            AllocationRun.round_id == run.round_id,
            AllocationRun.published_at.is_not(None),
            AllocationRun.published_at > (run.started_at or run.created_at),
        )
        .limit(1)
    )
    return later is None and run.round.is_open


def publish(actor: User | None, run: AllocationRun) -> PublishReport:
    """ "Angebote versenden": one open offer per placed child, the unplaced to the waiting
    list with their explanation, all in one transaction.

    A child that changed station since the run is skipped. Offers never exceed the free
    places: a seat still held by a family that was moved up (its upgrade offer not yet
    accepted) is not offered again now; that child stays waiting for the next follow-up.
    """
    if run.status != RunStatus.SUCCEEDED:
        raise InvalidTransition(str(_l("Only a finished run can be published.")))
    if not can_publish(run):
        raise Conflict(
            str(_l("This run can no longer be published: another run was published after it."))
        )
    problem, result = problem_of(run), result_of(run)
    report = PublishReport()
    now = utcnow()
    try:
        claimed = db.session.execute(
            update(AllocationRun)
            .where(AllocationRun.id == run.id, AllocationRun.published_at.is_(None))
            .values(published_at=now, published_by_id=actor.id if actor else None)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if claimed != 1:
            raise Conflict(str(_l("This run has already been published.")))
        facilities = {f.slug: f for f in db.session.scalars(select(Facility)).all()}
        children = {c["id"]: c for c in problem.get("children", [])}
        apps = {
            a.reference: a
            for a in db.session.scalars(
                select(Application).where(Application.reference.in_(list(children)))
            ).all()
        }
        explanations = result.get("explanations", {})
        free = offers.free_places(run.round_id)
        deadline = offers.deadline_for(run.round, now)

        def order(a: dict[str, Any]) -> tuple[Any, ...]:
            c = children[a["child"]]
            return (
                0 if c.get("holds") else 1,
                -int(c.get("priority", {}).get(a["facility"], 0)),
                c["tiebreak"],
                a["child"],
            )

        placed = [a for a in result.get("assignments", []) if a.get("facility")]
        for a in sorted(placed, key=order):
            c = children[a["child"]]
            app = apps.get(a["child"])
            expected = Status.ACCEPTED_WAITING if c.get("holds") else None
            if (
                app is None
                or app.status not in IN_PROBLEM
                or (expected is not None and app.status != expected)
            ):
                report.skipped.append(a["child"])
                continue
            app.outcome = json.dumps(explanations.get(a["child"], []), ensure_ascii=False)
            if c.get("holds") == a["facility"]:
                continue  # keeps the place it holds
            fac = facilities[a["facility"]]
            key = (fac.id, CareType(app.care_type))
            if free.get(key, 0) <= 0:
                report.deferred.append(a["child"])
                if app.status == Status.RELEASED:
                    applications_transition(app, "waitlist", actor)
                    report.waitlisted += 1
                continue
            free[key] -= 1
            offers.make_offer(
                actor, app, fac, run=run, wish_rank=a.get("wish_rank"), deadline=deadline
            )
            report.offers += 1
            if c.get("holds"):
                report.upgrades += 1
        for a in result.get("assignments", []):
            if a.get("facility"):
                continue
            app = apps.get(a["child"])
            if app is None or app.status not in IN_PROBLEM:
                report.skipped.append(a["child"])
                continue
            app.outcome = json.dumps(explanations.get(a["child"], []), ensure_ascii=False)
            if app.status == Status.RELEASED:
                applications_transition(app, "waitlist", actor)
                report.waitlisted += 1
        audit.record(
            actor,
            "allocation_run.publish",
            run,
            round_id=run.round_id,
            offers=report.offers,
            waitlisted=report.waitlisted,
            deferred=len(report.deferred),
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def applications_transition(app: Application, action: str, actor: User | None) -> None:
    from kita.services.applications import transition

    transition(app, action, actor, commit=False)


def waitlist_count(round_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count(Application.id)).where(
                Application.round_id == round_id, Application.status == Status.WAITLIST
            )
        )
        or 0
    )


def application_by_reference(round_id: int, reference: str | None) -> Application | None:
    return db.session.scalar(
        select(Application).where(
            Application.reference == (reference or "").strip().upper(),
            Application.round_id == round_id,
        )
    )
