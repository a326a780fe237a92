"""The roll-up step as the command and the weekly job run it: consolidate, then the register.

:func:`consolidate_to` is :func:`xltools.consolidate.consolidate` with the register
written before the week is committed to the history, so the two land together: a
register that cannot be written (a full disk, a read-only folder, a kill) leaves the
history at the previous week. It sits above both the roll-up and the register writer,
which know nothing of each other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from xltools.consolidate import Consolidation, consolidate, default_history
from xltools.fileio import remove_leftovers
from xltools.register import write_register
from xltools.rules import RulePack


def consolidate_to(
    inbox: str | Path,
    register: str | Path,
    reporting_date: dt.date | None = None,
    rules: str | Path | RulePack = "default",
    history: str | Path | None = None,
    packs: str | Path | None = None,
    progress: Callable[[Path], None] | None = None,
    workers: int | None = None,
) -> Consolidation:
    """The roll-up step: consolidate ``inbox``, keep the history, write the register.

    What ``xltools consolidate`` and the weekly job both run. The history is kept in
    ``history``, by default beside the register (:func:`default_history`). What killed
    runs of this tool left beside the register is removed first (only theirs).
    """
    remove_leftovers(Path(register).parent)
    return consolidate(
        inbox,
        reporting_date,
        rules,
        history if history is not None else default_history(register),
        progress=progress,
        workers=workers,
        packs=packs,
        before_commit=lambda result: write_register(result, register),
    )
