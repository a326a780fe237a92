"""Errors that mean "could not run".

Problems *in* a plan are findings (data, see :mod:`xltools.findings`); an
exception from xltools means only that a command could not do its work: an
unreadable file, a broken rule pack, a bad setting. Each carries a message in
words staff understand and, where there is one, the file it is about, so the
command line can print one line and exit with status 2. Messages never name a
command-line option: an error about one of a call's arguments names that
argument in ``setting`` (``"history"``), and the command line adds the option
that sets it (``(--history)``) when it catches the error.
"""

from __future__ import annotations

import os
from pathlib import Path


def shown(path: str | Path) -> str:
    """A file name as text that can always be printed or stored: bytes that are not
    UTF-8 (a name made on another system) shown as \\xNN, never a crash."""
    return os.fsencode(str(path)).decode("utf-8", "backslashreplace")


class XltoolsError(Exception):
    """xltools could not run; ``str()`` is the one-line message for the user."""

    def __init__(
        self, message: str, path: str | Path | None = None, setting: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.setting = setting  # the library argument at fault, for the CLI to name its option

    def __str__(self) -> str:
        return f"{shown(self.path)}: {self.message}" if self.path is not None else self.message


class UnreadableWorkbook(XltoolsError):
    """A workbook could not be read safely (hostile, damaged or not a workbook)."""


class RulePackError(XltoolsError):
    """A rule pack could not be loaded."""


class UnsafeToEdit(XltoolsError):
    """Editing the workbook with openpyxl would lose parts of it (``lost``, in words)."""

    def __init__(self, message: str, path: str | Path | None = None, lost: tuple[str, ...] = ()):
        super().__init__(message, path)
        self.lost = tuple(lost)


class WouldOverwrite(XltoolsError):
    """An output would overwrite the file it is made from."""
