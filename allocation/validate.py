"""Input checks: turn raw JSON data into a :class:`Problem` or raise ``ValidationError``.

Every message names the offending record (``facility 'x'``, ``child 'y'``, ``locks[2]``)
so that an office can find and fix it. Nothing is solved from invalid input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .model import (
    CARE_TYPES,
    MODES,
    PROBLEM_FORMAT,
    SIBLING_POLICIES,
    Ban,
    Child,
    Facility,
    Lock,
    Options,
    Problem,
    ValidationError,
)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _str_field(rec: Mapping[str, Any], key: str, where: str) -> str:
    value = rec.get(key)
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{where}: '{key}' must be a non-empty string")
    return value


def _list(data: Mapping[str, Any], key: str, required: bool) -> list[Any]:
    if key not in data:
        if required:
            raise ValidationError(f"problem: missing '{key}'")
        return []
    value = data[key]
    if not isinstance(value, list):
        raise ValidationError(f"problem: '{key}' must be a list")
    return value


def parse_json(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(f"problem: malformed JSON: {exc}") from None


def load_problem(data: Mapping[str, Any] | str | bytes) -> Problem:
    """Validate ``data`` (a parsed JSON object or JSON text) and return a frozen Problem."""
    if isinstance(data, str | bytes):
        data = parse_json(data)
    if not isinstance(data, Mapping):
        raise ValidationError("problem: top level must be a JSON object")
    fmt = data.get("format")
    if fmt != PROBLEM_FORMAT:
        raise ValidationError(f"problem: unknown format {fmt!r} (expected '{PROBLEM_FORMAT}')")

    facilities: list[Facility] = []
    fac_ids: set[str] = set()
    for i, rec in enumerate(_list(data, "facilities", True)):
        where = f"facilities[{i}]"
        if not isinstance(rec, Mapping):
            raise ValidationError(f"{where}: must be an object")
        fid = _str_field(rec, "id", where)
        where = f"facility '{fid}'"
        if fid in fac_ids:
            raise ValidationError(f"{where}: duplicate facility id")
        fac_ids.add(fid)
        cap = rec.get("capacity", {})
        if not isinstance(cap, Mapping):
            raise ValidationError(f"{where}: 'capacity' must be an object")
        seats: list[tuple[str, int]] = []
        for ct, n in cap.items():
            if ct not in CARE_TYPES:
                raise ValidationError(f"{where}: unknown care type {ct!r} in capacity")
            if not _is_int(n) or n < 0:
                raise ValidationError(
                    f"{where}: capacity for {ct} must be a non-negative integer, got {n!r}"
                )
            seats.append((ct, n))
        facilities.append(Facility(id=fid, capacity=tuple(seats)))

    children: list[Child] = []
    child_by_id: dict[str, Child] = {}
    for i, rec in enumerate(_list(data, "children", True)):
        where = f"children[{i}]"
        if not isinstance(rec, Mapping):
            raise ValidationError(f"{where}: must be an object")
        cid = _str_field(rec, "id", where)
        where = f"child '{cid}'"
        if cid in child_by_id:
            raise ValidationError(f"{where}: duplicate child id")
        ct = rec.get("care_type")
        if ct not in CARE_TYPES:
            raise ValidationError(f"{where}: unknown care type {ct!r}")
        wishes = rec.get("wishes", [])
        if not isinstance(wishes, list):
            raise ValidationError(f"{where}: 'wishes' must be a list")
        seen: set[str] = set()
        for w in wishes:
            if not isinstance(w, str):
                raise ValidationError(f"{where}: wish {w!r} is not a facility id")
            if w not in fac_ids:
                raise ValidationError(f"{where}: wish '{w}' names an unknown facility")
            if w in seen:
                raise ValidationError(f"{where}: wish '{w}' is repeated")
            seen.add(w)
        prio = rec.get("priority", {})
        if not isinstance(prio, Mapping):
            raise ValidationError(f"{where}: 'priority' must be an object")
        points: list[tuple[str, int]] = []
        for f, p in prio.items():
            if f not in fac_ids:
                raise ValidationError(f"{where}: priority names an unknown facility {f!r}")
            if not _is_int(p):
                raise ValidationError(f"{where}: priority at '{f}' must be an integer, got {p!r}")
            points.append((f, p))
        tiebreak = rec.get("tiebreak")
        if not isinstance(tiebreak, int) or isinstance(tiebreak, bool):
            raise ValidationError(f"{where}: 'tiebreak' must be an integer, got {tiebreak!r}")
        group = rec.get("sibling_group")
        if group is not None and (not isinstance(group, str) or not group):
            raise ValidationError(f"{where}: 'sibling_group' must be a non-empty string")
        holds = rec.get("holds")
        if holds is not None:
            if not isinstance(holds, str) or holds not in seen:
                raise ValidationError(f"{where}: holds {holds!r} is not among the child's wishes")
        child = Child(
            id=cid,
            care_type=ct,
            wishes=tuple(wishes),
            priority=tuple(points),
            tiebreak=tiebreak,
            sibling_group=group,
            holds=holds,
        )
        children.append(child)
        child_by_id[cid] = child

    by_tiebreak: dict[int, Child] = {}
    for child in children:
        other = by_tiebreak.get(child.tiebreak)
        if other is None:
            by_tiebreak[child.tiebreak] = child
        elif child.sibling_group is None or child.sibling_group != other.sibling_group:
            raise ValidationError(
                f"child '{child.id}': tiebreak {child.tiebreak} is shared with child "
                f"'{other.id}' outside one sibling group"
            )

    locks: list[Lock] = []
    for i, rec in enumerate(_list(data, "locks", False)):
        where = f"locks[{i}]"
        if not isinstance(rec, Mapping):
            raise ValidationError(f"{where}: must be an object")
        cid = _str_field(rec, "child", where)
        fid = _str_field(rec, "facility", where)
        where = f"lock of child '{cid}' at '{fid}'"
        if cid not in child_by_id:
            raise ValidationError(f"{where}: unknown child")
        if fid not in fac_ids:
            raise ValidationError(f"{where}: unknown facility")
        if fid not in child_by_id[cid].wishes:
            raise ValidationError(f"{where}: facility is not among the child's wishes")
        locks.append(Lock(child=cid, facility=fid))

    bans: list[Ban] = []
    for i, rec in enumerate(_list(data, "bans", False)):
        where = f"bans[{i}]"
        if not isinstance(rec, Mapping):
            raise ValidationError(f"{where}: must be an object")
        cid = _str_field(rec, "child", where)
        fid = _str_field(rec, "facility", where)
        where = f"ban of child '{cid}' at '{fid}'"
        if cid not in child_by_id:
            raise ValidationError(f"{where}: unknown child")
        if fid not in fac_ids:
            raise ValidationError(f"{where}: unknown facility")
        bans.append(Ban(child=cid, facility=fid))

    fac_by_id = {f.id: f for f in facilities}
    taken: dict[tuple[str, str], set[str]] = {}
    for lk in locks:
        ct = child_by_id[lk.child].care_type
        taken.setdefault((lk.facility, ct), set()).add(lk.child)
    for child in children:
        if child.holds is not None:
            taken.setdefault((child.holds, child.care_type), set()).add(child.id)
    for (fid, ct), who in taken.items():
        n_seats = fac_by_id[fid].seats(ct)
        if len(who) > n_seats:
            raise ValidationError(
                f"facility '{fid}': {len(who)} locks or holds for {ct} "
                f"exceed its capacity {n_seats}"
            )

    options = _options(data.get("options"))
    return Problem(
        facilities=tuple(facilities),
        children=tuple(children),
        locks=tuple(locks),
        bans=tuple(bans),
        options=options,
    )


def _options(raw: object) -> Options:
    if raw is None:
        return Options()
    if not isinstance(raw, Mapping):
        raise ValidationError("options: must be an object")
    mode = raw.get("mode")
    if mode is not None and mode not in MODES:
        raise ValidationError(f"options: unknown mode {mode!r}")
    siblings = raw.get("siblings")
    if siblings is not None and siblings not in SIBLING_POLICIES:
        raise ValidationError(f"options: unknown siblings policy {siblings!r}")
    limit = raw.get("time_limit_s")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int | float) or limit <= 0
    ):
        raise ValidationError(f"options: time_limit_s must be a positive number, got {limit!r}")
    seed = raw.get("seed")
    if seed is not None and not _is_int(seed):
        raise ValidationError(f"options: seed must be an integer, got {seed!r}")
    return Options(
        mode=mode,
        siblings=siblings,
        time_limit_s=float(limit) if limit is not None else None,
        seed=seed,
    )
