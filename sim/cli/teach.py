"""Teaching commands: ``sim app`` (the page), ``sim exercise`` (sheets, keys), ``sim report``.

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
    p = sub.add_parser(
        "app", help="start the interactive teaching page (Solara)",
        description="Serve the interactive teaching page: set the levers, run the model day "
        "by day (Run), compare two settings (Compare) or sweep one (Explore) and watch "
        "attacks, casualties and stability. Runs until Ctrl-C; writes nothing and needs no "
        "network. See docs/teaching.md.")
    p.add_argument("--port", type=port_number, default=8765, metavar="PORT",
                   help="port to listen on (default: 8765)")
    p.add_argument("--host", default="127.0.0.1", metavar="HOST",
                   help="address to listen on (default: 127.0.0.1)")
    p.set_defaults(func=cmd_app)

    p = sub.add_parser("exercise", help="print a classroom exercise's student sheet",
                       description="Print a classroom exercise's student sheet (omit N to list "
                       "them), or with --figures RUN_DIR write the figures the exercises ask "
                       "for as CSV files (no pandas needed). Instructors: docs/teaching.md.")
    p.add_argument("number", nargs="?", help="exercise number (omit to list them)")
    p.add_argument("--figures", type=Path, metavar="RUN_DIR",
                   help="write RUN_DIR/figures.csv (share of days with an attack, share in "
                   "Syria, attacks a day early and late, attacks by faction; per replication "
                   "and pooled) and RUN_DIR/daily.csv for a folder written by `sim run`")
    # Instructor options (docs/teaching.md, docs/exercises/keys/README.md), kept out of --help.
    p.add_argument("--key", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--write", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_exercise)

    p = sub.add_parser(
        "report", help="write an HTML handout of a run, comparison or validation folder",
        description="Write one self-contained HTML handout (figures embedded) of a folder "
        "written by `sim run`, `sim compare` (also --worlds) or `sim validate`: settings, "
        "outcomes, figures on calendar dates and a glossary. See docs/teaching.md.")
    p.add_argument("folder", type=Path, metavar="FOLDER",
                   help="a folder written by `sim run`, `sim compare` or `sim validate`")
    p.add_argument("--out", type=Path, help="output file (default FOLDER/report.html)")
    p.set_defaults(func=cmd_report)


def app_environment() -> dict[str, str]:
    """Environment for the page's server: offline assets, no telemetry, no browser opened."""
    env = dict(os.environ)
    # Front-end assets come from the installed solara-assets package (its files sit in
    # the proxy cache folder), so the page needs no CDN; telemetry stays off.
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    env.setdefault("SOLARA_TELEMETRY_SENTRY_ENABLE", "False")
    env.setdefault("SOLARA_THEME_SHOW_BANNER", "False")
    env.setdefault("SOLARA_THEME_TITLE", "Militia attacks and the Iraqi government's levers")
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
    """Print a student sheet, write a run folder's figures, or (``--key``) compute a key."""
    from sim.cli.common import UsageError
    from sim.teach import exercises

    if args.figures is not None:
        from sim.teach.figures import shown, write_figures

        if not (args.figures / "metadata.json").is_file():
            raise UsageError(f"{args.figures} is not a run folder (no metadata.json); "
                             "make one with `sim run SCENARIO --out FOLDER`")
        path, table = write_figures(args.figures)
        print(f"{args.figures}: all replications pooled (one row per replication in {path.name})")
        print(shown(table))
        print(f"-> {path} and {args.figures / 'daily.csv'}")
        return 0
    if args.number is None:
        for number, exercise in sorted(exercises.EXERCISES.items()):
            print(f"{number}  {exercise.title}  (docs/exercises/{exercise.file_name})")
        return 0
    if (args.write or args.quick) and not args.key:
        raise UsageError("--write and --quick go with --key (see docs/teaching.md)")
    if args.write and args.quick:
        raise UsageError("--write records full answers only; drop --quick")
    numbers = sorted(exercises.EXERCISES)
    if args.number == "all" and args.key:
        chosen = [exercises.EXERCISES[n] for n in numbers]
    else:
        try:
            chosen = [exercises.EXERCISES[int(args.number)]]
        except (KeyError, ValueError):
            raise UsageError(f"no exercise {args.number!r}; choose one of "
                             f"{', '.join(str(n) for n in numbers)}") from None
    if not args.key:
        print(exercises.sheet_text(chosen[0]))
        return 0
    for exercise in chosen:
        answers = exercise.compute(quick=args.quick, workers=os.cpu_count() or 1)
        print(exercises.format_answers(exercise, answers))
        if args.write:
            path = exercises.write_answers(exercise, answers)
            print(f"answers written into {path}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the HTML handout of a run, comparison or validation folder."""
    from sim.cli.common import UsageError
    from sim.teach.report import NotAResultFolder, folder_kind, write_report

    try:
        kind = folder_kind(args.folder)
    except NotAResultFolder as exc:
        raise UsageError(f"{exc}; make one with `sim run`, `sim compare` or `sim validate` "
                         "and --out FOLDER") from None
    out = write_report(args.folder, args.out)
    print(f"{kind} handout written to {out}")
    return 0
