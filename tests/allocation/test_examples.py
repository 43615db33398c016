"""The contract's own examples, field by field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import allocation

EXAMPLES = Path(__file__).resolve().parent / "data"
SKIP_STATS = {"solve_seconds", "bound", "gap", "note"}


def _load(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


@pytest.mark.parametrize(
    ("siblings", "expected"),
    [
        ("together", "twins.stable-together.result.json"),
        ("ignore", "twins.stable-ignore.result.json"),
    ],
)
def test_twins_example(siblings: str, expected: str) -> None:
    problem = allocation.load_problem(_load("twins.problem.json"))
    result = allocation.solve(problem, allocation.Options(siblings=siblings))  # type: ignore[arg-type]
    got = result.to_dict()
    want = _load(expected)
    assert list(got) == list(want)
    for key, value in want.items():
        if key == "stats":
            assert list(got["stats"]) == [
                "children",
                "placed",
                "first_choice",
                "rank_sum",
                "blocking_pairs",
                "wasted_seats",
                "envy_points",
                "envy_lottery",
                "sibling_groups",
                "sibling_groups_unplaced",
                "status",
                "bound",
                "gap",
                "solve_seconds",
                "mode",
                "siblings",
                "note",
            ]
            for stat, v in value.items():
                assert stat not in SKIP_STATS
                assert got["stats"][stat] == v, stat
        else:
            assert got[key] == value, key
    assert json.dumps(got["assignments"]) == json.dumps(want["assignments"])


def test_problem_options_are_defaults_and_explicit_options_override() -> None:
    data = _load("twins.problem.json")
    problem = allocation.load_problem(data)
    assert allocation.solve(problem).stats.siblings == "together"
    data["options"]["siblings"] = "ignore"
    problem = allocation.load_problem(data)
    assert allocation.solve(problem).stats.siblings == "ignore"
    res = allocation.solve(problem, allocation.Options(siblings="together", mode="max-placement"))
    assert (res.stats.siblings, res.stats.mode) == ("together", "max-placement")


def test_problem_round_trips_through_to_dict() -> None:
    data = _load("twins.problem.json")
    problem = allocation.load_problem(data)
    assert allocation.load_problem(problem.to_dict()) == problem
