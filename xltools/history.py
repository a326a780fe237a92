"""History: each run's snapshot of every action, and what changed since the last one.

The history is one SQLite file (an embedded database, no server). Each run
stores a snapshot of every action, keyed by plan (organisation and plan title,
or the file name when those are missing) and Ref, under its reporting date.
Storing a second run for the same reporting date replaces that snapshot in one
transaction, so re-running a week is idempotent.

``compare`` sets a snapshot beside the one before it: new actions, actions
gone, status changes (better or worse), due dates moved (slippage, with how many
times the action has slipped in its history), actions newly complete, and
progress updates that have now stood unchanged for ``model.STALE_PROGRESS_DAYS``.
A progress update is a change once, in the week it becomes stale; in later weeks it
is only counted (``Comparison.still_stale``), so the same note is not listed every week.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

from xltools import model
from xltools.errors import XltoolsError
from xltools.words import plural, times

# The history's schema, as an ordered list of migrations: migration N takes a history
# from version N to N+1 (``PRAGMA user_version``). A new table or column is one more
# entry appended at the end; an entry already released is never edited.
MIGRATIONS: list[str] = [
    # 0 -> 1: snapshots of every action, one row per run.
    """
    CREATE TABLE IF NOT EXISTS snapshot (
        reporting_date TEXT NOT NULL,
        plan_key TEXT NOT NULL,
        ref TEXT NOT NULL,
        organisation TEXT,
        plan_title TEXT,
        action TEXT,
        lead TEXT,
        status TEXT,
        due_date TEXT,
        progress TEXT,
        PRIMARY KEY (reporting_date, plan_key, ref)
    );
    -- One action's history, for its slips and how long its progress has stood still.
    CREATE INDEX IF NOT EXISTS snapshot_by_action ON snapshot (plan_key, ref, reporting_date);
    CREATE TABLE IF NOT EXISTS run (
        reporting_date TEXT PRIMARY KEY,
        recorded_at TEXT NOT NULL,
        plans INTEGER NOT NULL,
        actions INTEGER NOT NULL
    );
    """,
    # 1 -> 2: a plan not returned this week has its actions carried at their last
    # known state, marked so (carried = 1), instead of being recorded as gone.
    """
    ALTER TABLE snapshot ADD COLUMN carried INTEGER NOT NULL DEFAULT 0;
    """,
    # 2 -> 3: due-date revisions the coordinator granted (merge --grant), so a move to
    # the granted date shows as an extension granted, not a slip nobody announced.
    """
    CREATE TABLE IF NOT EXISTS extension_grant (
        plan_key TEXT NOT NULL,
        ref TEXT NOT NULL,
        new_due TEXT NOT NULL,
        old_due TEXT,
        granted_on TEXT NOT NULL,
        PRIMARY KEY (plan_key, ref, new_due)
    );
    """,
    # 3 -> 4: each run's headline counts, as its register's Summary showed them, for the
    # register's Trend sheet and "since the last run" (RAG needs the grade, which the
    # snapshots do not keep, so the counts are kept as they were worked out).
    """
    CREATE TABLE IF NOT EXISTS run_counts (
        reporting_date TEXT PRIMARY KEY,
        actions INTEGER NOT NULL,
        open INTEGER NOT NULL,
        overdue INTEGER NOT NULL,
        due_soon INTEGER NOT NULL,
        complete INTEGER NOT NULL,
        slipped INTEGER NOT NULL,
        red INTEGER NOT NULL,
        amber INTEGER NOT NULL,
        green INTEGER NOT NULL,
        blue INTEGER NOT NULL,
        grey INTEGER NOT NULL,
        no_colour INTEGER NOT NULL
    );
    """,
    # 4 -> 5: each snapshot row carries its action's trail figures so far (the first due
    # date seen, the last one seen, how many times it was revised), worked out from the
    # action's row before it when the run is recorded. The register then reads one run's
    # rows instead of walking the whole history every week. Older rows are filled here.
    """
    ALTER TABLE snapshot ADD COLUMN original_due TEXT;
    ALTER TABLE snapshot ADD COLUMN last_due TEXT;
    ALTER TABLE snapshot ADD COLUMN revisions INTEGER NOT NULL DEFAULT 0;
    WITH dated AS (
        SELECT plan_key, ref, reporting_date, due_date,
               FIRST_VALUE(due_date) OVER action AS first,
               LAG(due_date) OVER action AS before
        FROM snapshot WHERE due_date IS NOT NULL
        WINDOW action AS (PARTITION BY plan_key, ref ORDER BY reporting_date)
    ),
    counted AS (
        SELECT plan_key, ref, reporting_date, first,
               SUM(before IS NOT NULL AND before != due_date)
                   OVER (PARTITION BY plan_key, ref ORDER BY reporting_date) AS revised
        FROM dated
    )
    UPDATE snapshot SET original_due = counted.first, last_due = snapshot.due_date,
                        revisions = counted.revised
    FROM counted
    WHERE counted.plan_key = snapshot.plan_key AND counted.ref = snapshot.ref
      AND counted.reporting_date = snapshot.reporting_date;
    -- A row with no due date carries the figures of its action's last dated row.
    UPDATE snapshot AS s SET
        original_due = (SELECT p.original_due FROM snapshot AS p
                        WHERE p.plan_key = s.plan_key AND p.ref = s.ref
                          AND p.reporting_date < s.reporting_date AND p.due_date IS NOT NULL
                        ORDER BY p.reporting_date DESC LIMIT 1),
        last_due = (SELECT p.last_due FROM snapshot AS p
                    WHERE p.plan_key = s.plan_key AND p.ref = s.ref
                      AND p.reporting_date < s.reporting_date AND p.due_date IS NOT NULL
                    ORDER BY p.reporting_date DESC LIMIT 1),
        revisions = COALESCE((SELECT p.revisions FROM snapshot AS p
                              WHERE p.plan_key = s.plan_key AND p.ref = s.ref
                                AND p.reporting_date < s.reporting_date
                                AND p.due_date IS NOT NULL
                              ORDER BY p.reporting_date DESC LIMIT 1), 0)
    WHERE s.due_date IS NULL;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
