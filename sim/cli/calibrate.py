"""The ``calibrate`` and ``validate`` subcommands (heavy modules imported inside commands)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from sim.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    UsageError,
    add_engine_options,
    add_wide_option,
    bounded,
    frame_rows,
    number,
    plural,
    positive_int,
    table_text,
    timestamp,
    whole_number,
    workers_count,
)

VALIDATE_MIN_REPS = 20
"""Replications ``validate`` needs: its 90% band is the 5th to 95th percentile."""


def date_value(text: str) -> dt.date:
    """Argparse type: a date YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``calibrate`` and ``validate`` to the ``sim`` command line."""
    p = sub.add_parser(
        "calibrate", help="fit five global coefficients to the record's calibration "
        "window and write scenarios/calibration.toml",
        description="Fit mechanisms.base_propensity, casualty_scale, substitution, "
        "relocation_rate and hardening_gain to the record's figures dated up to the end of "
        "the calibration window (coordinate descent: a grid, then bounded Brent, with common "
        "random numbers); write the fitted values into scenarios/calibration.toml and a "
        "report folder (fit.json, fit_points.csv; default: results/calibration-<timestamp>). "
        "Prints the fitted values and each calibration figure beside the fitted model. "
        "See docs/calibration.md.")
    p.add_argument("--scenario", default="historical_2023_24", metavar="SCENARIO",
                   help="scenario to calibrate (default: historical_2023_24)")
    p.add_argument("--record", type=Path, metavar="FILE",
                   help="record CSV (default: data/record.csv)")
    p.add_argument("--reps", type=bounded("run.replications"), default=40, metavar="N",
                   help="replications per candidate (common random numbers; default: 40)")
    p.add_argument("--seed", type=bounded("run.seed"), default=20231017, metavar="SEED",
                   help="root seed (default: 20231017)")
    p.add_argument("--grid", type=positive_int, default=9, metavar="N",
                   help="grid points per parameter and round (default: 9)")
    p.add_argument("--maxiter", type=lambda t: whole_number(t, 0, 1000, "0..1000"), default=10,
                   metavar="N", help="bounded-Brent iterations after each grid (default: 10; "
                   "0 = grid only)")
    p.add_argument("--rounds", type=positive_int, default=2, metavar="N",
                   help="rounds of coordinate descent (default: 2)")
    p.add_argument("--window-end", type=date_value, metavar="DATE",
                   help="last day of the calibration window (default: 2023-11-14)")
    p.add_argument("--engine", choices=("agents", "ensemble"), default="ensemble",
                   help="ensemble (default): the same tables as the agent engine for the "
                   "same seeds, so the same fit, faster; agents: the Mesa agent model")
    p.add_argument("--workers", type=workers_count, default=1, metavar="W",
                   help="worker processes (default: 1; they never change the result)")
    p.add_argument("--toml", type=Path, metavar="FILE", help="calibration file to rewrite "
                   "(default: scenarios/calibration.toml)")
    p.add_argument("--dry-run", action="store_true", help="fit and report; write no TOML")
    add_wide_option(p)
    p.add_argument("--out", type=Path, metavar="DIR", help="folder for the fit report "
                   "(default: results/calibration-<timestamp>)")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser(
        "validate", help="compare a scenario's output with every dated figure of the public "
        "record within its horizon",
        description="Run a scenario and set its cumulative counts beside every dated figure "
        "of the public record within its horizon: the model's median and 90% band, "
        "coverage and error by window (calibration / test), daily attacks by period. "
        f"Needs at least {VALIDATE_MIN_REPS} replications. Writes validation.csv, "
        "validation.md, the tables and a figure (default: "
        "results/validation-<scenario>-<timestamp>). See docs/calibration.md.")
    p.add_argument("scenario", metavar="SCENARIO", help="scenario file or shipped scenario name")
    p.add_argument("--record", type=Path, metavar="FILE",
                   help="record CSV (default: data/record.csv)")
    p.add_argument("--reps", type=bounded("run.replications"), metavar="N",
                   help=f"replications, at least {VALIDATE_MIN_REPS} (default: the scenario's "
                   "run.replications)")
    p.add_argument("--days", type=bounded("run.days"), metavar="DAYS",
                   help="horizon in days (default: the scenario's run.days)")
    p.add_argument("--seed", type=bounded("run.seed"), metavar="SEED",
                   help="root seed (default: the scenario's run.seed)")
    add_engine_options(p)
    p.add_argument("--workers", type=workers_count, default=1, metavar="W",
                   help="worker processes (default: 1; they never change the result)")
    p.add_argument("--window-end", type=date_value, metavar="DATE",
                   help="last day of the calibration window (default: 2023-11-14)")
    p.add_argument("--out", type=Path, metavar="DIR", help="output folder (default: "
                   "results/validation-<scenario>-<timestamp>)")
    add_wide_option(p)
    p.set_defaults(func=cmd_validate)


def _record(path: Path | None) -> object:
    from sim.analysis.record import RECORD_PATH, RecordError, load_record

    try:
        return load_record(path or RECORD_PATH)
    except (RecordError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from None


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit, report, and (unless --dry-run) rewrite the calibration file."""
    from sim.analysis import calibrate
    from sim.analysis.record import CALIBRATION_END
    from sim.experiment.files import write_folder_atomic
    from sim.scenario.load import load

    spec = load(args.scenario)
    record = _record(args.record)
    settings = calibrate.Settings(replications=args.reps, seed=args.seed, grid_points=args.grid,
                                  maxiter=max(0, args.maxiter), rounds=args.rounds,
                                  window_end=args.window_end or CALIBRATION_END,
                                  engine=args.engine)
    out = args.out or Path("results") / f"calibration-{timestamp()}"
    if out.exists():
        raise UsageError(f"{out} exists already; choose another --out")
    try:
        fit = calibrate.fit(spec, record, settings, args.workers,
                            progress=lambda msg: print(msg, file=sys.stderr))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    report = fit.to_json()
    report["command"] = args.command_line
    report["created"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    target = args.toml or calibrate.CALIBRATION_TOML
    report["written_to"] = None if args.dry_run else str(target)

    def fill(folder: Path) -> None:
        (folder / "fit.json").write_text(json.dumps(report, indent=2, default=str))
        fit.points.to_csv(folder / "fit_points.csv", index=False)

    write_folder_atomic(out, fill)
    if not args.dry_run:
        calibrate.write_calibration(fit.values, target)
    quality = fit.quality()
    print(f"{spec.name}: fitted {plural(len(fit.evaluations), 'candidate')} x "
          f"{plural(settings.replications, 'replication')} x {plural(fit.days, 'day')} in "
          f"{fit.wall_time_s:.1f} s")
    for name, value in fit.values.items():
        print(f"  mechanisms.{name} = {value}")
    print(f"  objective (mean squared relative error of medians) = {quality['objective']:.4f};\n"
          f"  RMS relative error = {quality['rms_rel_error']:.3f}; 90% band covers "
          f"{quality['coverage_90']:.0%} of {plural(quality['points'], 'figure')}")
    shown = fit.points.drop(columns=["outlet"]).assign(date=fit.points["date"].astype(str))
    print(table_text(*frame_rows(shown), keep=1, wide=args.wide))
    print(f"report -> {out}" + ("" if args.dry_run else f"; values written to {target}"))
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    """Run a scenario, compare it with the record, write the tables and the figure."""
    from sim.analysis.record import CALIBRATION_END
    from sim.analysis.validate import validate
    from sim.cli.common import progress_bar
    from sim.experiment import runner
    from sim.scenario.load import load_with_sources

    loaded = load_with_sources(args.scenario)
    spec = loaded.scenario
    record = _record(args.record)
    reps = args.reps or spec.run.replications
    if reps < VALIDATE_MIN_REPS:
        raise UsageError(f"--reps {reps}: validate needs at least {VALIDATE_MIN_REPS} "
                         "replications (its 90% band is the 5th to 95th percentile across "
                         "them)")
    out = args.out or Path("results") / f"validation-{spec.name}-{timestamp()}"
    if out.exists():
        raise UsageError(f"{out} exists already; choose another --out")
    update, close = progress_bar(reps, spec.name)
    try:
        result = runner.run(spec, reps, args.seed, args.days, args.workers, progress=update,
                            engine=args.engine)
    finally:
        close()
    result.metadata["source_hash"] = loaded.source_hash
    check = validate(result, record, args.window_end or CALIBRATION_END)
    check.metadata["command"] = args.command_line
    check.write(out)
    print(f"{spec.name}: {plural(reps, 'replication')} x {plural(result.metadata['days'], 'day')} "
          f"vs {plural(len(check.table), 'dated figure')}")
    print_validation(check, args.wide)
    print(f"-> {out}")
    return EXIT_OK


QUALIFIERS = {"at_least": ">=", "approx": "~", "reported": ""}
"""How the record's qualifiers prefix the observed figure in the printed table."""


def print_validation(check: object, wide: bool = False) -> None:
    """Print the figures (by window), the summary, the patterns and the periods.

    Every table fits 100 columns unless ``wide``, which prints the figures' table with
    all its columns (incurred and null-model values too) as validation.csv holds them.
    """
    from tabulate import tabulate

    from sim.analysis.validate import shown_patterns, shown_table

    table = check.table  # type: ignore[attr-defined]
    if wide:
        print(tabulate(shown_table(table), headers="keys", showindex=False))
    else:
        for window, part in table.groupby("window", sort=False):
            print(f"{window} window:")
            print(tabulate(_figure_rows(part), headers=["date", "metric", "scope", "record",
                                                        "median", "90% band", "in band",
                                                        "rel_error"],
                           disable_numparse=True,
                           colalign=("left", "left", "left", *["right"] * 5)))
            print()
        print("record: >= at least, ~ about; the null model's and incurred values: --wide "
              "or validation.csv")
    print()
    summary = check.summary.assign(  # type: ignore[attr-defined]
        metric=check.summary["metric"].str.replace("cumulative_", "", regex=False))  # type: ignore[attr-defined]
    summary = summary.rename(columns={
        "model_coverage": "coverage", "model_mean_abs_rel_error": "mean |rel err|",
        "null_coverage": "null coverage", "null_mean_abs_rel_error": "null |rel err|"})
    print(table_text(*frame_rows(summary), keep=2, wide=wide,
                     align=["left", "left", *["right"] * (len(summary.columns) - 2)]))
    print()
    print(tabulate(shown_patterns(check.patterns), headers="keys",  # type: ignore[attr-defined]
                   showindex=False, maxcolwidths=None if wide else [26, 20, None, 12, None, 18],
                   disable_numparse=True))
    print()
    periods = check.periods.drop(columns=["first", "last"]).rename(columns={  # type: ignore[attr-defined]
        "attacks_per_day_median": "a day", "attacks_per_day_p5": "p5",
        "attacks_per_day_p95": "p95", "share_days_with_attack": "days hit"})
    headers, rows = frame_rows(periods)
    print("a day: median attacks a day (p5, p95: across replications); days hit: the share "
          "of days with one")
    print(tabulate(rows, headers=headers, disable_numparse=True,
                   maxcolwidths=None if wide else [None] * (len(headers) - 1) + [32],
                   colalign=("left", *["right"] * (len(headers) - 2), "left")))


def _figure_rows(part: object) -> list[list[str]]:
    """The figures of one window: record (with its qualifier), median, band, error."""
    rows = []
    for r in part.itertuples():  # type: ignore[attr-defined]
        rows.append([str(r.date), r.metric.replace("cumulative_", ""), r.scope,
                     f"{QUALIFIERS.get(r.qualifier, '')}{r.observed:.0f}",
                     number(r.model_median, 1),
                     f"{number(r.model_p5, 1)}-{number(r.model_p95, 1)}",
                     "yes" if r.covered else "NO", number(r.rel_error, 2, sign=True)])
    return rows
