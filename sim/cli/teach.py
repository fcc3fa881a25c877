"""Teaching commands: ``sim app`` (the page), ``sim exercise N`` (answer keys), ``sim report``.

Nothing heavy is imported at module level, so ``sim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sim.cli.common import port_number


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``app``, ``exercise`` and ``report`` subcommands."""
    p = sub.add_parser("app", help="start the interactive teaching page (Mesa SolaraViz)")
    p.add_argument("--port", type=port_number, default=8765, metavar="PORT",
                   help="port to listen on (default 8765)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.set_defaults(func=cmd_app)

    p = sub.add_parser("exercise", help="compute a classroom exercise's answer key")
    p.add_argument("number", nargs="?", help="exercise number, or 'all' (omit to list them)")
    p.add_argument("--write", action="store_true",
                   help="write the computed answers into the exercise's key file")
    p.add_argument("--quick", action="store_true",
                   help="test mode: few replications and a short horizon")
    p.set_defaults(func=cmd_exercise)

    p = sub.add_parser("report", help="write a one-page HTML handout for a run folder")
    p.add_argument("run_dir", type=Path, help="a folder written by `sim run`")
    p.add_argument("--out", type=Path, help="output file (default RUN_DIR/report.html)")
    p.set_defaults(func=cmd_report)


def app_environment() -> dict[str, str]:
    """Environment for the page's server: offline assets, no telemetry, no browser opened."""
    env = dict(os.environ)
    # Front-end assets come from the installed solara-assets package (its files sit in
    # the proxy cache folder), so the page needs no CDN; telemetry stays off.
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    env.setdefault("SOLARA_TELEMETRY_SENTRY_ENABLE", "False")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def cmd_app(args: argparse.Namespace) -> int:
    """Start the page with Solara's server (blocks until interrupted; the server stops with it)."""
    from sim.experiment.processes import serve

    command = [sys.executable, "-m", "solara", "run", "sim.teach.app:page", "--host", args.host,
               "--port", str(args.port), "--production", "--no-open", "--log-level",
               "warning"]
    print(f"teaching page on http://{args.host}:{args.port} (Ctrl-C to stop)", flush=True)
    return serve(command, app_environment())


def cmd_exercise(args: argparse.Namespace) -> int:
    """Print (and optionally write) an exercise's computed answer key."""
    from sim.teach import exercises

    if args.number is None:
        for number, exercise in sorted(exercises.EXERCISES.items()):
            print(f"{number}  {exercise.title}  ({exercise.key_path().name})")
        return 0
    from sim.cli.common import UsageError

    if args.write and args.quick:
        raise UsageError("--write records full answers only; drop --quick")
    if args.number == "all":
        chosen = [exercises.EXERCISES[n] for n in sorted(exercises.EXERCISES)]
    else:
        try:
            chosen = [exercises.EXERCISES[int(args.number)]]
        except (KeyError, ValueError):
            raise UsageError(f"no exercise {args.number!r}; choose one of "
                             f"{', '.join(str(n) for n in sorted(exercises.EXERCISES))} "
                             "or all") from None
    for exercise in chosen:
        answers = exercise.compute(quick=args.quick)
        print(exercises.format_answers(exercise, answers))
        if args.write:
            path = exercises.write_answers(exercise, answers)
            print(f"answers written into {path}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the HTML handout of a run folder."""
    from sim.cli.common import UsageError
    from sim.teach.report import write_report

    if not (args.run_dir / "metadata.json").is_file():
        raise UsageError(f"{args.run_dir} is not a run folder (no metadata.json); "
                         "make one with `sim run SCENARIO --out FOLDER`")
    out = write_report(args.run_dir, args.out)
    print(f"report written to {out}")
    return 0