# How long to wait for another process to finish with the history before giving up.
LOCK_WAIT_SECONDS = 10.0
FIELDS = ("organisation", "plan_title", "action", "lead", "status", "due_date", "progress")
# Each row's trail figures so far (see migration 4 -> 5 and ``Recording.add``).
TRAIL_FIELDS = ("original_due", "last_due", "revisions")


class Snapshot(NamedTuple):
    """One action as it stood at a reporting date (a tuple: a register makes 100,000)."""

    plan_key: str
    ref: str
    organisation: str
    plan_title: str
    action: str
    lead: str
    status: str
    due_date: dt.date | None
    progress: str


@dataclass(frozen=True)
class Change:
    kind: str  # a key of CHANGE_KINDS
    plan: str
    ref: str
    action: str
    old: str
    new: str
    detail: str
    times_slipped: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class NotReturned:
    """A plan returned before and not this week: its actions are carried at their last
    known state (in the history, marked as carried), not counted as gone."""

    plan: str
    last_returned: dt.date | None
    actions: int

    def to_dict(self) -> dict:
        last = self.last_returned.isoformat() if self.last_returned else None
        return {"plan": self.plan, "last_returned": last, "actions": self.actions}


CHANGE_KINDS = {
    "new": "New action",
    "gone": "Action no longer in the plan",
    "not-returned": "Plan not returned this week (actions carried at their last state)",
    "status-better": "Status improved",
    "status-worse": "Status worsened",
    "status": "Status changed",
    "complete": "Newly complete",
    "slipped": "Due date slipped",
    "extension-granted": "Due date extended (granted)",
    "brought-forward": "Due date brought forward",
    "stale-progress": "Progress update now unchanged for four weeks",
}


# The RAG labels in the order run_counts keeps them ("" is no colour).
_RAG_FIELDS = (
    (model.RED, "red"),
    (model.AMBER, "amber"),
    (model.GREEN, "green"),
    (model.BLUE, "blue"),
    (model.GREY, "grey"),
    ("", "no_colour"),
)


@dataclass(frozen=True)
class RunCounts:
    """One run's headline counts: a row of the register's Trend sheet.

    ``open``: actions neither Complete nor Withdrawn; ``slipped``: actions whose due
    date moved later since the run before; ``rag``: actions per RAG label ("" is no
    colour). ``estimated`` is true for a run recorded before the counts were kept,
    worked out again from its snapshot (without grades, so a Not started action with
    a grade counts as no colour).
    """

    reporting_date: dt.date
    actions: int
    open: int
    overdue: int
    due_soon: int
    complete: int
    slipped: int
    rag: dict[str, int]
    estimated: bool = False

    def figure(self, name: str) -> int:
        """A count by its field name (``"overdue"``) or RAG label (``"Red"``, ``""``)."""
        return self.rag[name] if name in self.rag else getattr(self, name)

    def to_dict(self) -> dict:
        return {
            "reporting_date": self.reporting_date.isoformat(),
            "actions": self.actions,
            "open": self.open,
            "overdue": self.overdue,
            "due_soon": self.due_soon,
            "complete": self.complete,
            "slipped": self.slipped,
            "rag": {(label or "None"): count for label, count in self.rag.items()},
        }


