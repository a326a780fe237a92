"""History: each run's snapshot of every action, and what changed since the last one.

The history is one SQLite file (an embedded database, no server). Each run
stores a snapshot of every action, keyed by plan (organisation and plan title,
or the file name when those are missing) and Ref, under its reporting date.
Storing a second run for the same reporting date replaces that snapshot in one
transaction, so re-running a week is idempotent.

``changes`` compares a snapshot with the one before it: new actions, actions
gone, status changes (better or worse), due dates moved (slippage, with how many
times the action has slipped in its history), actions newly complete, and
progress updates unchanged for four weeks or more.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

from xltools import model
from xltools.words import plural, times

SCHEMA = """
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
-- Due-date revisions the coordinator granted (merge --grant), so a move to the granted
-- date shows as an extension granted, not a slip nobody announced.
CREATE TABLE IF NOT EXISTS extension_grant (
    plan_key TEXT NOT NULL,
    ref TEXT NOT NULL,
    new_due TEXT NOT NULL,
    old_due TEXT,
    granted_on TEXT NOT NULL,
    PRIMARY KEY (plan_key, ref, new_due)
);
CREATE TABLE IF NOT EXISTS run (
    reporting_date TEXT PRIMARY KEY,
    recorded_at TEXT NOT NULL,
    plans INTEGER NOT NULL,
    actions INTEGER NOT NULL
);
"""
FIELDS = ("organisation", "plan_title", "action", "lead", "status", "due_date", "progress")


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


CHANGE_KINDS = {
    "new": "New action",
    "gone": "Action no longer in the plan",
    "status-better": "Status improved",
    "status-worse": "Status worsened",
    "status": "Status changed",
    "complete": "Newly complete",
    "slipped": "Due date slipped",
    "extension-granted": "Due date extended (granted)",
    "brought-forward": "Due date brought forward",
    "stale-progress": "Progress not updated for four weeks or more",
}


def plan_key(organisation: object, plan_title: object, source_file: str) -> str:
    """How a plan is known across weeks: organisation and title, else its file name."""
    if organisation and plan_title:
        return f"{str(organisation).strip()} / {str(plan_title).strip()}"
    return source_file


class Recording:
    """A run's snapshot being written: ``add`` each plan's actions as they come."""

    def __init__(self, connection: sqlite3.Connection, day: str) -> None:
        self.connection, self.day = connection, day
        self.plans = self.actions = 0

    def add(self, snapshots: Iterable[Snapshot]) -> None:
        rows = [
            (
                self.day,
                s.plan_key,
                s.ref,
                s.organisation,
                s.plan_title,
                s.action,
                s.lead,
                s.status,
                s.due_date.isoformat() if s.due_date else None,
                s.progress,
            )
            for s in snapshots
        ]
        self.connection.executemany(
            "INSERT OR REPLACE INTO snapshot VALUES (?,?,?,?,?,?,?,?,?,?)", rows
        )
        self.plans += 1
        self.actions += len(rows)


class History:
    """The SQLite history file. Use as a context manager."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.connection = sqlite3.connect(self.path)
            self.connection.executescript(SCHEMA)
        except sqlite3.DatabaseError as error:
            from xltools.errors import XltoolsError

            raise XltoolsError(
                f"the history file cannot be used ({error}): move it aside to start a new one",
                self.path,
            ) from None

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
            yield recording
            self.connection.execute(
                "INSERT OR REPLACE INTO run VALUES (?,?,?,?)",
                (
                    day,
                    dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    recording.plans,
                    recording.actions,
                ),
            )

    def record_grant(
        self,
        plan_key: str,
        ref: str,
        new_due: dt.date,
        old_due: dt.date | None,
        granted_on: dt.date,
    ) -> None:
        """Record that the coordinator granted moving an action's due date to ``new_due``."""
        with self.connection:
            self.connection.execute(
                "INSERT OR IGNORE INTO extension_grant VALUES (?,?,?,?,?)",
                (
                    plan_key,
                    ref,
                    new_due.isoformat(),
                    old_due.isoformat() if old_due else None,
                    granted_on.isoformat(),
                ),
            )

    def grants(self) -> dict[tuple[str, str, str], str]:
        """Granted revisions: (plan key, Ref, new due date ISO) -> the date granted (ISO)."""
        rows = self.connection.execute(
            "SELECT plan_key, ref, new_due, granted_on FROM extension_grant"
        )
        return {(plan, ref, due): on for plan, ref, due, on in rows}

    def times_slipped(self, plan_key: str, ref: str, up_to: dt.date) -> int:
        """How often an action's due date has moved later in the history, up to ``up_to``."""
        return self._times_slipped((plan_key, ref), up_to)

    def reporting_dates(self) -> list[dt.date]:
        rows = self.connection.execute("SELECT reporting_date FROM run ORDER BY reporting_date")
        return [dt.date.fromisoformat(day) for (day,) in rows]

    def snapshot(self, reporting_date: dt.date) -> dict[tuple[str, str], Snapshot]:
        rows = self.connection.execute(
            "SELECT plan_key, ref, " + ", ".join(FIELDS) + " FROM snapshot "
            "WHERE reporting_date = ?",
            (reporting_date.isoformat(),),
        )
        result = {}
        for plan, ref, org, title, action, lead, status, due, progress in rows:
            due_date = dt.date.fromisoformat(due) if due else None
            result[(plan, ref)] = Snapshot(
                plan,
                ref,
                org or "",
                title or "",
                action or "",
                lead or "",
                status or "",
                due_date,
                progress or "",
            )
        return result

    def changes(self, reporting_date: dt.date) -> list[Change]:
        """What changed between the snapshot at ``reporting_date`` and the one before."""
        dates = [d for d in self.reporting_dates() if d <= reporting_date]
        if reporting_date not in dates or len(dates) < 2:
            return []
        current = self.snapshot(reporting_date)
        previous = self.snapshot(dates[-2])
        # Only two snapshots are loaded; the rest of the history is asked of SQLite,
        # so a year of weekly runs costs no more memory than one.
        unchanged_since = self._progress_unchanged_since(reporting_date)
        granted = self.grants()
        changes: list[Change] = []
        for key in sorted(current.keys() - previous.keys()):
            now = current[key]
            changes.append(Change("new", now.plan_key, now.ref, now.action, "", now.status, ""))
        for key in sorted(previous.keys() - current.keys()):
            then = previous[key]
            changes.append(
                Change("gone", then.plan_key, then.ref, then.action, then.status, "", "")
            )
        for key in sorted(current.keys() & previous.keys()):
            changes.extend(
                _compare(
                    previous[key],
                    current[key],
                    reporting_date,
                    unchanged_since.get(key, reporting_date),
                    lambda key=key: self._times_slipped(key, reporting_date),
                    granted,
                )
            )
        return changes

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


def _compare(
    then: Snapshot,
    now: Snapshot,
    reporting_date: dt.date,
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
        if unchanged_days >= model.STALE_PROGRESS_DAYS:
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
