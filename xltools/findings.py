"""Findings are data: what validation found, where, and which checks ran.

A :class:`Finding` points at the cell staff must fix (sheet, cell, row,
column, Ref) and says what is wrong in words they understand; its code, label and
severity come from the findings catalogue (:mod:`xltools.catalogue`), through
which every finding is built. A
:class:`FileReport` holds one workbook's findings and every check run against
it with its pass and fail counts, like a frictionless report; an unreadable
file is a report too (status ``unreadable``), so one bad file never stops a run.
A :class:`ValidationReport` says how the run went as an
:class:`~xltools.outcome.Outcome`; the command line alone makes it an exit status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from xltools.errors import shown
from xltools.outcome import Outcome
from xltools.words import plural

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem at one place; build it with :func:`xltools.catalogue.finding`."""

    code: str
    label: str  # the catalogue's words for the code, shown wherever people read findings
    severity: str
    sheet: str
    cell: str
    row: int | None
    column: str
    ref: str
    value: str
    message: str

    def to_dict(self) -> dict:
        return asdict(self)

    def location(self) -> str:
        return f"{self.sheet}!{self.cell}" if self.cell else self.sheet


@dataclass
class CheckRun:
    """One check of a rule pack as run against one file."""

    code: str
    check: str
    column: str
    severity: str
    checked: int = 0
    failed: int = 0

    @property
    def passed(self) -> int:
        return self.checked - self.failed

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "check": self.check,
            "column": self.column,
            "severity": self.severity,
            "checked": self.checked,
            "passed": self.passed,
            "failed": self.failed,
        }


@dataclass
class FileReport:
    path: Path
    status: str  # "valid", "invalid" or "unreadable"
    findings: list[Finding] = field(default_factory=list)
    checks: list[CheckRun] = field(default_factory=list)
    error: str | None = None  # why an unreadable file could not be read
    table: object | None = None  # the PlanTable read, for annotate and consolidate
    reporting_date: dt.date | None = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    def to_dict(self) -> dict:
        result = {
            "path": shown(self.path),
            "status": self.status,
            "findings": [f.to_dict() for f in self.findings],
            "checks": [c.to_dict() for c in self.checks],
        }
        if self.error is not None:
            result["error"] = self.error
        return result


@dataclass
class ValidationReport:
    files: list[FileReport]
    rule_pack: str
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def outcome(self) -> Outcome:
        """CANNOT_RUN when not one workbook could be read; PROBLEMS for an unreadable
        file or a plan with errors (warnings are fine); OK otherwise."""
        return outcome_of(self.files)

    def to_dict(self) -> dict:
        return {
            "outcome": self.outcome.value,
            "rule_pack": self.rule_pack,
            "files": [f.to_dict() for f in self.files],
            "skipped": [{"path": shown(p), "reason": r} for p, r in self.skipped],
        }


def outcome_of(reports: list[FileReport]) -> Outcome:
    """How validating (or rolling up) these files went: the rule every command shares."""
    if all(report.status == "unreadable" for report in reports):
        return Outcome.CANNOT_RUN  # nothing to read, or not one file readable
    if any(report.status == "unreadable" or report.errors for report in reports):
        return Outcome.PROBLEMS
    return Outcome.OK


def tally(found: Iterable[tuple[str, str]]) -> tuple[int, int, list[tuple[str, int]]]:
    """Findings given as (label, severity): how many errors, how many warnings, and each
    label with its count, errors' labels first and the most found first."""
    errors = warnings = 0
    counts: dict[tuple[bool, str], int] = {}
    for label, severity in found:
        if severity == ERROR:
            errors += 1
        else:
            warnings += 1
        key = (severity != ERROR, label)
        counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: (item[0][0], -item[1]))
    return errors, warnings, [(label, count) for (_, label), count in ranked]


def labels_in_words(labels: list[tuple[str, int]], top: int = 3) -> str:
    """The findings met most, in words: 'Date is not a date (2), Value missing (1), and
    1 more kind'."""
    listed = [f"{label} ({count})" for label, count in labels[:top]]
    if len(labels) > top:
        listed.append(f"and {plural(len(labels) - top, 'more kind')}")
    return ", ".join(listed)


def findings_in_words(found: Iterable[tuple[str, str]], top: int = 3) -> str:
    """One plan's findings in a line: '3 errors, 1 warning: Date is not a date (2), Value
    missing (1), and 1 more kind'."""
    errors, warnings, labels = tally(found)
    counts = [plural(errors, "error")] if errors else []
    counts += [plural(warnings, "warning")] if warnings or not errors else []
    listed = labels_in_words(labels, top)
    return ", ".join(counts) + (": " + listed if listed else "")