# The headline counts compared with the last run, by RunCounts field.
HEADLINE_FIGURES = ("actions", "open", "overdue", "due_soon", "complete", "slipped")


def previous_counts(trend: Sequence[RunCounts], reporting_date: dt.date) -> RunCounts | None:
    """The counts of the last run before ``reporting_date`` in a trend, if there is one."""
    earlier = [counts for counts in trend if counts.reporting_date < reporting_date]
    return earlier[-1] if earlier else None


def since_last_run(
    trend: Sequence[RunCounts], reporting_date: dt.date
) -> dict[str, tuple[int, int]]:
    """Each headline count at the last run and now: ``{"overdue": (8, 13), ...}``.

    Empty when the trend has no earlier run, or no row for ``reporting_date``.
    """
    before = previous_counts(trend, reporting_date)
    now = next((c for c in trend if c.reporting_date == reporting_date), None)
    if before is None or now is None:
        return {}
    return {name: (before.figure(name), now.figure(name)) for name in HEADLINE_FIGURES}


def plan_key(organisation: object, plan_title: object, source_file: str) -> str:
    """How a plan is known across weeks: organisation and title, else its file name."""
    if organisation and plan_title:
        return f"{str(organisation).strip()} / {str(plan_title).strip()}"
    return source_file


class Recording:
    """A run's snapshot being written: ``add`` each plan's actions as they come.

    Each row is stored with its action's trail figures so far: the first due date
    seen, the last one seen and how many times it has been revised, carried on from
    the action's row before it (in the run before, or for an action missing from
    that run, its latest row). One plan's earlier rows are read once, so a year of
    weekly runs costs a run no more than the first did. Re-recording a week that
    later weeks follow leaves their figures as they were recorded.
    """

    def __init__(self, connection: sqlite3.Connection, day: str) -> None:
        self.connection, self.day = connection, day
        self.plans = self.actions = 0
        (self.previous_day,) = connection.execute(
            "SELECT MAX(reporting_date) FROM run WHERE reporting_date < ?", (day,)
        ).fetchone()

    def add(self, snapshots: Iterable[Snapshot]) -> list[tuple[dt.date | None, int | None]]:
        """Store one plan's actions; return each one's trail figures as stored: its
        original due date and how many times it was revised (``(None, None)`` for an
        action that has never had a due date), for the register's rows."""
        snapshots = list(snapshots)
        before = self._trails_before(snapshots)
        rows, trails = [], []
        for s in snapshots:
            due = s.due_date.isoformat() if s.due_date else None
            original, last, revisions = before.get(s.ref) or (None, None, 0)
            revised = due is not None and last is not None and due != last
            if original is not None:
                trails.append((dt.date.fromisoformat(original), revisions + revised))
            else:
                trails.append((s.due_date, revisions + revised) if due else (None, None))
            rows.append(
                (
                    self.day,
                    s.plan_key,
                    s.ref,
                    s.organisation,
                    s.plan_title,
                    s.action,
                    s.lead,
                    s.status,
                    due,
                    s.progress,
                    original or due,
                    due or last,
                    revisions + revised,
                )
            )
        self.connection.executemany(
            "INSERT OR REPLACE INTO snapshot (reporting_date, plan_key, ref, "
            + ", ".join((*FIELDS, *TRAIL_FIELDS))
            + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        self.plans += 1
        self.actions += len(rows)
        return trails

    def _trails_before(self, snapshots: list[Snapshot]) -> dict[str, tuple]:
        """Ref -> (original due, last due, revisions) as of each action's row before this run."""
        if not snapshots or self.previous_day is None:
            return {}
        plan_key = snapshots[0].plan_key
        before = {
            ref: tuple(trail)
            for ref, *trail in self.connection.execute(
                "SELECT ref, " + ", ".join(TRAIL_FIELDS) + " FROM snapshot"
                " WHERE reporting_date = ? AND plan_key = ?",
                (self.previous_day, plan_key),
            )
        }
        for s in snapshots:  # new this run, or back after a gap: its latest row, if any
            if s.ref not in before:
                row = self.connection.execute(
                    "SELECT " + ", ".join(TRAIL_FIELDS) + " FROM snapshot"
                    " WHERE plan_key = ? AND ref = ? AND reporting_date < ?"
                    " ORDER BY reporting_date DESC LIMIT 1",
                    (plan_key, s.ref, self.day),
                ).fetchone()
                if row is not None:
                    before[s.ref] = row
        return before

    def carry_forward(self, returned: set[str]) -> list[NotReturned]:
        """Carry the actions of every plan in the previous run and not in ``returned`` into
        this run, at their last known state and marked as carried; say which plans."""
        previous = self.connection.execute(
            "SELECT MAX(reporting_date) FROM run WHERE reporting_date < ?", (self.day,)
        ).fetchone()[0]
        if previous is None:
            return []
        missing = [
            key
            for (key,) in self.connection.execute(
                "SELECT DISTINCT plan_key FROM snapshot WHERE reporting_date = ? ORDER BY 1",
                (previous,),
            )
            if key not in returned
        ]
        result = []
        for key in missing:
            cursor = self.connection.execute(
                "INSERT OR REPLACE INTO snapshot (reporting_date, plan_key, ref, "
                + ", ".join((*FIELDS, *TRAIL_FIELDS))
                + ", carried) SELECT ?, plan_key, ref, "
                + ", ".join((*FIELDS, *TRAIL_FIELDS))
                + ", 1 FROM snapshot WHERE reporting_date = ? AND plan_key = ?",
                (self.day, previous, key),
            )
            (last_returned,) = self.connection.execute(
                "SELECT MAX(reporting_date) FROM snapshot WHERE plan_key = ? AND carried = 0"
                " AND reporting_date < ?",
                (key, self.day),
            ).fetchone()
            result.append(
                NotReturned(
                    key,
                    dt.date.fromisoformat(last_returned) if last_returned else None,
                    cursor.rowcount,
                )
            )
        return result


class History:
    """The SQLite history file. Use as a context manager.

    Opening it brings an older schema up to date (see ``MIGRATIONS``) and refuses a
    newer one; another process holding it is waited for, a bounded time.
    """

    def __init__(self, path: str | Path, wait_seconds: float | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        wait = LOCK_WAIT_SECONDS if wait_seconds is None else wait_seconds
        try:
            self.connection = sqlite3.connect(self.path, timeout=wait)
        except sqlite3.Error as error:
            raise history_error(self.path, error) from None
        try:
            self._migrate()
        except sqlite3.Error as error:
            self.connection.close()
            raise history_error(self.path, error) from None
        except XltoolsError:
            self.connection.close()
            raise

    def _migrate(self) -> None:
        (version,) = self.connection.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise XltoolsError(
                f"the history was written by a newer xltools (history version {version}; "
                f"this xltools reads up to {SCHEMA_VERSION}): upgrade xltools (pip install "
                "--upgrade xltools) and run again",
                self.path,
            )
        for number in range(version, SCHEMA_VERSION):
            # Each step and its version number in one transaction: a step is done or not.
            self.connection.executescript(
                f"BEGIN IMMEDIATE; {MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; "
                "COMMIT;"
            )

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc_info) -> None:
        self.connection.close()

    def store(self, reporting_date: dt.date, snapshots: Iterable[Snapshot], plans: int) -> None:
        """Store a run's snapshot, replacing any earlier one for the same reporting date."""
        with self.recording(reporting_date) as recording:
            recording.add(snapshots)
            recording.plans = plans

    @contextlib.contextmanager
    def recording(self, reporting_date: dt.date) -> Iterator[Recording]:
        """Record a run's snapshot plan by plan, in one transaction that replaces any
        earlier snapshot for the same reporting date when it ends (and none if it fails)."""
        day = reporting_date.isoformat()
        recording = Recording(self.connection, day)
        with self.connection:
            self.connection.execute("DELETE FROM snapshot WHERE reporting_date = ?", (day,))
            # The run is known from the start, so that the changes can be worked out
            # before the transaction ends (the register is written before it commits).
            self.connection.execute(
                "INSERT OR REPLACE INTO run VALUES (?,?,?,?)",
                (day, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), 0, 0),
            )
            yield recording
            self.connection.execute(
                "UPDATE run SET plans = ?, actions = ? WHERE reporting_date = ?",
                (recording.plans, recording.actions, day),
            )

    def record_grant(
        self,
        plan_key: str,
        ref: str,
        new_due: dt.date,
        old_due: dt.date | None,
        granted_on: dt.date,
    ) -> None:
        """Record that the coordinator granted moving an action's due date to ``new_due``
        (within a run's recording, as part of its transaction)."""
        row = (
            plan_key,
            ref,
            new_due.isoformat(),
            old_due.isoformat() if old_due else None,
            granted_on.isoformat(),
        )
        statement = "INSERT OR IGNORE INTO extension_grant VALUES (?,?,?,?,?)"
        if self.connection.in_transaction:
            self.connection.execute(statement, row)  # committed with the run, or not at all
            return
        with self.connection:
            self.connection.execute(statement, row)

    def grants(self) -> dict[tuple[str, str, str], str]:
        """Granted revisions: (plan key, Ref, new due date ISO) -> the date granted (ISO)."""
        rows = self.connection.execute(
            "SELECT plan_key, ref, new_due, granted_on FROM extension_grant"
        )
        return {(plan, ref, due): on for plan, ref, due, on in rows}

    def times_slipped(self, plan_key: str, ref: str, up_to: dt.date) -> int:
        """How often an action's due date has moved later in the history, up to ``up_to``."""
        return self._times_slipped((plan_key, ref), up_to)

    def due_date_revisions(self, up_to: dt.date) -> dict[tuple[str, str], tuple[dt.date, int]]:
        """Each action's original due date (the first one seen) and how many times it has
        been revised since (every change between one week and the next), as of its latest
        row up to ``up_to`` (actions that never had a due date are left out)."""
        rows = self.connection.execute(
            # SQLite takes the bare columns from the row where MAX() is found.
            "SELECT plan_key, ref, original_due, revisions, MAX(reporting_date) FROM snapshot"
            " WHERE reporting_date <= ? GROUP BY plan_key, ref",
            (up_to.isoformat(),),
        )
        return {
            (plan, ref): (dt.date.fromisoformat(first), revisions)
            for plan, ref, first, revisions, _ in rows
            if first is not None
        }

    def run_trails(self, reporting_date: dt.date) -> dict[tuple[str, str], tuple[dt.date, int]]:
        """``due_date_revisions`` for the actions of one run only: what its register shows.
        Reads that run's rows alone, however long the history is."""
        rows = self.connection.execute(
            "SELECT plan_key, ref, original_due, revisions FROM snapshot"
            " WHERE reporting_date = ? AND original_due IS NOT NULL",
            (reporting_date.isoformat(),),
        )
        return {
            (plan, ref): (dt.date.fromisoformat(first), revisions)
            for plan, ref, first, revisions in rows
        }

    def carried_actions(self, reporting_date: dt.date) -> list[Snapshot]:
        """The actions carried at ``reporting_date`` (their plan was not returned), as they
        stood when last returned, plan by plan."""
        rows = self.connection.execute(
            "SELECT plan_key, ref, " + ", ".join(FIELDS) + " FROM snapshot"
            " WHERE reporting_date = ? AND carried = 1 ORDER BY plan_key, rowid",
            (reporting_date.isoformat(),),
        )
        return [_snapshot(fields) for fields in rows]

    def weeks(
        self, plan: str | None = None, ref: str | None = None
    ) -> Iterator[tuple[dt.date, Snapshot, bool]]:
        """Every action's snapshots, action by action, week by week (oldest first), each
        with whether it was carried (its plan not returned that week).

        ``plan``: only plans whose key holds this text (any case); ``ref``: only this Ref.
        """
        query = (
            "SELECT reporting_date, carried, plan_key, ref, " + ", ".join(FIELDS) + " FROM snapshot"
        )
        where, values = [], []
        if plan:
            where.append("instr(lower(plan_key), lower(?)) > 0")
            values.append(plan)
        if ref:
            where.append("ref = ?")
            values.append(ref)
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY plan_key, ref, reporting_date"
        for day, carried, *fields in self.connection.execute(query, values):
            yield dt.date.fromisoformat(day), _snapshot(fields), bool(carried)

    def record_counts(self, counts: RunCounts) -> None:
        """Keep a run's headline counts (within its recording: committed with the run)."""
        row = (
            counts.reporting_date.isoformat(),
            counts.actions,
            counts.open,
            counts.overdue,
            counts.due_soon,
            counts.complete,
            counts.slipped,
            *(counts.rag.get(label, 0) for label, _ in _RAG_FIELDS),
        )
        statement = f"INSERT OR REPLACE INTO run_counts VALUES ({','.join('?' * len(row))})"
        if self.connection.in_transaction:
            self.connection.execute(statement, row)
            return
        with self.connection:
            self.connection.execute(statement, row)

    def trend(self, up_to: dt.date) -> list[RunCounts]:
        """Each run's counts up to ``up_to``, oldest first: kept ones, else worked out again."""
        kept = {}
        rag_columns = ", ".join(name for _, name in _RAG_FIELDS)
        for (
            day,
            actions,
            open_,
            overdue,
            due_soon,
            complete,
            slipped,
            *rag,
        ) in self.connection.execute(
            "SELECT reporting_date, actions, open, overdue, due_soon, complete, slipped, "
            f"{rag_columns} FROM run_counts WHERE reporting_date <= ?",
            (up_to.isoformat(),),
        ):
            date = dt.date.fromisoformat(day)
            kept[date] = RunCounts(
                date, actions, open_, overdue, due_soon, complete, slipped,
                {label: count for (label, _), count in zip(_RAG_FIELDS, rag, strict=True)},
            )  # fmt: skip
        dates = [d for d in self.reporting_dates() if d <= up_to]
        previous = dict(zip(dates[1:], dates, strict=False))
        return [
            kept.get(day) or self._counts_from_snapshot(day, previous.get(day)) for day in dates
        ]

    def _counts_from_snapshot(self, day: dt.date, before: dt.date | None) -> RunCounts:
        """A run recorded before counts were kept: its counts from its snapshot."""
        rag = {label: 0 for label, _ in _RAG_FIELDS}
        actions = open_ = overdue = due_soon = complete = 0
        for status, due, count in self.connection.execute(
            "SELECT status, due_date, COUNT(*) FROM snapshot WHERE reporting_date = ? "
            "AND carried = 0 GROUP BY status, due_date",
            (day.isoformat(),),
        ):
            due_date = dt.date.fromisoformat(due) if due else None
            label = model.derive_rag(status, None, due_date, day)
            actions += count
            rag[label.label] += count
            open_ += count * ((status or "").strip() not in model.CLOSED_STATUSES)
            overdue += count * label.overdue
            due_soon += count * model.is_due_soon(status, due_date, day)
            complete += count * ((status or "").strip() == model.COMPLETE)
        slipped = 0
        if before is not None:
            (slipped,) = self.connection.execute(
                "SELECT COUNT(*) FROM snapshot AS later JOIN snapshot AS earlier "
                "ON earlier.plan_key = later.plan_key AND earlier.ref = later.ref "
                "AND earlier.reporting_date = ? WHERE later.reporting_date = ? "
                "AND later.carried = 0 AND later.due_date > earlier.due_date",
                (before.isoformat(), day.isoformat()),
            ).fetchone()
        return RunCounts(
            day, actions, open_, overdue, due_soon, complete, slipped, rag, estimated=True
        )

    def reporting_dates(self) -> list[dt.date]:
        rows = self.connection.execute("SELECT reporting_date FROM run ORDER BY reporting_date")
        return [dt.date.fromisoformat(day) for (day,) in rows]

    def snapshot(self, reporting_date: dt.date) -> dict[tuple[str, str], Snapshot]:
        rows = self.connection.execute(
            "SELECT plan_key, ref, " + ", ".join(FIELDS) + " FROM snapshot "
            "WHERE reporting_date = ?",
            (reporting_date.isoformat(),),
        )
        return {(fields[0], fields[1]): _snapshot(fields) for fields in rows}

    def changes(self, reporting_date: dt.date) -> list[Change]:
        """What changed between the snapshot at ``reporting_date`` and the one before."""
        return self.compare(reporting_date).changes

    def compare(self, reporting_date: dt.date) -> Comparison:
        """The changes since the run before ``reporting_date``, and how many progress
        updates were already stale then and still are (counted, not listed again)."""
        dates = [d for d in self.reporting_dates() if d <= reporting_date]
        if reporting_date not in dates or len(dates) < 2:
            return Comparison([], 0)
        current = self.snapshot(reporting_date)
        previous = self.snapshot(dates[-2])
        # Only two snapshots are loaded; the rest of the history is asked of SQLite,
        # so a year of weekly runs costs no more memory than one.
        unchanged_since = self._progress_unchanged_since(reporting_date)
        granted = self.grants()
        changes: list[Change] = []
        carried = self._carried(reporting_date)
        for plan, (count, last) in sorted(carried.items()):
            detail = f"{plural(count, 'action')} carried as last returned" + (
                f" on {last.strftime('%d/%m/%Y')}" if last else ""
            )
            changes.append(Change("not-returned", plan, "", "", "", "", detail))
        still_stale = 0
        for key in sorted(current.keys() - previous.keys()):
            now = current[key]
            changes.append(Change("new", now.plan_key, now.ref, now.action, "", now.status, ""))
        for key in sorted(previous.keys() - current.keys()):
            then = previous[key]
            changes.append(
                Change("gone", then.plan_key, then.ref, then.action, then.status, "", "")
            )
        for key in sorted(current.keys() & previous.keys()):
            found = _compare(
                previous[key],
                current[key],
                reporting_date,
                dates[-2],
                unchanged_since.get(key, reporting_date),
                lambda key=key: self._times_slipped(key, reporting_date),
                granted,
            )
            if found and found[-1] is STILL_STALE:
                found.pop()
                still_stale += 1
            changes.extend(found)
        return Comparison(changes, still_stale)

    def _carried(self, reporting_date: dt.date) -> dict[str, tuple[int, dt.date | None]]:
        """Plans not returned at ``reporting_date``: how many actions carried, last returned."""
        rows = self.connection.execute(
            """
            SELECT plan_key, COUNT(*), (
                SELECT MAX(earlier.reporting_date) FROM snapshot AS earlier
                WHERE earlier.plan_key = s.plan_key AND earlier.carried = 0
                  AND earlier.reporting_date < :day
            ) FROM snapshot AS s WHERE reporting_date = :day AND carried = 1 GROUP BY plan_key
            """,
            {"day": reporting_date.isoformat()},
        )
        return {
            plan: (count, dt.date.fromisoformat(last) if last else None)
            for plan, count, last in rows
        }

    def _times_slipped(self, key: tuple[str, str], reporting_date: dt.date) -> int:
        """How often an action's due date has moved later, up to ``reporting_date``."""
        rows = self.connection.execute(
            "SELECT due_date FROM snapshot WHERE plan_key = ? AND ref = ? AND reporting_date <= ?"
            " AND due_date IS NOT NULL ORDER BY reporting_date",
            (*key, reporting_date.isoformat()),
        )
        dues = [due for (due,) in rows]  # ISO dates: text order is date order
        return sum(later > earlier for earlier, later in itertools.pairwise(dues))

    def _progress_unchanged_since(self, reporting_date: dt.date) -> dict[tuple[str, str], dt.date]:
        """For each action with a progress update at ``reporting_date``: the first run of the
        unbroken series of runs, ending at that date, in which it had the same text."""
        # The n-th latest matching snapshot belongs to the series only if it is exactly
        # n-1 runs before the last; once a run is missed (or the text differs), no
        # earlier snapshot can catch up.
        rows = self.connection.execute(
            """
            WITH runs AS (
                SELECT reporting_date, ROW_NUMBER() OVER (ORDER BY reporting_date) AS run
                FROM run WHERE reporting_date <= :day
            ),
            latest AS (
                SELECT plan_key, ref, progress FROM snapshot
                WHERE reporting_date = :day AND progress != ''
            ),
            same AS (
                SELECT s.plan_key, s.ref, s.reporting_date, runs.run,
                       ROW_NUMBER() OVER (
                           PARTITION BY s.plan_key, s.ref ORDER BY s.reporting_date DESC
                       ) AS back
                FROM latest
                JOIN snapshot AS s
                  ON s.plan_key = latest.plan_key AND s.ref = latest.ref
                 AND s.progress = latest.progress AND s.reporting_date <= :day
                JOIN runs ON runs.reporting_date = s.reporting_date
            )
            SELECT plan_key, ref, MIN(reporting_date) FROM same
            WHERE run + back - 1 = (SELECT MAX(run) FROM runs)
            GROUP BY plan_key, ref
            """,
            {"day": reporting_date.isoformat()},
        )
        return {(plan, ref): dt.date.fromisoformat(since) for plan, ref, since in rows}


