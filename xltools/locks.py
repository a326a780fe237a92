"""Locks between runs: one weekly job at a time, one roll-up to a history at a time.

A lock is a small file holding its holder's process id, locked with the
operating system's own file lock (``flock`` on Linux and macOS, ``msvcrt`` on
Windows). Taking it is one atomic step, so of many runs started at once exactly
one holds it; the lock goes with its holder, so a run killed or a machine
rebooted never leaves a lock that has to be deleted by hand (the file may stay;
it is not the lock, only where the holder's process id is written).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from xltools.errors import XltoolsError

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(handle: int) -> bool:
        try:
            msvcrt.locking(handle, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(handle: int) -> bool:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


class LockHeld(XltoolsError):
    """Another run holds the lock."""


class FileLock:
    """An exclusive lock on ``path``, held for a ``with`` block. Another run is told
    ``what`` holds it (with its process id) and ``advice``."""

    def __init__(self, path: str | Path, what: str, advice: str = "wait for it to finish") -> None:
        self.path, self.what, self.advice = Path(path), what, advice
        self._handle: int | None = None

    def __enter__(self) -> FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if not _try_lock(handle):
                holder = _read_holder(handle)
                os.close(handle)
                by = f" (process {holder})" if holder else ""
                raise LockHeld(f"{self.what}{by}: {self.advice}", self.path)
            # The holder before us may have removed the file between our open and our
            # lock: then we hold a lock on a file nobody else can see. Try again.
            try:
                same = os.path.samestat(os.fstat(handle), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(handle)
        os.ftruncate(handle, 0)
        os.write(handle, f"{os.getpid()}\n".encode())
        self._handle = handle
        return self

    def __exit__(self, *exc_info) -> None:
        if self._handle is not None:
            # Removed while still held, so no later run can lock the old file by mistake.
            self.path.unlink(missing_ok=True)
            os.close(self._handle)
            self._handle = None


def _read_holder(handle: int) -> str:
    try:
        os.lseek(handle, 0, os.SEEK_SET)
        text = os.read(handle, 32).decode("ascii", "replace").split()
    except OSError:
        return ""
    return text[0] if text and text[0].isdigit() else ""
