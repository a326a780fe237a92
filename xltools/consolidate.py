"""The weekly roll-up: many plan workbooks into one register, with the problems found.

``consolidate(inbox)`` finds every plan workbook under a folder, reads and
validates them all (in worker processes, a pandera pass to each chunk of plans;
see :mod:`xltools.validate`), and returns a
:class:`Consolidation`: the register table (every action with its plan,
source, RAG, days overdue and that row's findings), the plans read, the
problems (files not read, plans with findings), and, when a history file is
given, what changed since the previous run. One bad file never stops the run:
it becomes a problem and every other plan still reaches the register.

Each plan joins the register, and its actions the history, as soon as its
chunk is read, while the workers read the next ones. Staff text is cleaned on
the way in: control characters removed and text past Excel's cell limit cut
with a visible marker, each with a finding, never silently.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from xltools import catalogue, model
from xltools.cells import EXCEL_CELL_LIMIT, clean_text, fits_in_cell
from xltools.errors import XltoolsError, shown
from xltools.fileio import remove_leftovers
from xltools.findings import ERROR, FileReport, Finding, findings_in_words, outcome_of
from xltools.gcpause import paused_gc
from xltools.history import (
    Change,
    History,
    NotReturned,
    RunCounts,
    Snapshot,
    history_error,
    plan_key,
)
from xltools.history import previous_counts as counts_before
from xltools.history import since_last_run as counts_since
from xltools.locks import FileLock
from xltools.outcome import Outcome
from xltools.read import DEFAULT_LIMITS, Limits, PlanTable, discover
from xltools.register_sheets import (
    DAYS_OVERDUE,
    LAST_RETURNED,
    ORGANISATION,
    ORIGINAL_DUE,
    OTHER_COLUMNS,
    PLAN_TITLE,
    RAG,
    RAG_COLUMNS,
    REGISTER_COLUMNS,
    REVISIONS,
    SERVICE,
    SOURCE_FILE,
    SOURCE_ROW,
    VALIDATION,
    ChaseLists,
    chase_lists,
)
from xltools.rules import RulePack, load_pack
from xltools.validate import iter_reports


@dataclass
class PlanSummary:
    """One plan that reached the register, with its counts."""

    path: Path
    source_file: str
    organisation: str
    service: str
    plan_title: str
    key: str
    actions: int = 0
    rag: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RAG_COLUMNS, 0))
    overdue: int = 0
    due_soon: int = 0
    errors: int = 0
    warnings: int = 0

    def to_dict(self) -> dict:
        return {
            "path": shown(self.path),
            "organisation": self.organisation,
            "service": self.service,
            "plan_title": self.plan_title,
            "actions": self.actions,
            "rag": {(label or "None"): count for label, count in self.rag.items()},
            "overdue": self.overdue,
            "due_soon": self.due_soon,
            "errors": self.errors,
            "warnings": self.warnings,
        }


@dataclass(frozen=True)
class Problem:
    """A file not read, or a plan with findings.

    Only a file not read or a plan with errors is a problem to the people reading the
    register and the digest; a plan whose findings are all warnings is listed apart
    (``warnings_only``), and so are the files the search skipped (``skipped``).
    """

    path: Path
    kind: str  # "unreadable" or "findings"
    reason: str
    findings: tuple[Finding, ...] = ()

    @property
    def errors(self) -> int:
        return sum(f.severity == ERROR for f in self.findings)

    @property
    def warnings_only(self) -> bool:
        return self.kind != "unreadable" and not self.errors

    def to_dict(self) -> dict:
        return {
            "path": shown(self.path),
            "kind": self.kind,
            "reason": self.reason,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass
class Consolidation:
    reporting_date: dt.date
    rule_pack: str
    rows: list[dict[str, object]]
    plans: list[PlanSummary]
    problems: list[Problem]
    changes: list[Change]
    skipped: list[tuple[Path, str]]
    reports: list[FileReport] = field(default_factory=list, repr=False)
    inbox: Path | None = None
    loop: object | None = None  # packs.LoopStatus, with consolidate --packs
    # Plans returned last time and not this week, their actions carried in the history.
    not_returned: list[NotReturned] = field(default_factory=list)
    # Their actions as last returned: the register's Not returned sheet, for chasing.
    carried: list[dict[str, object]] = field(default_factory=list, repr=False)
    snapshots: list = field(default_factory=list, repr=False)  # (summary, rows) per plan
    # Each run's headline counts from the history, oldest first, this run last (empty
    # without a history): the register's Trend sheet and "since the last run".
    trend: list[RunCounts] = field(default_factory=list)

    def pop_snapshots(self):
        """Each plan's summary and rows, for the history, once."""
        taken, self.snapshots = self.snapshots, []
        return taken

    # Progress updates reported stale in an earlier week and still unchanged: counted
    # here, not listed again among the changes.
    still_stale: int = 0

    def display_path(self, path: Path) -> str:
        """A file as the coordinator knows it: relative to the inbox."""
        if self.inbox is not None:
            try:
                return shown(Path(path).relative_to(self.inbox))
            except ValueError:
                pass
        return shown(path)

    @property
    def table(self):
        """The register as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=list(REGISTER_COLUMNS))

    # Worked out once: the summary, the register and the emails all ask for them.
    @functools.cached_property
    def chase(self) -> ChaseLists:
        return chase_lists(self.rows, self.reporting_date)

    @property
    def overdue(self) -> list[dict[str, object]]:
        return self.chase.overdue

    @property
    def due_soon(self) -> list[dict[str, object]]:
        return self.chase.due_soon

    def counts(self) -> RunCounts:
        """This run's headline counts (a row of the Trend sheet)."""
        rag = dict.fromkeys(RAG_COLUMNS, 0)
        for plan in self.plans:
            for label, count in plan.rag.items():
                rag[label] += count
        withdrawn = sum(
            1
            for row in self.rows
            if row[model.STATUS].__class__ is str and row[model.STATUS].strip() == model.WITHDRAWN
        )
        complete = rag[model.BLUE]  # Complete is blue, and never overdue
        return RunCounts(
            self.reporting_date,
            len(self.rows),
            len(self.rows) - complete - withdrawn,
            len(self.overdue),
            len(self.due_soon),
            complete,
            sum(change.kind == "slipped" for change in self.changes),
            rag,
        )

    @property
    def previous_counts(self) -> RunCounts | None:
        """The counts of the run before this one in the history, if there is one."""
        return counts_before(self.trend, self.reporting_date)

    def since_last_run(self) -> dict[str, tuple[int, int]]:
        """Each headline count at the last run and now: ``{"overdue": (8, 13), ...}``
        (empty without an earlier run). The Summary and the digest both use it."""
        return counts_since(self.trend, self.reporting_date)

    @property
    def outcome(self) -> Outcome:
        """The same rule as validation's: CANNOT_RUN when not one plan could be read;
        PROBLEMS for a file not read, a plan with errors (warnings are fine) or a plan
        not returned; OK otherwise."""
        problems = Outcome.PROBLEMS if self.not_returned else Outcome.OK
        return Outcome.worst(outcome_of(self.reports), problems)

    def totals(self) -> dict[str, int]:
        return {
            "plans_read": len(self.plans),
            "plans_not_read": sum(p.kind == "unreadable" for p in self.problems),
            "actions": len(self.rows),
            "overdue": len(self.overdue),
            "due_soon": len(self.due_soon),
            "problems": sum(not p.warnings_only for p in self.problems),
            "warnings_only": sum(p.warnings_only for p in self.problems),
            "changes": len(self.changes),
            "plans_not_returned": len(self.not_returned),
            "still_stale": self.still_stale,
        }

    def to_dict(self) -> dict:
        return {
            "outcome": self.outcome.value,
            "reporting_date": self.reporting_date.isoformat(),
            "rule_pack": self.rule_pack,
            "totals": self.totals(),
            "plans": [p.to_dict() for p in self.plans],
            "problems": [p.to_dict() for p in self.problems],
            "changes": [c.to_dict() for c in self.changes],
            "not_returned": [n.to_dict() for n in self.not_returned],
            "skipped": [{"path": shown(p), "reason": r} for p, r in self.skipped],
            "register": [{k: _json_value(v) for k, v in row.items()} for row in self.rows],
            **(
                {
                    "packs": [
                        {k: _json_value(v) for k, v in r.items()} for r in self.loop.pack_rows
                    ],
                    "extension_requests": [
                        {k: _json_value(v) for k, v in r.items()} for r in self.loop.request_rows
                    ],
                }
                if self.loop is not None
                else {}
            ),
        }