class Comparison(NamedTuple):
    """What changed since the run before, and the stale progress updates not listed again."""

    changes: list[Change]
    still_stale: int  # progress updates stale at the run before and still unchanged


# Stands for a progress update already reported stale: counted by compare, never listed.
STILL_STALE = Change("still-stale", "", "", "", "", "", "")


def _snapshot(fields) -> Snapshot:
    """A snapshot from its columns as stored (plan_key, ref, then FIELDS)."""
    plan, ref, org, title, action, lead, status, due, progress = fields
    return Snapshot(
        plan,
        ref,
        org or "",
        title or "",
        action or "",
        lead or "",
        status or "",
        dt.date.fromisoformat(due) if due else None,
        progress or "",
    )


def _compare(
    then: Snapshot,
    now: Snapshot,
    reporting_date: dt.date,
    previous_date: dt.date,
    progress_since: dt.date,
    times_slipped: Callable[[], int],
    granted: dict[tuple[str, str, str], str] | None = None,
) -> list[Change]:
    changes: list[Change] = []
    base = {"plan": now.plan_key, "ref": now.ref, "action": now.action}
    if then.status != now.status:
        if now.status == model.COMPLETE:
            kind = "complete"
        else:
            order = model.STATUS_PROGRESS
            if then.status not in order or now.status not in order:
                kind = "status"
            elif order.index(now.status) > order.index(then.status):
                kind = "status-better"
            else:
                kind = "status-worse"
        changes.append(Change(kind, old=then.status, new=now.status, detail="", **base))
    if then.due_date and now.due_date and then.due_date != now.due_date:
        old, new = then.due_date.strftime("%d/%m/%Y"), now.due_date.strftime("%d/%m/%Y")
        grant = (granted or {}).get((now.plan_key, now.ref, now.due_date.isoformat()))
        if now.due_date > then.due_date and grant:
            changes.append(
                Change(
                    "extension-granted",
                    old=old,
                    new=new,
                    detail=f"{plural((now.due_date - then.due_date).days, 'day')} later; "
                    f"extension granted on {dt.date.fromisoformat(grant):%d/%m/%Y}",
                    **base,
                )
            )
        elif now.due_date > then.due_date:
            slips = times_slipped()
            changes.append(
                Change(
                    "slipped",
                    old=old,
                    new=new,
                    detail=f"{plural((now.due_date - then.due_date).days, 'day')} later; "
                    f"slipped {times(slips)} in all",
                    times_slipped=slips,
                    **base,
                )
            )
        else:
            changes.append(Change("brought-forward", old=old, new=new, detail="", **base))
    if now.status not in model.CLOSED_STATUSES and now.progress:
        since = progress_since
        unchanged_days = (reporting_date - since).days
        stale_before = (
            then.status not in model.CLOSED_STATUSES
            and (previous_date - since).days >= model.STALE_PROGRESS_DAYS
        )
        if stale_before:
            changes.append(STILL_STALE)
        elif unchanged_days >= model.STALE_PROGRESS_DAYS:
            changes.append(
                Change(
                    "stale-progress",
                    old=since.strftime("%d/%m/%Y"),
                    new="",
                    detail=f"progress update unchanged for {plural(unchanged_days, 'day')}",
                    **base,
                )
            )
    return changes


