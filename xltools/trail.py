"""Each action's trail: its weeks in the history, and what the committee asks of it.

Committees ask how many times a target date has been revised and what the
original date was. The history holds every week's snapshot, so an action's
**trail** is those snapshots in order, each week marked with what happened to its
due date (first seen, unchanged, slipped, extension granted, brought forward,
removed or set), and whether its status and progress note changed. The
**original due date** is the first one seen; the **revisions** are every change
of due date from one week to the next (slips, granted extensions and dates
brought forward alike).

``export`` writes the whole history as tidy CSV in long form (one row per action
per week) with a data dictionary, for Power BI or Excel's Get Data.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from xltools.errors import XltoolsError
from xltools.fileio import atomic_path, write_text
from xltools.history import History, Snapshot

FIRST_SEEN = "first seen"
UNCHANGED = "unchanged"
SLIPPED = "slipped"
GRANTED = "extension granted"
BROUGHT_FORWARD = "brought forward"
REMOVED = "due date removed"
SET = "due date set"


@dataclass(frozen=True)
class Week:
    """One action in one week of the history."""

    reporting_date: dt.date
    snapshot: Snapshot
    due_change: str  # one of the constants above
    days_moved: int | None  # for slipped / granted / brought forward: how many days
    status_changed: bool
    progress_changed: bool
    carried: bool = False  # the plan was not returned that week: its last state, carried


@dataclass
class Trail:
    """One action's weeks, and its original and current due dates."""

    plan_key: str
    ref: str
    weeks: list[Week] = field(default_factory=list)

    @property
    def action(self) -> str:
        return self.weeks[-1].snapshot.action

    @property
    def original_due(self) -> dt.date | None:
        return next((w.snapshot.due_date for w in self.weeks if w.snapshot.due_date), None)

    @property
    def current_due(self) -> dt.date | None:
        return self.weeks[-1].snapshot.due_date

    def count(self, *changes: str) -> int:
        return sum(week.due_change in changes for week in self.weeks)

    @property
    def revisions(self) -> int:
        return self.count(SLIPPED, GRANTED, BROUGHT_FORWARD)


def trails(history: str | Path, plan: str | None = None, ref: str | None = None) -> list[Trail]:
    """The trails of the actions in a history file (``plan``: text in the plan's name)."""
    return list(iter_trails(history, plan, ref))


def iter_trails(
    history: str | Path, plan: str | None = None, ref: str | None = None
) -> Iterator[Trail]:
    path = Path(history)
    if not path.is_file():
        raise XltoolsError("is not a history file: give the .sqlite file consolidate keeps", path)
    with History(path) as store:
        granted = store.grants()
        grouped = itertools.groupby(
            store.weeks(plan, ref), key=lambda week: (week[1].plan_key, week[1].ref)
        )
        for (plan_key, action_ref), weeks in grouped:
            trail = Trail(plan_key, action_ref)
            before: Snapshot | None = None
            last_due: dt.date | None = None  # weeks without a due date are passed over
            for day, now, carried in weeks:
                trail.weeks.append(_week(day, before, last_due, now, granted, carried))
                before, last_due = now, now.due_date or last_due
            yield trail


def _week(
    day: dt.date, before: Snapshot | None, was, now: Snapshot, granted, carried: bool
) -> Week:
    if before is None:
        return Week(day, now, FIRST_SEEN, None, False, False, carried)
    due = now.due_date
    moved = (due - was).days if was and due and due != was else None
    if due is None:
        change = UNCHANGED if before.due_date is None else REMOVED
    elif was is None:
        change = SET
    elif due == was:
        change = UNCHANGED
    elif due > was:
        change = GRANTED if (now.plan_key, now.ref, due.isoformat()) in granted else SLIPPED
    else:
        change = BROUGHT_FORWARD
    return Week(
        day,
        now,
        change,
        moved,
        before.status != now.status,
        before.progress != now.progress,
        carried,
    )


