"""The findings catalogue: every finding code xltools can report, once.

Each code has a severity, a human label (what the text output, the register's
Problems sheet and the digest show) and a message template (what staff read:
what is wrong and what to do), in the style of frictionless' error types. The
rule packs' checks and the engine's own findings (a file not read, text cleaned
for the register, ...) are all here; a finding is built by keyword through the
catalogue, never by hand::

    from xltools import catalogue

    finding = catalogue.finding(
        "duplicate-ref", sheet="Actions", cell="A5", row=5, column="Ref", ref="7", value="7"
    )
    finding.label    # 'Ref used twice'
    finding.message  # "Ref '7' is used more than once in this plan: give each action its own Ref."

Templates may use ``{column}``, ``{value}``, ``{ref}`` and any other field
passed by keyword (a rule pack's checks also give ``{status}``, ``{hint}``,
``{meant}`` and their parameters, such as ``{values}``). A rule pack's check
names a catalogued code and may override its severity and message (see
:mod:`xltools.rules`); a code not in the catalogue is refused when the pack is
loaded. The README's list of codes is tested against
:func:`markdown_table`, so it cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass

from xltools.findings import ERROR, WARNING, Finding

SEVERITIES = (ERROR, WARNING)


@dataclass(frozen=True)
class FindingType:
    """One kind of finding: a stable code, its severity, label and message template."""

    code: str
    severity: str
    label: str
    template: str


CATALOGUE: dict[str, FindingType] = {}


def _add(code: str, severity: str, label: str, template: str) -> None:
    assert severity in SEVERITIES and code not in CATALOGUE, code
    CATALOGUE[code] = FindingType(code, severity, label, template)


# --------------------------------------------------------------------------
# Reading a workbook
# --------------------------------------------------------------------------
_add("unreadable", ERROR, "File could not be read", "{reason}")
_add(
    "hidden-actions-sheet",
    ERROR,
    "Actions sheet hidden",
    "The '{hidden}' sheet is {how}: {consequence}",
)
_add(
    "stray-cell",
    WARNING,
    "Value far outside the table",
    "A value at {where}, far outside the table, was not read: delete it (or move it into the "
    "table) and save again.",
)

# --------------------------------------------------------------------------
# The plan's checks (rule packs name these codes; see rules/*.yaml)
# --------------------------------------------------------------------------
_add(
    "missing-column",
    ERROR,
    "Column missing",
    "The Actions sheet has no '{column}' column: add it to the header row.",
)
_add(
    "plan-value-missing",
    ERROR,
    "Plan detail missing",
    "The Plan sheet has no {column}: fill it in beside the '{column}' label.",
)
_add(
    "error-value",
    ERROR,
    "Cell shows an error",
    "{column} shows the error {value}: replace it with the value it should hold.",
)
_add("missing-value", ERROR, "Value missing", "{column} is empty: fill it in.")
_add(
    "duplicate-ref",
    ERROR,
    "Ref used twice",
    "Ref '{value}' is used more than once in this plan: give each action its own Ref.",
)
_add(
    "unknown-status",
    ERROR,
    "Status not in the list",
    "'{value}' is not a status: choose one of {values}.",
)
_add(
    "unknown-grade",
    ERROR,
    "Grade not in the list",
    "'{value}' is not an audit grade: choose A, B, C or D, or leave it empty.",
)
_add("not-a-date", ERROR, "Date is not a date", "'{value}' is not a date: {hint}.")
_add(
    "due-date-missing",
    ERROR,
    "Due date missing",
    "Due date is empty: enter the date the action is due, or say 'Ongoing' in Timescale.",
)
_add(
    "implausible-date",
    ERROR,
    "Date out of range",
    "{value} is not a plausible date: enter a date between 2000 and 2100.",
)
_add(
    "updated-after-reporting-date",
    ERROR,
    "Updated after the reporting date",
    "Last updated {value} is after the reporting date: check the date.",
)
_add(
    "updated-in-future",
    ERROR,
    "Updated on a day still to come",
    "Last updated {value} is a date still to come: enter the day the row was last brought "
    "up to date.",
)
_add(
    "date-typed-as-text",
    WARNING,
    "Date typed as text",
    "{column} '{value}' is typed as text; it is read as {meant}. Retype it as a date so that "
    "Excel can sort and colour it.",
)
_add(
    "status-spelling",
    WARNING,
    "Status not as listed",
    "Status '{value}' is read as '{meant}': choose it from the list so that it matches exactly.",
)
_add(
    "bad-email",
    ERROR,
    "Not an email address",
    "'{value}' is not an email address: write it like a.officer@council.gov.uk.",
)
_add(
    "grade-contradicts-status",
    WARNING,
    "Grade contradicts status",
    "Grade {value} does not fit the status '{status}': check the grade or the status.",
)
_add(
    "overdue-on-track",
    WARNING,
    "Overdue but On track",
    "The action is past its due date but marked On track: update the status or the due date.",
)
# The audit pack's stricter checks.
_add(
    "complete-without-evidence",
    ERROR,
    "Complete without evidence",
    "The action is Complete but Evidence is empty: say what an auditor can be shown.",
)
_add(
    "grade-d-without-reason",
    ERROR,
    "Grade D without reasons",
    "Grade D needs the reasons in Progress update: say why the action will not be done.",
)
_add(
    "due-date-required",
    ERROR,
    "Due date required for audit",
    "Every action going to audit needs a Due date unless it is Withdrawn.",
)
_add(
    "last-updated-missing",
    ERROR,
    "Last updated missing",
    "Last updated is empty: enter the day the row was last brought up to date.",
)
_add(
    "stale-update",
    ERROR,
    "Not brought up to date",
    "Last updated '{value}' is more than three months before the reporting date: "
    "bring the row up to date.",
)

# --------------------------------------------------------------------------
# The roll-up
# --------------------------------------------------------------------------
_add(
    "text-cleaned",
    WARNING,
    "Text cleaned for the register",
    "{column} text was {what} in the register.",
)

# --------------------------------------------------------------------------
# Importing a plan in its own layout (the import report's judgements)
# --------------------------------------------------------------------------
_add(
    "import-no-actions",
    ERROR,
    "No actions found",
    "0 actions found: header taken on line {header_line} ({mapped}); {missing}",
)
_add(
    "import-not-a-plan",
    ERROR,
    "Not an action plan",
    "{actions} rows found, but no heading names who is responsible and no column says by when "
    "they are due or how they stand: "
    "header taken on line {header_line} ({mapped}); if this is a plan, say which column is which",
)
_add(
    "import-plan-detail", WARNING, "Plan detail read", "{label} read from the plan itself: {value}"
)
_add(
    "import-organisation-not-stated",
    WARNING,
    "Organisation not stated",
    "Organisation: the plan names no council or trust: '{value}' (give the organisation)",
)
_add(
    "import-due-set-complete",
    WARNING,
    "Due date set for a done action",
    "complete with no date in the source: due date set to the reporting date",
)
_add(
    "import-text-joined-below",
    WARNING,
    "Row joined to the one below",
    "row text continued on the next row: joined to the action below",
)
_add(
    "import-row-joined-above",
    WARNING,
    "Row joined to the one above",
    "continuation row joined to the action above",
)
_add(
    "import-group-heading",
    WARNING,
    "Row heads a group",
    "unnumbered row {text!r} under {heading!r} heads the rows below: its area and lead "
    "continue down them",
)
_add("import-row-skipped", WARNING, "Row skipped", "row has no action text: skipped")
_add(
    "import-ditto",
    WARNING,
    "'As above' resolved",
    "{column} {value!r}: the value of the row above ({above!r})",
)
_add("import-lead-missing", WARNING, "No lead officer", "no lead officer: set to '{lead}'")
_add(
    "import-area-from-title",
    WARNING,
    "Area from the plan's title",
    "no area for improvement in the source: the plan's title is used ({area!r})",
)
_add("import-status-read", WARNING, "Status word read", "status {value!r} read as {status}")
_add(
    "import-status-not-stated",
    WARNING,
    "Status not stated",
    "nothing says how the action stands: Not started",
)
_add(
    "import-last-updated-not-a-day",
    WARNING,
    "Last updated not a day",
    "Last updated {value!r} is not a day: left empty",
)
_add(
    "import-grade-a-no-date",
    WARNING,
    "Graded A with no date",
    "graded A with no follow-up date (N/A): treated as Complete",
)
_add(
    "import-no-due-date",
    WARNING,
    "No due date read",
    "no due date could be read: Timescale marked as ongoing",
)
_add(
    "import-refs-given",
    WARNING,
    "Refs given",
    "the plan has no numbering: Refs 1 to {count} given in order",
)
_add(
    "import-ref-missing",
    WARNING,
    "Ref missing",
    "the action's number was missing: numbered from the one before",
)
_add(
    "import-refs-repeated",
    WARNING,
    "Refs repeated",
    "Refs used more than once were given suffixes -a, -b, ...: {refs}",
)


# --------------------------------------------------------------------------
# Merging returned update packs (xltools merge): conflicts, listed and not applied
# --------------------------------------------------------------------------
for _code, _label in (
    ("not-a-pack", "Not an update pack"),
    ("unknown-pack", "Pack not in the ledger"),
    ("record-altered", "Pack record altered"),
    ("locked-cell-edited", "Locked cell edited"),
    ("unknown-plan", "Plan not found"),
    ("unknown-ref", "Ref not in the plan"),
    ("two-packs", "Two packs on one action"),
    ("plan-newer", "Plan updated since the pack"),
    ("fails-rule", "Returned value fails the rules"),
    ("column-missing", "Plan has no such column"),
    ("plan-not-editable", "Plan cannot be edited safely"),
    ("no-request", "No extension request to grant"),
):
    _add(_code, ERROR, _label, "{detail}")


def get(code: str) -> FindingType:
    """The catalogued type of a code; ``KeyError`` (naming the code) if there is none."""
    try:
        return CATALOGUE[code]
    except KeyError:
        raise KeyError(f"'{code}' is not a catalogued finding code") from None


def label(code: str) -> str:
    """The human label of a code (the code itself if it is not catalogued)."""
    kind = CATALOGUE.get(code)
    return kind.label if kind else code


def finding(
    code: str,
    *,
    sheet: str = "",
    cell: str = "",
    row: int | None = None,
    column: str = "",
    ref: str = "",
    value: str = "",
    severity: str | None = None,
    message: str | None = None,
    **fields: object,
) -> Finding:
    """A finding of a catalogued code, its message made from the template.

    ``fields`` fill the template beside ``column``, ``value`` and ``ref``;
    ``severity`` and ``message`` (already worded) override the catalogue's, as a
    rule pack may.
    """
    kind = get(code)
    if message is None:
        message = kind.template.format(column=column, value=value, ref=ref, **fields)
    return Finding(
        code=code,
        label=kind.label,
        severity=severity or kind.severity,
        sheet=sheet,
        cell=cell,
        row=row,
        column=column,
        ref=ref,
        value=value,
        message=message,
    )


def markdown_table() -> str:
    """The catalogue as the Markdown table in the README (a test keeps them equal)."""
    lines = ["| code | severity | label | message |", "|---|---|---|---|"]
    for kind in CATALOGUE.values():
        template = kind.template.replace("|", "\\|")
        lines.append(f"| `{kind.code}` | {kind.severity} | {kind.label} | {template} |")
    return "\n".join(lines)
