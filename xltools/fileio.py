"""Writing outputs safely: to a temporary name beside the target, then moved into place.

A crash, a full disk or Ctrl-C while writing never leaves a half-written
register or plan where the user expects a good one: the old file stays until
the new one is complete. Outputs get the permissions the umask gives a new file
(0644 under umask 0022), not the private 0600 of a temporary file; a file
replaced keeps its own permissions.

Every temporary name carries ``xltools-PID-``: a run killed outright (``kill
-9``, a power cut) leaves files only this tool made, and
:func:`remove_leftovers` takes away those whose process is gone, and nothing else.
A failure to write becomes an :class:`~xltools.errors.XltoolsError` naming the
file the user asked for (never the temporary one) and what to do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from xltools.errors import XltoolsError

# The mark in every temporary name this tool makes: whose they are, and which process.
SCRATCH_MARK = "xltools-"
_LEFTOVER = re.compile(r"(?:^|\.)xltools-(\d+)-")


def new_file_mode() -> int:
    """The permissions a new file gets under the process's umask (0644 under 0022)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def output_error(target: str | Path, error: OSError) -> XltoolsError:
    """A failed write as one line naming the file the user asked for and what to do."""
    code = getattr(error, "errno", None)
    if code == errno.ENOSPC or code == errno.EDQUOT:
        what = "the disk is full (or over its quota): free some space and run again"
    elif code == errno.EROFS:
        what = "the folder is on a read-only drive: write to a folder you can change"
    elif code in (errno.EACCES, errno.EPERM):
        what = "no permission to write there: write to a folder you can change"
    elif code == errno.ENOENT:
        what = "the folder does not exist: create it or choose another"
    else:
        reason = getattr(error, "strerror", None) or "an error from the operating system"
        what = f"could not be written ({reason.lower()}): check the folder and run again"
    return XltoolsError(f"could not write: {what}", target)


@contextlib.contextmanager
def writing(target: str | Path) -> Iterator[None]:
    """Turn a failure to write ``target`` (or its temporary files) into one clear line."""
    try:
        yield
    except XltoolsError:
        raise
    except Exception as error:
        # Libraries wrap the operating system's error in their own (xlsxwriter's
        # FileCreateError holds it as its argument).
        cause = error if isinstance(error, OSError) else _os_error_in(error)
        if cause is None:
            raise
        _close_abandoned(error)
        raise output_error(target, cause) from None


def _close_abandoned(error: BaseException) -> None:
    """Close the zip files a failed writer left open (openpyxl does not close its own on
    an error), now, rather than at exit, where closing fails again on the same full disk
    and Python prints that second failure with a traceback. That second failure says
    nothing the first did not, so it is not reported again."""
    import zipfile

    seen: set[int] = set()
    while error is not None and id(error) not in seen:  # the error and the one it wraps
        seen.add(id(error))
        trace = error.__traceback__
        while trace is not None:
            for value in list(trace.tb_frame.f_locals.values()):
                if isinstance(value, zipfile.ZipFile) and value.fp is not None:
                    with contextlib.suppress(OSError):  # the failure being reported, again
                        value.close()
            trace = trace.tb_next
        error = error.__cause__ or error.__context__


def _os_error_in(error: BaseException) -> OSError | None:
    for candidate in (*error.args, error.__cause__, error.__context__):
        if isinstance(candidate, OSError):
            return candidate
    return None


@contextlib.contextmanager
def atomic_path(target: str | Path, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target`` in one step.

    The result has ``mode`` if given (a private key's 0600), else the permissions of the
    file it replaces (``colour --in-place`` keeps a workbook's own), else, for a new
    file, those the umask gives (0644 under 0022).
    """
    with writing(target), scratch_path(target, "tmp") as temporary:
        if mode is not None:
            os.chmod(temporary, mode)  # before anything secret is written
        yield temporary
        if mode is None:
            try:
                mode = os.stat(target).st_mode & 0o7777
            except FileNotFoundError:
                mode = new_file_mode()
        os.chmod(temporary, mode)
        os.replace(temporary, target)


@contextlib.contextmanager
def scratch_path(target: str | Path, kind: str = "part") -> Iterator[Path]:
    """Yield a temporary path beside ``target`` (``.NAME.xltools-PID-xxxx.KIND.EXT``);
    always removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(
        prefix=f".{target.stem}.{SCRATCH_MARK}{os.getpid()}-",
        suffix=f".{kind}{target.suffix}",
        dir=target.parent,
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


def scratch_folder(kind: str) -> tempfile.TemporaryDirectory:
    """A temporary folder of this process's (``xltools-PID-KIND-xxxx``), for work files."""
    return tempfile.TemporaryDirectory(prefix=f"{SCRATCH_MARK}{os.getpid()}-{kind}-")


def remove_leftovers(*folders: str | Path) -> list[Path]:
    """Remove what runs of this tool that were killed left behind: temporary files beside
    outputs in ``folders`` and work folders in the system's temporary folder, each named
    with the mark and the process id of a process that no longer exists. Nothing else
    is touched, and nothing of a run still going. Returns what was removed."""
    removed = []
    places = [Path(tempfile.gettempdir()), *map(Path, folders)]
    for place in dict.fromkeys(places):
        try:
            entries = list(place.iterdir())
        except OSError:
            continue
        for entry in entries:
            match = _LEFTOVER.search(entry.name)
            in_temp = place == places[0]
            if match is None or (in_temp and not entry.name.startswith(SCRATCH_MARK)):
                continue
            if not in_temp and not entry.name.startswith("."):
                continue  # beside outputs, ours are always hidden names
            if _alive(int(match.group(1))):
                continue
            try:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
            except OSError:
                continue  # someone else's to remove (permissions), or already gone
            removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, but is another user's
    return True
