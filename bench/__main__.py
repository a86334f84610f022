"""``python -m bench [--quick] [--profile]``: run every benchmark and print the figures.

The exit code is 0 whether or not a target is met: this measures, it does not test.  A missed target is
printed as ``FAIL`` on its own line at the end.
"""

from __future__ import annotations

import argparse
import sys

from bench import Budget, slots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (about a quarter second a case)")
    parser.add_argument(
        "--profile", action="store_true", help="after the figures, print cProfile of the targeted cases by cumtime"
    )
    args = parser.parse_args(argv)
    budget = Budget(seconds=0.25, max_runs=30, min_runs=5, warmup=1, passes=3) if args.quick else Budget()
    slots.run(budget=budget, out=lambda line: print(line, flush=True))
    if args.profile:
        slots.profile(repeat=5 if args.quick else 20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
