"""Live status colouring: the conditional-format rules, defined once.

Workbooks colour themselves with Excel conditional formatting, never static
fills, so colours stay right while staff type. The rules below are the RAG rule
of :mod:`xltools.model` written as spreadsheet formulas. ``template`` (writing
new workbooks with xlsxwriter) and ``colour`` (refreshing edited workbooks with
openpyxl) both render them from here, and ``colour`` recognises its own earlier
rules by the same templates, so running it twice leaves one set.

A formula template names columns in square brackets, ``[Due date]``; rendering
puts in the column's letter for the first data row, ``$F2``, so Excel applies it
relative to each row of the range.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from xltools import model

# Formula text for "this row is overdue", shared by the Due date and Status rules.
_OVERDUE = (
    "AND(ISNUMBER([Due date]),[Due date]<TODAY(),"
    'TRIM([Status])<>"Complete",TRIM([Status])<>"Withdrawn")'
)


@dataclass(frozen=True)
class ColourRule:
    """One conditional-format rule: colour ``target`` with ``rag`` where ``formula`` holds."""

    name: str
    target: str
    formula: str
    rag: str

    def render(self, letters: Mapping[str, str], first_row: int) -> str:
        """The formula with column names replaced by relative references (no leading =)."""

        def reference(match: re.Match[str]) -> str:
            return f"${letters[match.group(1)]}{first_row}"

        return re.sub(r"\[([^\]]+)\]", reference, self.formula)

    def columns(self) -> set[str]:
        return set(re.findall(r"\[([^\]]+)\]", self.formula))


def _status_rule(status: str) -> ColourRule:
    return ColourRule(
        f"status-{status.lower().replace(' ', '-')}",
        model.STATUS,
        f'TRIM([Status])="{status}"',
        model.STATUS_RAG[status],
    )


def _grade_rule(grade: str) -> ColourRule:
    return ColourRule(
        f"grade-{grade.lower()}", model.GRADE, f'TRIM([Grade])="{grade}"', model.GRADE_RAG[grade]
    )


# Order matters: the first rule that holds for a cell wins (stop if true), so
# the overdue rules come before the status colours: overdue is red whatever the status.
COLOUR_RULES: tuple[ColourRule, ...] = (
    ColourRule("overdue-due-date", model.DUE_DATE, _OVERDUE, model.RED),
    ColourRule("overdue-status", model.STATUS, _OVERDUE, model.RED),
    *(_status_rule(s) for s in model.STATUSES if model.STATUS_RAG[s]),
    *(_grade_rule(g) for g in model.GRADES),
)

_CELL_REFERENCE = re.compile(r"\$?\b[A-Z]{1,3}\$?[0-9]+\b")


def formula_shape(formula: str) -> str:
    """A formula with cell references, case and spaces folded: how rules are recognised.

    LibreOffice and Excel may rewrite our formulas when they save (spacing,
    case of function names, absolute markers), and staff may move columns, so
    comparison ignores all of that.
    """
    text = formula.lstrip("=")
    text = _CELL_REFERENCE.sub("#", text.upper())
    return re.sub(r"\s+", "", text)


OUR_FORMULA_SHAPES: frozenset[str] = frozenset(
    formula_shape(rule.render(dict.fromkeys(rule.columns(), "A"), 2)) for rule in COLOUR_RULES
)


def is_our_formula(formula: str) -> bool:
    """Whether a conditional-format formula is one of ours (from any earlier run)."""
    return formula_shape(formula) in OUR_FORMULA_SHAPES


def applicable_rules(present_columns: set[str]) -> list[ColourRule]:
    """The rules whose target and referenced columns are all present in a sheet."""
    return [
        rule
        for rule in COLOUR_RULES
        if rule.target in present_columns and rule.columns() <= present_columns
    ]


HEADER_FILL = "#1F4E78"
HEADER_FONT = "#FFFFFF"
DATE_FORMAT = "dd/mm/yyyy"
