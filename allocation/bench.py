"""The benchmark table of the contract: town, city, metropolis x modes, against plain DA.

Every case runs in a fresh process (so peak memory is the case's own), on the generator's
instances with a fixed seed (1; ``--seed`` measures other instances of the same sizes). A
plain deferred-acceptance pass (no siblings, no metrics) runs in the same benchmark as the
baseline; seconds and placed are also given as ratios to it. ``--repeat N`` runs every case
N times, each in its own process, and shows the run of median time with the range of all N
(on a shared, noisy machine one run says little about a figure close to its bar).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from typing import IO, Any

SIZES: dict[str, tuple[int, int]] = {
    "town": (400, 8),
    "city": (20_000, 300),
    "metropolis": (170_000, 2_900),
}
LIMITS = {"town": 10.0, "city": 60.0, "metropolis": 300.0}
CASES = (
    "stable/ignore",
    "stable/together",
    "max-placement/ignore",
    "max-placement/together",
    "fair-max/ignore",
    "fair-max/together",
)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _case(path: str, case: str, limit: float, queue: Any) -> None:
    from .deferred import deferred_acceptance
    from .instance import build_instance
    from .metrics import blocking_pairs, figures
    from .model import Options
    from .solver import no_gc, solve
    from .validate import load_problem

    with open(path, "rb") as fh:
        problem = load_problem(json.loads(fh.read()))
    if case == "baseline":
        with no_gc():  # same conditions as solve()
            start = time.perf_counter()
            inst = build_instance(problem)
            assign = deferred_acceptance(inst)
            seconds = time.perf_counter() - start
        figs = figures(inst, assign, blocking_pairs(inst, assign))
        row: dict[str, Any] = {
            "seconds": seconds,
            "placed": figs.placed,
            "first_choice": figs.first_choice,
            "rank_sum": figs.rank_sum,
            "wasted_seats": figs.wasted_seats,
            "envy_points": figs.envy_points,
            "envy_lottery": figs.envy_lottery,
            "sibling_groups_unplaced": figs.sibling_groups_unplaced,
            "split_groups": _split(problem, dict(zip(inst.child_ids, assign, strict=True))),
            "status": "OPTIMAL",
            "gap": 0.0,
        }
    else:
        # a server keeps the CP-SAT module loaded: its one-off import is not solve time
        from . import cpsat, lns  # noqa: F401

        mode, siblings = case.split("/")
        options = Options(mode=mode, siblings=siblings, time_limit_s=limit, seed=0)  # type: ignore[arg-type]
        start = time.perf_counter()
        result = solve(problem, options)
        seconds = time.perf_counter() - start
        st = result.stats
        row = {
            "seconds": seconds,
            "placed": st.placed,
            "first_choice": st.first_choice,
            "rank_sum": st.rank_sum,
            "wasted_seats": st.wasted_seats,
            "envy_points": st.envy_points,
            "envy_lottery": st.envy_lottery,
            "sibling_groups_unplaced": st.sibling_groups_unplaced,
            "split_groups": _split(problem, {a.child: a.facility for a in result.assignments}),
            "status": st.status,
            "gap": st.gap,
        }
    row["peak_mb"] = _peak_mb()
    queue.put(row)


def _split(problem: Any, assign: dict[str, Any]) -> int:
    groups: dict[str, set[Any]] = {}
    for c in problem.children:
        if c.sibling_group is not None:
            groups.setdefault(c.sibling_group, set()).add(assign[c.id])
    return sum(1 for v in groups.values() if len(v) > 1)


def _run_case(path: str, case: str, limit: float) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_case, args=(path, case, limit, queue))
    proc.start()
    row: dict[str, Any] = queue.get()
    proc.join()
    return row


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median time (the lower one of an even count) and, for several runs, the
    range of their times: the figures are those of one real run, never a mix."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    row = dict(ordered[(len(ordered) - 1) // 2])
    if len(ordered) > 1:
        row["range"] = (ordered[0]["seconds"], ordered[-1]["seconds"])
    return row


def _seconds(row: dict[str, Any]) -> str:
    text = f"{row['seconds']:.2f}"
    if "range" not in row:
        return text
    low, high = row["range"]
    return f"{text} ({low:.2f}-{high:.2f})"


def run_bench(
    sizes: list[str],
    modes: list[str] | None,
    quick: bool,
    time_limit: float | None,
    out: IO[str],
    seed: int = 1,
    repeat: int = 1,
) -> None:
    from .generate import generate

    def measure(size: str, path: str, case: str, limit: float) -> dict[str, Any]:
        runs = []
        for k in range(repeat):
            runs.append(_run_case(path, case, limit))
            if repeat > 1:
                print(
                    f"[bench] {size} {case} run {k + 1}/{repeat}: {runs[-1]['seconds']:.3f} s",
                    file=sys.stderr,
                    flush=True,
                )
        return _median_run(runs)

    if quick:
        sizes = [s for s in sizes if s != "metropolis"]
    cases = modes or list(CASES)
    header = (
        "| instance | mode | siblings | seconds | x DA time | peak MB | placed | x DA placed "
        "| first choice | rank sum | wasted | envy points | envy lottery | groups unplaced "
        "| groups split | status | gap |"
    )
    lines = [header, "|" + "---|" * 17]
    out.write(header + "\n" + lines[1] + "\n")
    out.flush()
    tmpdir = tempfile.mkdtemp(prefix="kita-bench-")
    for size in sizes:
        n, f = SIZES[size]
        limit = time_limit or (20.0 if quick else LIMITS[size])
        t0 = time.perf_counter()
        problem = generate(children=n, facilities=f, seed=seed)
        path = os.path.join(tmpdir, f"{size}.json")
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(problem.to_dict(), fh)
        print(
            f"[bench] {size}: generated {n} children, {f} facilities "
            f"in {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        base = measure(size, path, "baseline", limit)
        print(f"[bench] {size} plain DA: {base['seconds']:.2f} s", file=sys.stderr, flush=True)
        rows = [("plain DA", base)]
        for case in cases:
            print(f"[bench] {size} {case} (limit {limit:.0f} s) ...", file=sys.stderr, flush=True)
            row = measure(size, path, case, limit)
            print(
                f"[bench] {size} {case}: {row['seconds']:.2f} s {row['status']}",
                file=sys.stderr,
                flush=True,
            )
            rows.append((case, row))
        label = size if seed == 1 else f"{size} (seed {seed})"
        for case, row in rows:
            mode, _, siblings = case.partition("/")
            gap = row["gap"]
            text = (
                f"| {label} | {mode} | {siblings or '-'} | {_seconds(row)} "
                f"| {row['seconds'] / max(base['seconds'], 1e-9):.1f} | {row['peak_mb']:.0f} "
                f"| {row['placed']} | {row['placed'] / max(base['placed'], 1):.4f} "
                f"| {row['first_choice']} | {row['rank_sum']} | {row['wasted_seats']} "
                f"| {row['envy_points']} | {row['envy_lottery']} "
                f"| {row['sibling_groups_unplaced']} | {row['split_groups']} | {row['status']} "
                f"| {'-' if gap is None else f'{100 * gap:.2f}%'} |"
            )
            out.write(text + "\n")
            out.flush()