# --------------------------------------------------------------------------
# Tables: the trail command's CSV and the history export
# --------------------------------------------------------------------------
# The long table, one row per action per week: (column, type, meaning). The data
# dictionary is written from this, so the two never disagree.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("reporting_date", "date (YYYY-MM-DD)", "The week: the reporting date of the run."),
    ("plan", "text", "The plan: organisation / plan title (or the file name)."),
    ("organisation", "text", "The plan's organisation."),
    ("plan_title", "text", "The plan's title."),
    ("ref", "text", "The action's Ref in its plan; with plan, identifies the action."),
    ("action", "text", "The action, as written that week."),
    ("lead_officer", "text", "The lead officer that week."),
    ("status", "text", "The status that week (Not started, On track, ... Withdrawn)."),
    ("due_date", "date (YYYY-MM-DD)", "The due date that week; empty when there was none."),
    ("original_due_date", "date (YYYY-MM-DD)", "The first due date the history saw."),
    (
        "due_date_change",
        "text",
        "What happened to the due date since the week before: first seen, unchanged, "
        "slipped, extension granted, brought forward, due date set, due date removed.",
    ),
    ("days_moved", "whole number", "Days the due date moved (later positive); else empty."),
    (
        "revisions_so_far",
        "whole number",
        "Due date revisions up to and including this week (slips, granted extensions, "
        "dates brought forward).",
    ),
    ("status_changed", "TRUE/FALSE", "Whether the status differs from the week before."),
    (
        "progress_changed",
        "TRUE/FALSE",
        "Whether the progress update differs from the week before.",
    ),
    ("progress_update", "text", "The progress update that week."),
    (
        "carried",
        "TRUE/FALSE",
        "TRUE when the plan was not returned that week: the action's last known state was "
        "carried forward, so nothing in the row is news.",
    ),
)
# Text a spreadsheet would take for a formula if the CSV is opened by double-clicking.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(text: str) -> str:
    """Staff text never becomes a live formula: a leading apostrophe, as Excel itself uses."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _rows(trail: Trail) -> Iterator[list[object]]:
    original = trail.original_due
    revisions = 0
    for week in trail.weeks:
        s = week.snapshot
        revisions += week.due_change in (SLIPPED, GRANTED, BROUGHT_FORWARD)
        yield [
            week.reporting_date.isoformat(),
            _safe(trail.plan_key),
            _safe(s.organisation),
            _safe(s.plan_title),
            _safe(trail.ref),
            _safe(s.action),
            _safe(s.lead),
            s.status,
            s.due_date.isoformat() if s.due_date else "",
            original.isoformat() if original else "",
            week.due_change,
            "" if week.days_moved is None or week.due_change == UNCHANGED else week.days_moved,
            revisions,
            "TRUE" if week.status_changed else "FALSE",
            "TRUE" if week.progress_changed else "FALSE",
            _safe(s.progress),
            "TRUE" if week.carried else "FALSE",
        ]


def _csv_text(header: list[str], rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    # A byte-order mark: Excel then reads the file as UTF-8 (Power BI does either way).
    return "\ufeff" + buffer.getvalue()


def write_trail_csv(selected: Iterable[Trail], path: str | Path) -> tuple[int, int]:
    """The trails as CSV, the export's columns, one row per action per week; streamed, so a
    year of weekly runs is never all in memory. Returns (actions, rows) written."""
    counts = [0, 0]
    with (
        atomic_path(path) as temporary,
        temporary.open("w", encoding="utf-8-sig", newline="") as out,
    ):
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([name for name, _, _ in COLUMNS])
        for trail in selected:
            counts[0] += 1
            for row in _rows(trail):
                counts[1] += 1
                writer.writerow(row)
    return counts[0], counts[1]


@dataclass(frozen=True)
class Export:
    folder: Path
    files: tuple[Path, ...]
    actions: int
    rows: int


# The files ``export`` writes into its folder.
EXPORT_FILES = ("actions_by_week.csv", "runs.csv", "data_dictionary.csv")


def export(history: str | Path, outdir: str | Path) -> Export:
    """Write the history as tidy CSV: ``actions_by_week.csv`` (long form), ``runs.csv``
    and ``data_dictionary.csv``."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    long_path = outdir / "actions_by_week.csv"
    actions, rows = write_trail_csv(iter_trails(history), long_path)
    with History(history) as store:
        runs = store.connection.execute(
            "SELECT reporting_date, recorded_at, plans, actions FROM run ORDER BY reporting_date"
        ).fetchall()
    runs_path = write_text(
        outdir / "runs.csv",
        _csv_text(["reporting_date", "recorded_at", "plans", "actions"], runs),
    )
    dictionary = [
        ("actions_by_week.csv", name, kind, meaning) for name, kind, meaning in COLUMNS
    ] + [
        ("runs.csv", "reporting_date", "date (YYYY-MM-DD)", "A week the register was made."),
        ("runs.csv", "recorded_at", "date-time (UTC)", "When that week's run was recorded."),
        ("runs.csv", "plans", "whole number", "Plans read that week."),
        ("runs.csv", "actions", "whole number", "Actions recorded that week."),
        (
            "(all)",
            "(text)",
            "note",
            "Text starting with = + - or @ is written with a leading apostrophe, so a "
            "spreadsheet opening the file never takes staff text for a formula.",
        ),
    ]
    dictionary_path = write_text(
        outdir / "data_dictionary.csv",
        _csv_text(["file", "column", "type", "meaning"], dictionary),
    )
    return Export(
        outdir,
        (long_path, runs_path, dictionary_path),
        actions,
        rows,
    )
