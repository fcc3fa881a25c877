"""The command line: parse, call, write, print, exit codes.

Exit codes: 0 success, 1 a run failed, 2 bad input (scenario or arguments).
Each command group lives in its own module with a ``register(sub)`` function;
heavy modules (Mesa, pandas) are imported inside commands so ``sim --help`` is fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sim.cli import calibrate, compare, docs, run, teach
from sim.cli.common import EXIT_BAD_INPUT, UsageError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``sim``."""
    parser = argparse.ArgumentParser(
        prog="sim", description="Scenario analysis of militia attacks on coalition forces "
        "in Iraq and Syria and the Iraqi government's policy levers.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (run, compare, calibrate, teach, docs):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``sim`` and ``python -m sim``."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(words)
    args.command_line = " ".join(["sim", *words])
    from sim.scenario.errors import ScenarioError

    try:
        return int(args.func(args))
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (UsageError, FileExistsError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
