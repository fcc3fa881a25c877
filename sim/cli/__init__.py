"""The command line: parse, call, write, print; every fault ends in one line and an exit status.

Exit codes: 0 success; 1 a run failed or the system refused (a full disk, no
permission, an unreachable cluster); 2 bad input (scenario, options, folders); 130
interrupted (Ctrl-C); 143 stopped (SIGTERM). A traceback is shown only with
``--debug``. Each command group lives in its own module with a ``register(sub)``
function; heavy modules (Mesa, pandas) are imported inside commands so ``sim --help``
is fast.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Sequence

from sim.cli import calibrate, compare, docs, explore, plausible, robust, run, teach
from sim.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, Parser, UsageError

OS_HINTS = {
    errno.EACCES: "no permission; check the folder's permissions or choose another --out",
    errno.EPERM: "not permitted; check the folder's permissions or choose another --out",
    errno.EROFS: "the file system is read-only; choose another --out",
    errno.ENOTDIR: "a part of the path is a file, not a folder; choose another --out",
    errno.EISDIR: "it is a folder, not a file",
    errno.EEXIST: "a file of that name is in the way where a folder is needed; choose "
                  "another --out",
    errno.ENOSPC: "the disk is full; free some space",
    errno.EDQUOT: "the disk quota is exceeded; free some space",
    errno.ENAMETOOLONG: "the path is too long; choose a shorter --out",
    errno.EMFILE: "too many open files; raise the limit (ulimit -n) or use fewer workers",
    errno.ENOENT: "no such file or folder",
    errno.ECONNREFUSED: "nothing answers there; check the scheduler's address and that it runs",
    errno.ETIMEDOUT: "no answer in time; check the address, the network and that it runs",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``sim``."""
    from sim import __version__

    parser = Parser(
        prog="sim", description="Scenario analysis of militia attacks on coalition forces "
        "in Iraq and Syria and the Iraqi government's policy levers.")
    parser.add_argument("--version", action="version", version=f"sim {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (run, compare, calibrate, plausible, explore, robust, teach, docs):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``sim`` and ``python -m sim``."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(words)
    except SystemExit as exc:  # --help, --version, or bad options (the message is out)
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    args.command_line = " ".join(["sim", *words])
    args.resume_with = None  # commands that stream to a folder say how to finish it
    try:
        return _call(args)
    except BrokenPipeError:
        # the reader stopped reading (`sim ... | head`): the work is done, stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _call(args: argparse.Namespace) -> int:
    from sim.experiment.processes import Terminated, stop_on_signals

    try:
        with stop_on_signals():
            return int(args.func(args))
    except KeyboardInterrupt:
        return _stopped(args, "interrupted", 130)
    except Terminated as exc:
        return _stopped(args, f"stopped by {exc}", exc.exit_status)
    except BrokenPipeError:
        raise  # main() ends quietly: the reader of our output went away
    except Exception as exc:
        if args.debug:
            raise
        code, message = explain(exc, args)
        if (code == EXIT_FAILED and args.resume_with and "--resume" not in message
                and resumable(args.resume_with)):
            message += f"; finished chunks are kept: complete it with '{args.resume_with}'"
        print(f"error: {message}", file=sys.stderr)
        return code


def _stopped(args: argparse.Namespace, what: str, code: int) -> int:
    hint = ""
    if args.resume_with and resumable(args.resume_with):
        hint = f"; finished chunks are kept: complete it with '{args.resume_with}'"
    print(f"{what}{hint}", file=sys.stderr)
    return code


def resumable(command: str) -> bool:
    """Whether the folder a ``... --resume OUT`` command names holds an interrupted run."""
    from pathlib import Path

    from sim.experiment.store import PARTIAL

    folder = Path(command.rsplit(" --resume ", 1)[-1])
    return folder.with_name(folder.name + PARTIAL).is_dir()


def explain(exc: Exception, args: argparse.Namespace) -> tuple[int, str]:
    """Exit status and one line for an error that ends a command."""
    from sim.analysis.compare import PairingError
    from sim.analysis.comparison import ComparisonError
    from sim.analysis.record import RecordError
    from sim.experiment.backends import BackendError
    from sim.experiment.results import NotARunFolder
    from sim.scenario.errors import ScenarioError

    if isinstance(exc, (ScenarioError, UsageError, ComparisonError, PairingError, RecordError,
                        NotARunFolder, BackendError)):
        return EXIT_BAD_INPUT, str(exc)
    if isinstance(exc, (FileExistsError, FileNotFoundError)) and exc.errno is None:
        return EXIT_BAD_INPUT, str(exc)  # our own message about a folder's state
    if isinstance(exc, OSError):
        code = EXIT_BAD_INPUT if exc.errno == errno.ENOENT else EXIT_FAILED
        return code, os_message(exc, args.resume_with)
    return EXIT_FAILED, (f"{type(exc).__name__}: {exc} (an internal error; run the command "
                         "again with --debug to see where, and report it)")


def os_message(exc: OSError, resume_with: str | None = None) -> str:
    """'PATH: what went wrong; what to do' for an operating-system error."""
    where = exc.filename or ""
    if exc.filename2:
        where = f"{where} -> {exc.filename2}"
    what = exc.strerror or str(exc) or type(exc).__name__
    hint = OS_HINTS.get(exc.errno or 0, "")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT) and resume_with and resumable(resume_with):
        hint += f", then finish the run with '{resume_with}'"
    text = f"{where}: {what}" if where else what
    return f"{text}; {hint}" if hint else text


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
