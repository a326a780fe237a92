"""Findings are data: what validation found, where, and which checks ran.

A :class:`Finding` points at the cell staff must fix (sheet, cell, row,
column, Ref) and says what is wrong in words they understand. A
:class:`FileReport` holds one workbook's findings and every check run against
it with its pass and fail counts, like a frictionless report; an unreadable
file is a report too (status ``unreadable``), so one bad file never stops a run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    code: str
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
            "path": str(self.path),
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
    def exit_status(self) -> int:
        if any(f.status == "unreadable" for f in self.files):
            return 2
        return 1 if any(f.errors for f in self.files) else 0

    def to_dict(self) -> dict:
        return {
            "rule_pack": self.rule_pack,
            "files": [f.to_dict() for f in self.files],
            "skipped": [{"path": str(p), "reason": r} for p, r in self.skipped],
        }
