"""Where files are written: atomic files and folders, with the user's umask and kept modes.

Every file the tool writes goes through these functions. A file is written to a
temporary name beside it and renamed into place; a folder is filled under a temporary
name and renamed when complete. Nothing half-written is left behind, new files and
folders follow the user's umask, and a rewritten file keeps its mode.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def write_bytes_atomic(path: Path, data: bytes, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    A new file gets the mode the umask allows (as ``open`` would give it); an existing
    file keeps its mode. ``durable`` flushes the data to the disk before the rename (a
    finished result survives a power cut); progress markers, which a resume can
    re-create, skip it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_name(path)
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.filename is None:  # a write to a full disk names no file: name it
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str, durable: bool = True) -> Path:
    """Write UTF-8 text atomically (see :func:`write_bytes_atomic`)."""
    return write_bytes_atomic(path, text.encode("utf-8"), durable)


def write_json(path: Path, data: Any, durable: bool = True) -> Path:
    """Write JSON atomically (dates and other objects as strings)."""
    return write_text_atomic(path, json.dumps(data, indent=1, default=str), durable)


def write_folder_atomic(out: Path, fill: Callable[[Path], Any]) -> Path:
    """Create the folder ``out`` by filling a temporary sibling folder and renaming it.

    Args:
        out: the folder to create; it must not exist.
        fill: called with the temporary folder; writes the files.

    Raises:
        FileExistsError: when ``out`` exists already.

    """
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} exists already; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_name(out)
    os.mkdir(tmp, 0o777)
    try:
        fill(tmp)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
