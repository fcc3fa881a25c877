"""``sim docs``: regenerate docs/scenarios.md from the scenario schema."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_docs(args: argparse.Namespace) -> int:
    """Write (or with ``--check`` only verify) the scenario reference."""
    from sim.scenario import reference as docgen

    argv = ["--out", str(args.out)] if args.out else []
    return docgen.main([*argv, *(["--check"] if args.check else [])])


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``docs`` subcommand."""
    p = sub.add_parser("docs", help="regenerate docs/scenarios.md from the scenario schema")
    p.add_argument("--out", type=Path, help="file to write (default docs/scenarios.md)")
    p.add_argument("--check", action="store_true",
                   help="only check that the file is up to date (exit 1 if not)")
    p.set_defaults(func=cmd_docs)
