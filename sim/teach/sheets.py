"""Run a student sheet's commands as written: its scenario copies, then its `sim` lines.

A sheet's fenced ``sh`` blocks hold one ``sim`` command a line; a fenced ``toml`` block
whose first line is ``# file: NAME`` is a scenario copy the student saves as NAME. The
commands run in order with ``python -m sim`` in a given folder (the repository root,
or a folder laid out like a fresh clone), so what they write lands under it.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
FILE_TAG = "# file: "


class SheetError(RuntimeError):
    """A sheet's block is malformed, or one of its commands failed."""


def blocks(text: str) -> list[tuple[str, str]]:
    """The fenced blocks of a sheet, in order: (language, body)."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(text)]


def prose(text: str) -> str:
    """A sheet without its fenced blocks."""
    return FENCE.sub("", text)


def run_sheet(sheet: Path, folder: Path, timeout: float = 600) -> list[str]:
    """Write the sheet's scenario copies into ``folder`` and run its commands there.

    Returns the command lines run.

    Raises:
        SheetError: on a block that is neither a named toml copy nor ``sh``, a line that
            is not a ``sim`` command, or a command that exits with an error.

    """
    ran = []
    for language, body in blocks(sheet.read_text(encoding="utf-8")):
        if language == "toml":
            first = body.splitlines()[0] if body else ""
            if not first.startswith(FILE_TAG):
                raise SheetError(f"{sheet.name}: a toml block must start with '{FILE_TAG}NAME'")
            (folder / first.removeprefix(FILE_TAG).strip()).write_text(body, encoding="utf-8")
            continue
        if language != "sh":
            raise SheetError(f"{sheet.name}: unexpected ```{language} block")
        for line in filter(None, (x.strip() for x in body.splitlines())):
            words = shlex.split(line)
            if words[0] != "sim":
                raise SheetError(f"{sheet.name}: {line!r} is not a sim command")
            done = subprocess.run([sys.executable, "-m", "sim", *words[1:]], cwd=folder,
                                  capture_output=True, text=True, timeout=timeout)
            if done.returncode != 0:
                raise SheetError(f"{sheet.name}: {line}\n{done.stderr[-2000:]}")
            ran.append(line)
    return ran
