"""Kitaplatz allocation core: the ``kita-allocation/1`` contract in plain Python + OR-Tools.

>>> problem = load_problem(data)          # validates; raises ValidationError naming the record
>>> result = solve(problem, Options(mode="fair-max"))
>>> result.to_dict()                      # the contract's result JSON
"""

from __future__ import annotations

from .model import (
    Assignment,
    Ban,
    BlockingPair,
    Child,
    Cutoff,
    Explanation,
    Facility,
    Lock,
    Options,
    Problem,
    Result,
    Stats,
    ValidationError,
)
from .solver import solve
from .validate import load_problem

__all__ = [
    "Assignment",
    "Ban",
    "BlockingPair",
    "Child",
    "Cutoff",
    "Explanation",
    "Facility",
    "Lock",
    "Options",
    "Problem",
    "Result",
    "Stats",
    "ValidationError",
    "load_problem",
    "solve",
]