def _json_value(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _clean(value: str, column: str, table: PlanTable, index: int, notes: list[Finding]):
    """Clean one staff text for the register, noting anything changed."""
    cleaned = clean_text(value)
    if cleaned.truncated or cleaned.removed_controls:
        what = []
        if cleaned.truncated:
            what.append(f"cut at Excel's {EXCEL_CELL_LIMIT:,}-character cell limit")
        if cleaned.removed_controls:
            what.append("control characters removed")
        ref = _text(table.records[index].get(model.REF))
        notes.append(
            catalogue.finding(
                "text-cleaned",
                sheet=table.actions_sheet,
                cell=table.cell(column, index),
                row=table.source_rows[index],
                column=column,
                ref=ref,
                value=cleaned.text[:60],
                what=" and ".join(what),
            )
        )
    return cleaned.text


def consolidate(
    inbox: str | Path,
    reporting_date: dt.date | None = None,
    rules: str | Path | RulePack = "default",
    history: str | Path | None = None,
    limits: Limits = DEFAULT_LIMITS,
    progress: Callable[[Path], None] | None = None,
    workers: int | None = None,
    packs: str | Path | None = None,
    before_commit: Callable[[Consolidation], object] | None = None,
) -> Consolidation:
    """Roll up every plan under ``inbox`` into one register (see the module docstring).

    ``workers``: processes reading the plans (default one per core for many files).
    ``packs``: the update packs' folder: its ledger's returns, extension requests and
    packs not returned join the result (``loop``), and its grants the history.
    ``before_commit``: called with the result before the week is committed to the
    history; :func:`xltools.register.consolidate_to` writes the register there, so the
    two land together: a register that cannot be written (a full disk, a read-only
    folder, a kill) leaves the history at the previous week.
    """
    inbox = Path(inbox)
    if not inbox.is_dir():
        raise XltoolsError(
            "is not a folder (or does not exist): give the folder the plans are collected in; "
            "nothing was written",
            inbox,
        )
    reporting_date = reporting_date or dt.date.today()
    pack = rules if isinstance(rules, RulePack) else load_pack(rules)
    # What killed runs of this tool left (their temporary files and folders), only those.
    remove_leftovers()
    discovery = discover([inbox])
    if not discovery.workbooks:
        # An empty inbox is a wrong path or an unmounted drive far more often than a
        # week with no plans: recording it would mark every action as gone.
        raise XltoolsError(
            "no plan workbooks (.xlsx, .xlsm) in this folder: check the inbox path (is the "
            "shared drive mounted?); nothing was written",
            inbox,
        )
    try:
        return _consolidate(
            inbox, discovery, reporting_date, pack, history, limits, progress, workers,
            before_commit, packs,
        )  # fmt: skip
    except sqlite3.Error as error:
        raise history_error(Path(history), error) from None


def default_history(register: str | Path) -> Path:
    """Where a register's history is kept unless told otherwise: beside it, same stem."""
    register = Path(register)
    return register.with_name(f"{register.stem}.history.sqlite")


def _consolidate(
    inbox, discovery, reporting_date, pack, history, limits, progress, workers, before_commit, packs
) -> Consolidation:
    with contextlib.ExitStack() as stack:
        store = recording = None
        if history is not None:
            history = Path(history)
            stack.enter_context(
                FileLock(
                    history.with_name(f".{history.name}.lock"),
                    "another xltools consolidate is using the same history",
                    "wait for it to finish, then run again",
                )
            )
            store = stack.enter_context(History(history))
            recording = stack.enter_context(store.recording(reporting_date))
        stack.enter_context(paused_gc())
        result = _roll_up(inbox, discovery, reporting_date, pack, limits, progress, workers)
        if recording:
            # Each plan's actions, then those of the plans not returned this week.
            for summary, plan_rows in result.pop_snapshots():
                trails = recording.add(_snapshots(plan_rows, summary.key))
                for row, (original, revisions) in zip(plan_rows, trails, strict=True):
                    row[ORIGINAL_DUE], row[REVISIONS] = original, revisions
            result.not_returned = recording.carry_forward({p.key for p in result.plans})
            if result.not_returned:
                result.carried = _carried_rows(
                    store.carried_actions(reporting_date), result.not_returned, reporting_date
                )
        if packs is not None:
            result.loop = _weekly_loop(packs, result.plans, store, reporting_date)
        if recording:
            comparison = store.compare(reporting_date)
            result.changes, result.still_stale = comparison.changes, comparison.still_stale
            store.record_counts(result.counts())
            result.trend = store.trend(reporting_date)
        if before_commit is not None:
            before_commit(result)
    return result


def _roll_up(inbox, discovery, reporting_date, pack, limits, progress, workers) -> Consolidation:
    reports = iter_reports(discovery.workbooks, pack, reporting_date, limits, progress, workers)
    result = Consolidation(reporting_date, pack.name, [], [], [], [], discovery.skipped, [], inbox)
    keys_seen: set[str] = set()
    # Each plan joins the register as soon as its chunk is read, while the workers
    # read the next ones.
    for path, report in zip(discovery.workbooks, reports, strict=True):
        result.reports.append(report)
        if report.status == "unreadable":
            result.problems.append(Problem(path, "unreadable", report.error or "could not be read"))
            continue
        summary, plan_rows = _plan_rows(report, path.relative_to(inbox), reporting_date)
        if summary.key in keys_seen:
            # Two files claim the same plan (a copy left in the inbox?): keep apart.
            summary.key = f"{summary.key} ({summary.source_file})"
        keys_seen.add(summary.key)
        result.plans.append(summary)
        result.rows.extend(plan_rows)
        result.snapshots.append((summary, plan_rows))
        if report.findings:
            # The counts, and what was found most, in the catalogue's words.
            reason = findings_in_words((f.label, f.severity) for f in report.findings)
            result.problems.append(Problem(path, "findings", reason, tuple(report.findings)))
    return result


def _carried_rows(
    carried: list[Snapshot], not_returned: list[NotReturned], reporting_date: dt.date
) -> list[dict[str, object]]:
    """The Not returned sheet's rows: each carried action as it stood when last returned."""
    last_returned = {plan.plan: plan.last_returned for plan in not_returned}
    return [
        {
            ORGANISATION: action.organisation,
            PLAN_TITLE: action.plan_title,
            LAST_RETURNED: last_returned.get(action.plan_key),
            model.REF: action.ref,
            model.ACTION: action.action,
            model.LEAD: action.lead,
            model.DUE_DATE: action.due_date,
            DAYS_OVERDUE: (reporting_date - action.due_date).days
            if model.is_overdue(action.status, action.due_date, reporting_date)
            else None,
            model.STATUS: action.status,
            model.PROGRESS: action.progress,
        }
        for action in carried
    ]


def _snapshot_ref(row: dict[str, object]) -> str:
    """How the history knows an action of a plan: its Ref, or its row when it has none."""
    return _text(row[model.REF]) or f"row {row[SOURCE_ROW]}"


def _weekly_loop(packdir, plans: list[PlanSummary], store: History | None, reporting_date):
    """The ledger's state for the register; its grants recorded in the history first, so
    this run's changes show a granted move as granted."""
    from xltools.packs import Ledger, loop_status

    ledger = Ledger.load(packdir)
    keys = {plan.source_file: plan.key for plan in plans}
    if store is None:
        return loop_status(ledger, reporting_date)
    for grant in ledger.grants():
        key = keys.get(grant["plan"])
        if key is None:
            continue
        old = grant.get("due_before_grant") or grant.get("due")
        store.record_grant(
            key,
            grant["ref"],
            dt.date.fromisoformat(grant["proposed"]),
            dt.date.fromisoformat(old) if old and old[:1].isdigit() else None,
            dt.date.fromisoformat(grant["granted_on"]),
        )

    def slipped(plan: str, ref: str) -> int | None:
        return store.times_slipped(keys[plan], ref, reporting_date) if plan in keys else None

    return loop_status(ledger, reporting_date, slipped)


def _plan_rows(
    report: FileReport, source: Path, reporting_date: dt.date
) -> tuple[PlanSummary, list[dict[str, object]]]:
    """One plan's register rows (its findings and cleaning notes on each) and its counts."""
    table: PlanTable = report.table
    source_file = str(source)
    summary = PlanSummary(
        report.path,
        source_file,
        _text(table.plan.get(ORGANISATION)),
        _text(table.plan.get(SERVICE)),
        _text(table.plan.get(PLAN_TITLE)),
        plan_key(table.plan.get(ORGANISATION), table.plan.get(PLAN_TITLE), source_file),
    )
    notes: list[Finding] = []
    by_row: dict[int, list[Finding]] = {}
    for finding in report.findings:
        if finding.row is not None and finding.sheet == table.actions_sheet:
            by_row.setdefault(finding.row, []).append(finding)
    rows = []
    extras = table.extra_columns
    for index, record in enumerate(table.records):
        row = {
            ORGANISATION: summary.organisation,
            SERVICE: summary.service,
            PLAN_TITLE: summary.plan_title,
        }
        cleaned_before = len(notes)
        for column in model.ACTION_COLUMN_NAMES:
            value = record.get(column)
            if value.__class__ is str and not (value.isprintable() and fits_in_cell(value)):
                value = _clean(value, column, table, index, notes)
            row[column] = value
        rag = model.derive_rag(
            row[model.STATUS], row[model.GRADE], row[model.DUE_DATE], reporting_date
        )
        row[RAG] = rag.label
        # Blank, not 0, for an action that is not overdue: 0 reads as "due today".
        row[DAYS_OVERDUE] = rag.days_overdue if rag.overdue else None
        row[ORIGINAL_DUE] = row[REVISIONS] = None  # from the history, when there is one
        row[SOURCE_FILE] = source_file
        row[SOURCE_ROW] = table.source_rows[index]
        row_findings = [*by_row.get(table.source_rows[index], []), *notes[cleaned_before:]]
        row[VALIDATION] = "; ".join(f"{f.severity}: {f.column}: {f.message}" for f in row_findings)
        row[OTHER_COLUMNS] = _other_columns(record, extras) if extras else None
        summary.actions += 1
        summary.rag[rag.label] += 1
        summary.overdue += rag.overdue
        status, due = row[model.STATUS], row[model.DUE_DATE]
        summary.due_soon += model.is_due_soon(status, due, reporting_date)
        rows.append(row)
    report.findings.extend(notes)
    summary.errors, summary.warnings = len(report.errors), len(report.warnings)
    return summary, rows


def _other_columns(record: dict[str, object], names: list[str]) -> str | None:
    """Staff's own columns of one action as one cell: ``Budget code: 4410; Link: ...``.

    The names are as staff wrote them; blank cells are left out; dates are written as
    dates are everywhere in xltools (31/03/2004). The text is cut with a visible
    marker at Excel's cell limit, as any text we write.
    """
    parts = []
    for name in names:
        value = record.get(name)
        if value is None:
            continue
        if isinstance(value, dt.datetime) and value.time() == dt.time():
            value = value.date()
        if isinstance(value, dt.date):
            text = value.strftime("%d/%m/%Y")
        elif isinstance(value, float) and value.is_integer():
            text = str(int(value))
        else:
            text = str(value).strip()
        if text:
            parts.append(f"{name}: {text}")
    return clean_text("; ".join(parts)).text if parts else None


def _snapshots(rows: list[dict[str, object]], key: str):
    for row in rows:
        due = row[model.DUE_DATE]
        yield Snapshot(
            plan_key=key,
            ref=_snapshot_ref(row),
            organisation=_text(row[ORGANISATION]),
            plan_title=_text(row[PLAN_TITLE]),
            action=_text(row[model.ACTION]),
            lead=_text(row[model.LEAD]),
            status=_text(row[model.STATUS]),
            due_date=due if isinstance(due, dt.date) else None,
            progress=_text(row[model.PROGRESS]),
        )
