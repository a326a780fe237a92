"""Writing outputs safely: to a temporary name beside the target, then moved into place.

A crash, a full disk or Ctrl-C while writing never leaves a half-written
register or plan where the user expects a good one: the old file stays until
the new one is complete.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target`` in one step."""
    with scratch_path(target, "tmp") as temporary:
        yield temporary
        os.replace(temporary, target)


@contextlib.contextmanager
def scratch_path(target: str | Path, kind: str = "part") -> Iterator[Path]:
    """Yield a temporary path beside ``target`` (``.NAME.xxxx.KIND.EXT``); always removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f".{kind}{target.suffix}", dir=target.parent
    )
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
    finally:
        temporary.unlink(missing_ok=True)


def write_text(target: str | Path, text: str) -> Path:
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8", newline="\n")
    return Path(target)


def write_bytes(target: str | Path, data: bytes) -> Path:
    with atomic_path(target) as temporary:
        temporary.write_bytes(data)
    return Path(target)


def backup_copy(path: str | Path, now: dt.datetime | None = None) -> Path:
    """Copy ``path`` to ``NAME.backup-YYYYMMDD-HHMMSS.EXT`` beside it, never overwriting."""
    path = Path(path)
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.stem}.backup-{stamp}{path.suffix}")
    counter = 1
    while backup.exists():
        counter += 1
        backup = path.with_name(f"{path.stem}.backup-{stamp}-{counter}{path.suffix}")
    shutil.copy2(path, backup)
    return backup
