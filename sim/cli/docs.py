"""``sim docs``: regenerate docs/scenarios.md (the scenario file reference) from the schema."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``docs`` subcommand."""
    p = sub.add_parser("docs", help="regenerate docs/scenarios.md from the scenario schema",
                       description="Write the scenario file reference (every key, parameter "
                       "path and event path) generated from the schema and the registry, to "
                       "docs/scenarios.md by default; --check only compares. Prints the file "
                       "written.")
    p.add_argument("--out", type=Path, metavar="FILE",
                   help="file to write (default: docs/scenarios.md)")
    p.add_argument("--check", action="store_true",
                   help="only check that the file is up to date (exit 1 if not)")
    p.set_defaults(func=cmd_docs)


def cmd_docs(args: argparse.Namespace) -> int:
    """Write (or with ``--check`` only verify) the scenario reference."""
    from sim.experiment.files import write_text_atomic
    from sim.scenario import reference

    out = args.out or reference.DOCS
    text = reference.generate()
    if args.check:
        current = out.read_text(encoding="utf-8") if out.exists() else ""
        if current != text:
            print(f"{out} is out of date; run `sim docs`", file=sys.stderr)
            return 1
        print(f"{out} is up to date")
        return 0
    write_text_atomic(out, text)
    print(f"wrote {out}")
    return 0
