"""The improvement action plan: the single source of truth.

Everything that names a sheet, a column, a status or a grade, and the one RAG
derivation, lives here. The template, the reader, the rule packs' engine, the
register and the emails all import these names instead of spelling them again,
so a column renamed here is renamed everywhere.

A plan has two parts:

* the ``Plan`` sheet: labels in column A, values in column B (``PLAN_LABELS``);
* the ``Actions`` sheet: one header row, one action per row (``ACTION_COLUMNS``).

RAG (red, amber, green; here also blue for complete and grey for withdrawn) is
derived by :func:`derive_rag` from status, grade, due date and reporting date.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Final

TEMPLATE_VERSION: Final = 1

# Sheet names ---------------------------------------------------------------
PLAN_SHEET: Final = "Plan"
ACTIONS_SHEET: Final = "Actions"
GUIDANCE_SHEET: Final = "Guidance"
LISTS_SHEET: Final = "Lists"
VALIDATION_SHEET: Final = "Validation"

# Plan sheet labels ---------------------------------------------------------
ORGANISATION: Final = "Organisation"
SERVICE: Final = "Service"
PLAN_TITLE: Final = "Plan title"
PLAN_SOURCE: Final = "Plan source"
PLAN_OWNER: Final = "Plan owner"
OWNER_EMAIL: Final = "Owner email"
REPORTING_DATE: Final = "Reporting date"
TEMPLATE_VERSION_LABEL: Final = "Template version"

PLAN_LABELS: Final[tuple[str, ...]] = (
    ORGANISATION,
    SERVICE,
    PLAN_TITLE,
    PLAN_SOURCE,
    PLAN_OWNER,
    OWNER_EMAIL,
    REPORTING_DATE,
    TEMPLATE_VERSION_LABEL,
)
PLAN_REQUIRED: Final = (ORGANISATION, PLAN_TITLE, REPORTING_DATE)

# Actions columns -----------------------------------------------------------
REF: Final = "Ref"
AREA: Final = "Area for improvement"
ACTION: Final = "Action"
LEAD: Final = "Lead officer"
LEAD_EMAIL: Final = "Lead email"
DUE_DATE: Final = "Due date"
TIMESCALE: Final = "Timescale"
RESOURCES: Final = "Resources"
OUTCOME: Final = "Expected outcome"
PROGRESS: Final = "Progress update"
EVIDENCE: Final = "Evidence"
STATUS: Final = "Status"
GRADE: Final = "Grade"
LAST_UPDATED: Final = "Last updated"


@dataclass(frozen=True)
class Column:
    """One column of the Actions sheet."""

    name: str
    kind: str  # "text", "date", "email", "status" or "grade"
    required: bool
    width: int
    guidance: str


ACTION_COLUMNS: Final[tuple[Column, ...]] = (
    Column(REF, "text", True, 9, "The action's number in the plan, e.g. 1.4.1-b or 7. Unique."),
    Column(
        AREA,
        "text",
        True,
        28,
        "The finding, recommendation or section of the inspection this action answers.",
    ),
    Column(ACTION, "text", True, 45, "What will be done, in a sentence or two."),
    Column(LEAD, "text", True, 20, "The officer answerable for the action (one name)."),
    Column(LEAD_EMAIL, "email", False, 26, "The lead officer's email address, for reminders."),
    Column(
        DUE_DATE,
        "date",
        True,
        12,
        "The date the action should be complete, as a real date (31/03/2004). Required "
        "unless the action is Withdrawn or the Timescale says it is ongoing.",
    ),
    Column(
        TIMESCALE,
        "text",
        False,
        16,
        "The timescale as originally written, e.g. 'Jan - March 2004' or 'Ongoing'.",
    ),
    Column(RESOURCES, "text", False, 20, "Money, staff time or other resources the action needs."),
    Column(
        OUTCOME,
        "text",
        False,
        30,
        "The outcome, target or performance measure that shows the action worked.",
    ),
    Column(
        PROGRESS, "text", False, 40, "What has happened so far. Update it every reporting period."
    ),
    Column(
        EVIDENCE, "text", False, 30, "What an auditor can be shown: documents, minutes, figures."
    ),
    Column(STATUS, "status", True, 13, "Choose from the list: see the statuses below."),
    Column(GRADE, "grade", False, 8, "Audit grade A to D, where the plan is audited: see below."),
    Column(LAST_UPDATED, "date", False, 13, "The date this row was last brought up to date."),
)
ACTION_COLUMN_NAMES: Final[tuple[str, ...]] = tuple(c.name for c in ACTION_COLUMNS)
REQUIRED_COLUMNS: Final[tuple[str, ...]] = tuple(c.name for c in ACTION_COLUMNS if c.required)
DATE_COLUMNS: Final[tuple[str, ...]] = tuple(c.name for c in ACTION_COLUMNS if c.kind == "date")
COLUMNS_BY_NAME: Final = {c.name: c for c in ACTION_COLUMNS}

# Vocabularies --------------------------------------------------------------
NOT_STARTED: Final = "Not started"
ON_TRACK: Final = "On track"
AT_RISK: Final = "At risk"
OFF_TRACK: Final = "Off track"
COMPLETE: Final = "Complete"
WITHDRAWN: Final = "Withdrawn"
STATUSES: Final[tuple[str, ...]] = (NOT_STARTED, ON_TRACK, AT_RISK, OFF_TRACK, COMPLETE, WITHDRAWN)
CLOSED_STATUSES: Final = frozenset({COMPLETE, WITHDRAWN})

STATUS_GUIDANCE: Final = {
    NOT_STARTED: "Work has not begun yet. Not coloured.",
    ON_TRACK: "Work is under way and will finish by the due date. Green.",
    AT_RISK: "Work is under way but may miss the due date or fall short. Amber.",
    OFF_TRACK: "Work will miss the due date or has stalled. Red.",
    COMPLETE: "The action is done and there is evidence to show it. Blue.",
    WITHDRAWN: "The action will not be carried out; say why in Progress update. Grey.",
}

GRADES: Final[tuple[str, ...]] = ("A", "B", "C", "D")
GRADE_GUIDANCE: Final = {
    "A": "Implementation has progressed as planned: complete, or milestones met and on "
    "target. Green.",
    "B": "Progress less than intended, but plans are in place to complete. Amber.",
    "C": "Progress less than intended and no plans in place to complete. Red.",
    "D": "The council no longer intends to implement the action (give the reasons). Grey.",
}

# Which statuses each audit grade can honestly stand beside. A grade outside its
# set contradicts the status (a warning, not an error: staff may be mid-update).
GRADE_COMPATIBLE_STATUSES: Final = {
    "A": frozenset({NOT_STARTED, ON_TRACK, COMPLETE}),
    "B": frozenset({NOT_STARTED, ON_TRACK, AT_RISK}),
    "C": frozenset({AT_RISK, OFF_TRACK}),
    "D": frozenset({WITHDRAWN}),
}

# RAG -----------------------------------------------------------------------
BLUE: Final = "Blue"
GREEN: Final = "Green"
AMBER: Final = "Amber"
RED: Final = "Red"
GREY: Final = "Grey"
RAG_LABELS: Final[tuple[str, ...]] = (RED, AMBER, GREEN, BLUE, GREY, "")

STATUS_RAG: Final = {
    NOT_STARTED: "",
    ON_TRACK: GREEN,
    AT_RISK: AMBER,
    OFF_TRACK: RED,
    COMPLETE: BLUE,
    WITHDRAWN: GREY,
}
GRADE_RAG: Final = {"A": GREEN, "B": AMBER, "C": RED, "D": GREY}

# Fill and font colours per RAG label: used by workbooks and emails alike.
RAG_COLOURS: Final = {
    RED: ("#FFC7CE", "#9C0006"),
    AMBER: ("#FFEB9C", "#9C5700"),
    GREEN: ("#C6EFCE", "#006100"),
    BLUE: ("#BDD7EE", "#1F4E78"),
    GREY: ("#D9D9D9", "#404040"),
}

# Statuses in order of progress, for "better" or "worse" between runs (Withdrawn is neither).
STATUS_PROGRESS: Final[tuple[str, ...]] = (OFF_TRACK, AT_RISK, NOT_STARTED, ON_TRACK, COMPLETE)
# The status an audit grade suggests when a plan gives only the grade (imports).
GRADE_SUGGESTED_STATUS: Final = {"A": ON_TRACK, "B": AT_RISK, "C": OFF_TRACK, "D": WITHDRAWN}
# The status a RAG colour written in a plan stands for (imports): STATUS_RAG read backwards.
RAG_WORD_STATUS: Final = {
    label.lower(): status for status, label in STATUS_RAG.items() if label and label != GREY
}

# Status words plans write, beyond the standard ones, and the status each stands for
# (imports). BRAG plans add blue for complete; "Blue - complete & assured" reads by
# its first words.
STATUS_WORDS: Final = {
    **{status.lower(): status for status in STATUSES},
    **RAG_WORD_STATUS,
    "blue": COMPLETE,
    "completed": COMPLETE,
    "achieved": COMPLETE,
    "done": COMPLETE,
    "closed": COMPLETE,
    "implemented": COMPLETE,
    "complete and assured": COMPLETE,
    "complete assured": COMPLETE,
    "delivered": COMPLETE,
    "on target": ON_TRACK,
    "on schedule": ON_TRACK,
    "in progress": ON_TRACK,
    "progressing": ON_TRACK,
    "ongoing": ON_TRACK,
    "partially implemented": AT_RISK,
    "partially complete": AT_RISK,
    "slippage": AT_RISK,
    "slipped": AT_RISK,
    "delayed": AT_RISK,
    "behind": AT_RISK,
    "behind target": AT_RISK,
    "off target": OFF_TRACK,
    "not achieved": OFF_TRACK,
    "not implemented": OFF_TRACK,
    "overdue": OFF_TRACK,
    "deferred": OFF_TRACK,  # postponed: it will miss its date ("will miss the due date")
    "on hold": OFF_TRACK,  # stalled ("has stalled")
    "superseded": WITHDRAWN,
    "cancelled": WITHDRAWN,
    "no longer required": WITHDRAWN,
    "cannot be carried forward": WITHDRAWN,
    "not carried forward": WITHDRAWN,
    "not taken forward": WITHDRAWN,
    "not started": NOT_STARTED,
    "not yet started": NOT_STARTED,
    "open": NOT_STARTED,
    # A "Completed?" or "Achieved?" column answered yes or no.
    "yes": COMPLETE,
    "no": NOT_STARTED,
}

DUE_SOON_DAYS: Final = 28
STALE_PROGRESS_DAYS: Final = 28

# How many rows from the top of a sheet a header row is looked for in: by the plan
# reader, by colour, and by the importer when it chooses a workbook's sheet.
HEADER_SEARCH_ROWS: Final = 40


@dataclass(frozen=True)
class Rag:
    """The derived RAG label of one action and how many days it is overdue."""

    label: str
    days_overdue: int
    overdue: bool


def _clean_status(status: object) -> str:
    return status.strip() if isinstance(status, str) else ""


def is_overdue(status: object, due_date: object, reporting_date: dt.date) -> bool:
    """Overdue: a real due date before the reporting date, and the action still open."""
    if not isinstance(due_date, dt.date):
        return False
    if isinstance(due_date, dt.datetime):
        due_date = due_date.date()
    return _clean_status(status) not in CLOSED_STATUSES and due_date < reporting_date


def derive_rag(status: object, grade: object, due_date: object, reporting_date: dt.date) -> Rag:
    """Derive the RAG label of an action.

    Overdue is red whatever the status. Otherwise the status decides; where the
    status gives no colour (Not started, blank or unknown) the audit grade does.
    Any input may be junk from a spreadsheet: the function never raises.
    """
    if isinstance(reporting_date, dt.datetime):
        reporting_date = reporting_date.date()
    if is_overdue(status, due_date, reporting_date):
        due = due_date.date() if isinstance(due_date, dt.datetime) else due_date
        return Rag(RED, (reporting_date - due).days, True)
    label = STATUS_RAG.get(_clean_status(status), "")
    if not label and isinstance(grade, str):
        label = GRADE_RAG.get(grade.strip().upper(), "")
    return Rag(label, 0, False)


def is_due_soon(status: object, due_date: object, reporting_date: dt.date) -> bool:
    """Due soon: an open action due on or after the reporting date, within DUE_SOON_DAYS."""
    if not isinstance(due_date, dt.date) or _clean_status(status) in CLOSED_STATUSES:
        return False
    if isinstance(due_date, dt.datetime):
        due_date = due_date.date()
    return reporting_date <= due_date <= reporting_date + dt.timedelta(days=DUE_SOON_DAYS)


def grade_contradicts_status(status: object, grade: object) -> bool:
    """True when a known grade sits beside a known status it cannot honestly go with."""
    status_text = _clean_status(status)
    grade_text = grade.strip().upper() if isinstance(grade, str) else ""
    if status_text not in STATUSES or grade_text not in GRADES:
        return False
    if status_text == WITHDRAWN:
        return grade_text != "D"
    return status_text not in GRADE_COMPATIBLE_STATUSES[grade_text]


def is_ongoing(timescale: object) -> bool:
    """Whether a Timescale says the action has no end date ("Ongoing", "continuous")."""
    return isinstance(timescale, str) and bool(_ONGOING.search(timescale))


# Recurring work ("quarterly meetings") has no end date either.
_ONGOING = re.compile(
    r"\b(on-?going|continuous|continual|quarterly|monthly|weekly|annual|annually|yearly|regularly)\b",
    re.IGNORECASE,
)


# Header synonyms for tolerant reading ---------------------------------------
def normalise_header(text: object) -> str:
    """Fold a header to a comparable key: case, spacing, punctuation and accents ignored."""
    if text is None:
        return ""
    folded = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    folded = re.sub(r"[^a-z0-9]+", " ", folded.lower())
    return " ".join(folded.split())


_ACTION_SYNONYMS: Final = {
    REF: ["ref", "reference", "no", "number", "item", "action no", "action number", "id"],
    AREA: [
        "area",
        "improvement area",
        "area for improvement",
        "areas for improvement",
        "finding",
        "recommendation area",
        "priorities for action",
        "priority",
        "section",
        "theme",
    ],
    ACTION: [
        "action",
        "actions",
        "action required",
        "agreed action",
        "proposed action",
        "recommendation",
        "recommendations",
        "how is this to be achieved action",
        "improvement action",
    ],
    LEAD: [
        "lead",
        "lead officer",
        "responsible officer",
        "responsibility",
        "responsible",
        "owner",
        "action owner",
        "who",
        "who by",
        "lead person",
    ],
    LEAD_EMAIL: ["lead email", "email", "lead e mail", "e mail", "officer email"],
    DUE_DATE: ["due", "due date", "deadline", "completion date", "target completion date"],
    TIMESCALE: [
        "timescale",
        "timescales",
        "timetable",
        "when",
        "target date",
        "key dates finish",
        "by when",
        "timeframe",
    ],
    RESOURCES: ["resources", "resource", "resource implications", "cost", "resources required"],
    OUTCOME: [
        "expected outcome",
        "outcome",
        "outcomes",
        "outcome targets",
        "expected evidence of improvement",
        "outcomes performance measure",
        "performance measure",
        "success measure",
        "target",
        "targets",
    ],
    PROGRESS: [
        "progress",
        "progress update",
        "progress notes",
        "comments",
        "comment",
        "update",
        "latest progress",
        "notes",
    ],
    EVIDENCE: ["evidence", "evidence available", "evidence of completion", "supporting evidence"],
    STATUS: ["status", "rag", "rag status", "current status", "progress status"],
    GRADE: ["grade", "audit grade", "grading"],
    LAST_UPDATED: ["last updated", "updated", "date updated", "last update", "date of update"],
}

_PLAN_SYNONYMS: Final = {
    ORGANISATION: ["organisation", "organization", "council", "authority", "partner", "body"],
    SERVICE: ["service", "department", "directorate", "service area"],
    PLAN_TITLE: ["plan title", "title", "plan", "plan name"],
    PLAN_SOURCE: ["plan source", "source", "inspection", "review"],
    PLAN_OWNER: ["plan owner", "owner", "contact"],
    OWNER_EMAIL: ["owner email", "contact email", "email"],
    REPORTING_DATE: ["reporting date", "report date", "as at", "progress as at", "date"],
    TEMPLATE_VERSION_LABEL: ["template version", "version"],
}


def _synonym_table(synonyms: dict[str, list[str]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, words in synonyms.items():
        table[normalise_header(canonical)] = canonical
        for word in words:
            table.setdefault(normalise_header(word), canonical)
    return table


ACTION_HEADER_SYNONYMS: Final = _synonym_table(_ACTION_SYNONYMS)
# Each column's name and synonyms, folded: the words other readers (the importer) start from.
ACTION_HEADER_WORDS: Final = {
    column: [normalise_header(column), *(normalise_header(w) for w in words)]
    for column, words in _ACTION_SYNONYMS.items()
}
PLAN_LABEL_SYNONYMS: Final = _synonym_table(_PLAN_SYNONYMS)


@functools.lru_cache(maxsize=4096)
def _canonical_action_header(header: str) -> str | None:
    return ACTION_HEADER_SYNONYMS.get(normalise_header(header))


def canonical_action_header(header: object) -> str | None:
    """The standard Actions column a header means, or None when it means none."""
    if isinstance(header, str):
        return _canonical_action_header(header)
    return ACTION_HEADER_SYNONYMS.get(normalise_header(header))


def canonical_plan_label(label: object) -> str | None:
    """The standard Plan label a label means, or None."""
    return PLAN_LABEL_SYNONYMS.get(normalise_header(label))


def canonical_status(value: object) -> str | None:
    """A status written in any case or spacing, as its standard spelling, or None."""
    key = normalise_header(value)
    for status in STATUSES:
        if normalise_header(status) == key:
            return status
    return None
