"""Command line: ``python -m allocation solve|generate|bench``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import cast

from .model import MODES, SIBLING_POLICIES, Mode, Options, Siblings, ValidationError
from .solver import solve
from .validate import load_problem, parse_json


def _cmd_solve(args: argparse.Namespace) -> int:
    try:
        with open(args.problem, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        print(f"error: cannot read {args.problem}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        problem = load_problem(parse_json(raw))
    except ValidationError as exc:
        print(f"error: {args.problem}: {exc}", file=sys.stderr)
        return 2
    options = Options(
        mode=cast(Mode | None, args.mode),
        siblings=cast(Siblings | None, args.siblings),
        time_limit_s=args.time_limit,
        seed=args.seed,
    )
    print(
        f"solving {len(problem.children)} children, {len(problem.facilities)} facilities",
        file=sys.stderr,
    )
    result = solve(problem, options)
    text = json.dumps(result.to_dict(), indent=1, ensure_ascii=False) + "\n"
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    st = result.stats
    print(
        f"{st.status}: placed {st.placed}/{st.children}, blocking pairs {st.blocking_pairs}, "
        f"{st.solve_seconds:.2f} s",
        file=sys.stderr,
    )
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from .generate import generate

    problem = generate(
        children=args.children,
        facilities=args.facilities,
        seed=args.seed,
        max_wishes=args.max_wishes,
        sibling_share=args.siblings,
    )
    text = json.dumps(problem.to_dict(), ensure_ascii=False) + "\n"
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    run_bench(
        sizes=args.sizes.split(","),
        modes=args.modes.split(",") if args.modes else None,
        quick=args.quick,
        time_limit=args.time_limit,
        out=sys.stdout,
        seed=args.seed,
        repeat=args.repeat,
    )
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m allocation")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("solve", help="solve a problem file")
    p.add_argument("problem")
    p.add_argument("-o", "--output", default=None, help="result file (default: stdout)")
    p.add_argument("--mode", choices=MODES, default=None)
    p.add_argument("--siblings", choices=SIBLING_POLICIES, default=None)
    p.add_argument("--time-limit", type=float, default=None, dest="time_limit")
    p.add_argument("--seed", type=int, default=None)
    p.set_defaults(func=_cmd_solve)

    g = sub.add_parser("generate", help="generate a realistic problem")
    g.add_argument("--children", type=int, required=True)
    g.add_argument("--facilities", type=int, required=True)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--max-wishes", type=int, default=5, dest="max_wishes")
    g.add_argument("--siblings", type=float, default=0.08, help="share of children in groups")
    g.add_argument("-o", "--output", default=None)
    g.set_defaults(func=_cmd_generate)

    b = sub.add_parser("bench", help="print the benchmark table")
    b.add_argument("--sizes", default="town,city,metropolis")
    b.add_argument("--modes", default=None, help="comma-separated mode/siblings cases")
    b.add_argument("--quick", action="store_true", help="town and city only, short limits")
    b.add_argument("--time-limit", type=float, default=None, dest="time_limit")
    b.add_argument("--seed", type=int, default=1, help="generator seed of the instances")
    b.add_argument(
        "--repeat",
        type=_positive,
        default=1,
        help="runs per case, each in its own process: the median run, with the range",
    )
    b.set_defaults(func=_cmd_bench)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
