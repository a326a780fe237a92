"""The register workbook's sheets and columns, named once; the chasing lists, made once.

The register is the coordinator's workbook: :mod:`xltools.consolidate` makes its
rows, :mod:`xltools.register` writes the workbook and reads it back (for
``summarise``), and :mod:`xltools.summary` turns it into emails. All of them
take the register's sheet names, column names and Summary labels from here.

Why a module of its own and not a section of :mod:`xltools.model`: the model is
the staff's plan workbook (its sheets, columns, vocabularies and the RAG rule);
the register is a different workbook, made from many plans, and it grows sheets
and columns as the weekly loop grows. Why not in :mod:`xltools.register`: the
names are needed by modules the register itself builds on (the update packs and
the lead addresses, whose sheets it writes and reads back), so they must sit below
it; this module imports nothing but the model and the findings catalogue.

Adding a column to a sheet: add it to that sheet's columns below (and give the
rows a value under that name where they are made). Adding a sheet: name it,
add a :class:`Sheet` to ``SHEETS`` in workbook order, and give
``register.SHEET_ROWS`` the function that makes its rows; the writer lays out
every sheet from its entry here (widths, frozen header, filter, RAG colours,
the line shown when it is empty).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from xltools import catalogue, model

# Sheet names, in workbook order (see SHEETS) --------------------------------
SUMMARY_SHEET: Final = "Summary"
REGISTER_SHEET: Final = "Register"
OVERDUE_SHEET: Final = "Overdue"
DUE_SOON_SHEET: Final = "Due soon"
CHANGES_SHEET: Final = "Changes"
PROBLEMS_SHEET: Final = "Problems"
SKIPPED_SHEET: Final = "Skipped files"
NOT_RETURNED_SHEET: Final = "Not returned"

# The Register sheet: every action, with its plan, its derived RAG and where it came from.
ORGANISATION, SERVICE, PLAN_TITLE = model.ORGANISATION, model.SERVICE, model.PLAN_TITLE
RAG: Final = "RAG"
DAYS_OVERDUE: Final = "Days overdue"
# Each action's trail (from the history; blank without one): the first due date seen, and
# how many times the due date has been revised since. The current one is Due date.
ORIGINAL_DUE: Final = "Original due date"
REVISIONS: Final = "Due date revisions"
VALIDATION: Final = "Validation"
# Staff's own columns (added to the right of the standard ones), one cell per action:
# "Budget code: 4410; Link: https://..." with the names as staff wrote them.
OTHER_COLUMNS: Final = "Other columns"
SOURCE_FILE: Final = "Source file"
SOURCE_ROW: Final = "Source row"
REGISTER_COLUMNS: Final[tuple[str, ...]] = (
    ORGANISATION,
    SERVICE,
    PLAN_TITLE,
    *model.ACTION_COLUMN_NAMES,
    RAG,
    DAYS_OVERDUE,
    ORIGINAL_DUE,
    REVISIONS,
    VALIDATION,
    OTHER_COLUMNS,
    SOURCE_FILE,
    SOURCE_ROW,
)
# The Register sheet is an Excel Table of this name (Power Query, pivot tables, slicers).
REGISTER_TABLE: Final = "Register"
# The RAG labels counted per plan, in the Summary's order ("" is no colour).
RAG_COLUMNS: Final[tuple[str, ...]] = model.RAG_LABELS
NO_COLOUR: Final = "No colour"

# The Overdue and Due soon sheets are for chasing: the columns a chaser needs.
VIEW_COLUMNS: Final[tuple[str, ...]] = (
    model.ORGANISATION,
    model.PLAN_TITLE,
    model.REF,
    model.ACTION,
    model.LEAD,
    model.LEAD_EMAIL,
    model.DUE_DATE,
    DAYS_OVERDUE,
    model.STATUS,
    RAG,
    model.PROGRESS,
    model.LAST_UPDATED,
    SOURCE_FILE,
    SOURCE_ROW,
)

# The Trend sheet: one row per reporting date in the history (history.RunCounts).
TREND_SHEET: Final = "Trend"
TREND_DATE: Final = model.REPORTING_DATE
# Each Trend column after the date, and its field in history.RunCounts.
TREND_FIGURES: Final[tuple[tuple[str, str], ...]] = (
    ("Actions", "actions"),
    ("Open", "open"),
    ("Overdue", "overdue"),
    ("Due soon", "due_soon"),
    ("Complete", "complete"),
    ("Slipped", "slipped"),
)
TREND_COLUMNS: Final[tuple[str, ...]] = (
    TREND_DATE,
    *(label for label, _ in TREND_FIGURES),
    *(label or NO_COLOUR for label in RAG_COLUMNS),
)
# The Summary's figures compared with the last run: label there, RunCounts field.
SINCE_LAST_RUN: Final[Mapping[str, str]] = {
    "Actions": "actions",
    "Overdue": "overdue",
    f"Due in the next {model.DUE_SOON_DAYS} days": "due_soon",
}
LAST_RUN: Final = "Last run"
NO_TREND: Final = "No history yet: the trend starts with the first run kept in a history file."
CHANGE_SINCE: Final = "Change"

# The Changes sheet: what changed since the last run (history.CHANGE_KINDS labels).
CHANGE: Final = "Change"
PLAN: Final = "Plan"
WAS: Final = "Was"
NOW: Final = "Now"
DETAIL: Final = "Detail"
TIMES_SLIPPED: Final = "Times slipped"
CHANGE_COLUMNS: Final[tuple[str, ...]] = (
    CHANGE,
    PLAN,
    model.REF,
    model.ACTION,
    WAS,
    NOW,
    DETAIL,
    TIMES_SLIPPED,
)

# The Not returned sheet: the actions of plans returned before and not this week, as they
# stood when last returned (carried in the history, marked so), for chasing.
LAST_RETURNED: Final = "Last returned"
NOT_RETURNED_COLUMNS: Final[tuple[str, ...]] = (
    model.ORGANISATION,
    model.PLAN_TITLE,
    LAST_RETURNED,
    model.REF,
    model.ACTION,
    model.LEAD,
    model.DUE_DATE,
    DAYS_OVERDUE,
    model.STATUS,
    model.PROGRESS,
)

# The Problems sheet: files skipped or not read, and every finding, one a row.
FILE: Final = "File"
PROBLEM: Final = "Problem"
SEVERITY: Final = "Severity"
CELL: Final = "Cell"
COLUMN: Final = "Column"
VALUE: Final = "Value"
MESSAGE: Final = "Message"
PROBLEM_COLUMNS: Final[tuple[str, ...]] = (
    FILE,
    PROBLEM,
    SEVERITY,
    CELL,
    COLUMN,
    model.REF,
    VALUE,
    MESSAGE,
)
# The Skipped files sheet: what the search passed over (Office lock files, hidden files,
# broken links), apart from the problems: these are not plans, and nothing is wrong with them.
REASON: Final = "Reason"
SKIPPED_COLUMNS: Final[tuple[str, ...]] = (FILE, REASON)
# The Problem cell of a file that could not be read (a finding's Problem cell is its
# catalogue label). Registers written before the labels said "not read", and listed
# skipped files on the Problems sheet as "skipped" or "Skipped"; the reader knows all.
SKIPPED: Final = "Skipped"
NOT_READ: Final = catalogue.label("unreadable")
EARLIER_SKIPPED, EARLIER_NOT_READ = "skipped", "not read"

# The Summary sheet: a title, labelled figures (label in column A, value in B), then
# a table of counts per plan.
SUMMARY_TITLE: Final = "Action plan register"
REPORTING_DATE: Final = model.REPORTING_DATE
RULE_PACK: Final = "Rule pack"
PLANS_READ: Final = "Plans read"
FILES_NOT_READ: Final = "Files not read"
# Each labelled figure after the reporting date and rule pack, and its key in
# Consolidation.totals().
SUMMARY_TOTALS: Final[tuple[tuple[str, str], ...]] = (
    (PLANS_READ, "plans_read"),
    (FILES_NOT_READ, "plans_not_read"),
    ("Actions", "actions"),
    ("Overdue", "overdue"),
    (f"Due in the next {model.DUE_SOON_DAYS} days", "due_soon"),
    ("Plans or files with problems (errors, or not read)", "problems"),
    ("Plans with warnings only", "warnings_only"),
    ("Changes since the last run", "changes"),
    ("Progress updates still unchanged (listed in an earlier week)", "still_stale"),
)
SUMMARY_PLAN_COLUMNS: Final[tuple[str, ...]] = (
    model.ORGANISATION,
    PLAN,
    "Actions",
    *(label or NO_COLOUR for label in RAG_COLUMNS),
    "Overdue",
    "Due soon",
    "Errors",
    "Warnings",
)

# Column widths (characters); a column not named is 14 wide.
DEFAULT_WIDTH: Final = 14
ACTION_WIDTHS: Final[Mapping[str, int]] = {
    model.ACTION: 50,
    model.AREA: 30,
    model.PROGRESS: 45,
    model.OUTCOME: 30,
    model.EVIDENCE: 30,
    VALIDATION: 50,
    model.PLAN_TITLE: 30,
    model.ORGANISATION: 24,
    model.DUE_DATE: 12,
    model.LAST_UPDATED: 12,
    # Wide enough for their headings on one line (a printed heading is never cut).
    ORIGINAL_DUE: 15,
    REVISIONS: 16,
    OTHER_COLUMNS: 50,
    SOURCE_FILE: 30,
    SOURCE_ROW: 10,
    model.LEAD: 18,
    model.LEAD_EMAIL: 24,
    model.REF: 8,
    model.STATUS: 11,
    model.GRADE: 7,
    RAG: 8,
    DAYS_OVERDUE: 12,
}
LIST_WIDTHS: Final[Mapping[str, int]] = {
    CHANGE: 26,
    PLAN: 36,
    model.REF: 8,
    model.ACTION: 50,
    DETAIL: 40,
    TIMES_SLIPPED: 10,
    FILE: 36,
    PROBLEM: 24,
    SEVERITY: 10,
    COLUMN: 18,
    VALUE: 24,
    MESSAGE: 70,
    REASON: 50,
}

# The weekly loop's sheets (consolidate --packs): the update packs sent and whether each
# came back, and the extension requests leads made with them.
PACKS_SHEET: Final = "Update packs"
REQUESTS_SHEET: Final = "Extension requests"
LEAD: Final = model.LEAD
PACK_FILE: Final = "Pack"
SENT_FOR: Final = "Reporting date"
REPLY_BY: Final = "Reply by"
STATE: Final = "State"
RETURNED_ON: Final = "Merged on"
PACK_COLUMNS: Final[tuple[str, ...]] = (LEAD, PACK_FILE, SENT_FOR, REPLY_BY, STATE, RETURNED_ON)
# A pack's State.
RETURNED: Final = "returned"
NOT_RETURNED: Final = "not returned by the reply-by date"
AWAITED: Final = "awaiting reply"
PROPOSED_DUE: Final = "Proposed due date"
REASON: Final = "Reason"
REQUESTED_ON: Final = "Requested on"
GRANTED_ON: Final = "Granted on"
REQUEST_COLUMNS: Final[tuple[str, ...]] = (
    SOURCE_FILE,
    model.REF,
    model.ACTION,
    LEAD,
    model.DUE_DATE,
    PROPOSED_DUE,
    REASON,
    REQUESTED_ON,
    TIMES_SLIPPED,
    STATE,
    GRANTED_ON,
)
# A request's State.
REQUESTED: Final = "requested"
GRANTED: Final = "granted"
LOOP_WIDTHS: Final[Mapping[str, int]] = {
    LEAD: 22,
    PACK_FILE: 34,
    STATE: 30,
    SOURCE_FILE: 30,
    model.ACTION: 50,
    REASON: 40,
    model.REF: 8,
}

SUMMARY, ACTIONS, LISTING, TREND = "summary", "actions", "listing", "trend"


@dataclass(frozen=True)
class Sheet:
    """One sheet of the register, as the writer lays it out and the reader finds it.

    ``kind``: ``"summary"`` (the Summary sheet), ``"actions"`` (one action a row:
    filter, RAG colours when it has a RAG column), ``"listing"`` (one thing a
    row) or ``"trend"`` (one reporting date a row, and a chart). ``empty`` is the
    line shown when there is nothing to list.
    """

    name: str
    kind: str
    columns: tuple[str, ...] = ()
    widths: Mapping[str, int] = field(default_factory=dict)
    empty: str = ""
    # Written only when the roll-up was given the pack folder (consolidate --packs).
    weekly_loop: bool = False
    # Printed this many pages wide (fitted to the width; as many pages tall as needed).
    pages_wide: int = 1

    def width(self, column: str) -> int:
        return self.widths.get(column, DEFAULT_WIDTH)


SHEETS: Final[tuple[Sheet, ...]] = (
    Sheet(SUMMARY_SHEET, SUMMARY),
    Sheet(TREND_SHEET, TREND, TREND_COLUMNS, {TREND_DATE: 14}, NO_TREND),
    # 23 columns: two pages wide, so its text stays readable on A4.
    Sheet(REGISTER_SHEET, ACTIONS, REGISTER_COLUMNS, ACTION_WIDTHS, pages_wide=2),
    Sheet(OVERDUE_SHEET, ACTIONS, VIEW_COLUMNS, ACTION_WIDTHS, "No action is overdue."),
    Sheet(
        DUE_SOON_SHEET,
        ACTIONS,
        VIEW_COLUMNS,
        ACTION_WIDTHS,
        f"No open action is due in the next {model.DUE_SOON_DAYS} days.",
    ),
    Sheet(
        CHANGES_SHEET,
        LISTING,
        CHANGE_COLUMNS,
        LIST_WIDTHS,
        "No changes since the last run (or no earlier run).",
    ),
    Sheet(
        NOT_RETURNED_SHEET,
        LISTING,
        NOT_RETURNED_COLUMNS,
        {**ACTION_WIDTHS, LAST_RETURNED: 13},
        "Every plan in the last run was returned again (or there was no earlier run).",
    ),
    Sheet(
        PROBLEMS_SHEET,
        LISTING,
        PROBLEM_COLUMNS,
        LIST_WIDTHS,
        "No problems: every plan was read and passed its checks.",
    ),
    Sheet(
        SKIPPED_SHEET,
        LISTING,
        SKIPPED_COLUMNS,
        LIST_WIDTHS,
        "No files were skipped.",
    ),
    Sheet(
        PACKS_SHEET,
        LISTING,
        PACK_COLUMNS,
        LOOP_WIDTHS,
        "No update packs in the pack folder's ledger.",
        weekly_loop=True,
    ),
    Sheet(
        REQUESTS_SHEET,
        LISTING,
        REQUEST_COLUMNS,
        LOOP_WIDTHS,
        "No extension requests.",
        weekly_loop=True,
    ),
)
SHEETS_BY_NAME: Final[Mapping[str, Sheet]] = {sheet.name: sheet for sheet in SHEETS}


# The chasing lists ------------------------------------------------------------
class ChaseLists(NamedTuple):
    """The register rows to chase: overdue (most days first) and due soon (soonest first)."""

    overdue: list[dict[str, object]]
    due_soon: list[dict[str, object]]


def is_due_soon_row(row: Mapping[str, object], reporting_date: dt.date) -> bool:
    """Whether a register row is due within model.DUE_SOON_DAYS of the reporting date."""
    return model.is_due_soon(row.get(model.STATUS), row.get(model.DUE_DATE), reporting_date)


def chase_lists(rows: Iterable[dict[str, object]], reporting_date: dt.date) -> ChaseLists:
    """The overdue and due-soon rows of a register, each in its order (ties by plan title).

    The one place these lists are made: the register's Overdue and Due soon
    sheets, its Summary counts and the emails all use them.
    """
    rows = rows if isinstance(rows, Sequence) else list(rows)
    overdue = sorted(
        (row for row in rows if row.get(DAYS_OVERDUE)),
        key=lambda row: (-int(row[DAYS_OVERDUE]), str(row.get(PLAN_TITLE))),
    )
    due_soon = sorted(
        (row for row in rows if is_due_soon_row(row, reporting_date)),
        key=lambda row: (row[model.DUE_DATE], str(row.get(PLAN_TITLE))),
    )
    return ChaseLists(overdue, due_soon)