def history_error(path: Path, error: sqlite3.Error) -> XltoolsError:
    """What went wrong with the history, in words that say what to do."""
    text = str(error).lower()
    if "locked" in text or "busy" in text:
        who = _holders(path)
        return XltoolsError(
            f"the history is locked by {who or 'another program'}: wait for it to finish "
            "(or close it), then run again",
            path,
        )
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return XltoolsError(
            "the history cannot be written (a read-only folder or file, or no permission): "
            "give a history file in a folder you can write to",
            path,
            setting="history",
        )
    if "disk" in text and "full" in text:
        return XltoolsError(
            "the disk holding the history is full: free some space and run again", path
        )
    return XltoolsError(
        "the history is damaged (not an SQLite database xltools can read): restore it from "
        "your backup, or give a new history file to start a new one",
        path,
        setting="history",
    )


def _holders(path: Path) -> str:
    """The programs that have the history open (Linux: from /proc), e.g. "xltools (process
    812)"; empty where that cannot be known."""
    proc = Path("/proc")
    if not proc.is_dir():
        return ""
    wanted = {str(path.resolve()) + suffix for suffix in ("", "-journal", "-wal", "-shm")}
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            targets = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
            if targets & wanted:
                command = (entry / "cmdline").read_bytes().split(b"\0")
                found.append(f"{_program(command)} (process {entry.name})")
        except OSError:
            continue  # gone, or not ours to look at
    return ", ".join(found)


def _program(command: list[bytes]) -> str:
    words = [Path(os.fsdecode(word)).name for word in command if word]
    if any(word == "xltools" or word.startswith("xltools") for word in words):
        return "another xltools run"
    return words[0] if words else "another program"
