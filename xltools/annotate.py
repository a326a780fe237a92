"""Findings written back into a copy of a workbook, and the certificate auditors trust.

``annotate`` writes, for one validated workbook, a copy in which every finding
is a cell comment and a fill on the cell staff must fix, and a ``Validation``
sheet lists the findings with links to their cells and every check run. The
original is never touched. A copy with no errors also carries a certificate:
the rule pack's name and content hash, the xltools version, the reporting date,
when it was validated, and a SHA-256 over a canonical form of the Plan and
Actions *values*, with a fingerprint per row and per cell.

``verify`` recomputes the fingerprints of a certified workbook: formatting
changes leave them alone; any change of value names the action (by Ref) and the
cells that changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from xltools import __version__, model
from xltools.errors import XltoolsError
from xltools.fileio import atomic_path
from xltools.findings import ERROR, FileReport
from xltools.read import PlanTable, read_plan
from xltools.rules import RulePack
from xltools.words import plural

CERTIFICATE_TITLE = "xltools validation certificate"
RESULT = "Result"
VALUES_SHA = "Values SHA-256"
VALIDATED_AT = "Validated at"
ROWS_HEADING = "Row fingerprints"
ERROR_FILL = "FFFFC7CE"
WARNING_FILL = "FFFFEB9C"


# --------------------------------------------------------------------------
# Canonical values and fingerprints
# --------------------------------------------------------------------------
def _canonical(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Fingerprint:
    values_sha256: str
    rows: dict[int, tuple[str, str, dict[str, str]]]  # source row -> (ref, row sha, cell shas)


def fingerprint(table: PlanTable) -> Fingerprint:
    """SHA-256 fingerprints of a plan's values: whole plan, each action row, each cell."""
    plan = {label: _canonical(table.plan.get(label)) for label in model.PLAN_LABELS}
    rows: dict[int, tuple[str, str, dict[str, str]]] = {}
    for record, source_row in zip(table.records, table.source_rows, strict=True):
        values = {name: _canonical(value) for name, value in sorted(record.items())}
        cells = {name: _sha(value)[:12] for name, value in values.items()}
        row_sha = _sha(json.dumps(values, sort_keys=True, ensure_ascii=False))
        rows[source_row] = (_canonical(record.get(model.REF)), row_sha, cells)
    whole = json.dumps(
        {"plan": plan, "rows": [[r, sha] for r, (_, sha, _) in sorted(rows.items())]},
        sort_keys=True,
        ensure_ascii=False,
    )
    return Fingerprint(_sha(whole), rows)


# --------------------------------------------------------------------------
# Annotating a copy
# --------------------------------------------------------------------------
def _set_text(cell, text: str) -> None:
    """Put text in an openpyxl cell as text: openpyxl would make '=...' a formula."""
    from xltools.cells import clean_text

    cell.value = clean_text(text).text
    cell.data_type = "s"


def annotate(
    report: FileReport,
    outdir: str | Path,
    pack: RulePack,
    now: dt.datetime | None = None,
) -> Path:
    """Write the annotated (and, without errors, certified) copy of a validated workbook."""
    from openpyxl import load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    source = Path(report.path)
    target = Path(outdir) / source.name
    if target.resolve() == source.resolve():
        raise XltoolsError(
            "the annotated copy would overwrite the original: choose another --annotate folder",
            source,
        )
    keep_vba = source.suffix.lower() == ".xlsm"
    workbook = load_workbook(source, keep_vba=keep_vba, rich_text=True)
    for finding in report.findings:
        if not finding.cell or finding.sheet not in workbook.sheetnames:
            continue
        cell = workbook[finding.sheet][finding.cell]
        note = f"{finding.severity.upper()} ({finding.code}): {finding.message}"
        if cell.comment is not None and cell.comment.author != "xltools":
            note = f"{cell.comment.text}\n---\n{note}"
        elif cell.comment is not None:
            note = f"{cell.comment.text}\n{note}"
        cell.comment = Comment(note, "xltools", width=300, height=120)
        colour = ERROR_FILL if finding.severity == ERROR else WARNING_FILL
        if not (colour == WARNING_FILL and cell.fill.fgColor.rgb == ERROR_FILL):
            cell.fill = PatternFill("solid", start_color=colour, end_color=colour)
    if model.VALIDATION_SHEET in workbook.sheetnames:
        del workbook[model.VALIDATION_SHEET]
    sheet = workbook.create_sheet(model.VALIDATION_SHEET)
    from xltools.colour import parts_openpyxl_would_lose

    lost = parts_openpyxl_would_lose(source)
    with atomic_path(target) as temporary:
        workbook.save(temporary)
        # Fingerprint the copy as saved, so verify compares like with like.
        certified = not report.errors
        prints = fingerprint(read_plan(temporary)) if certified else None
        _write_validation_sheet(sheet, report, pack, prints, now, lost)
        workbook.save(temporary)
    return target


def _write_validation_sheet(sheet, report: FileReport, pack, prints, now, lost=()) -> None:
    from openpyxl.styles import Font
    from openpyxl.worksheet.hyperlink import Hyperlink

    bold = Font(bold=True)
    now = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    errors, warnings = len(report.errors), len(report.warnings)
    result = (
        f"valid: no errors, {plural(warnings, 'warning')}"
        if prints
        else f"not certified: {plural(errors, 'error')}, {plural(warnings, 'warning')}"
    )
    rows: list[tuple[str, str]] = [
        (RESULT, result),
        ("File", report.path.name),
        ("Rule pack", pack.name),
        ("Rule pack SHA-256", pack.sha256),
        ("xltools version", __version__),
        ("Reporting date", report.reporting_date.isoformat() if report.reporting_date else ""),
        (VALIDATED_AT, now.isoformat()),
    ]
    if lost:
        # openpyxl cannot carry these into the copy; the values (and so the certificate) are whole.
        rows.append(("Not in this copy", ", ".join(lost) + " (see the original workbook)"))
    if prints:
        rows.append((VALUES_SHA, prints.values_sha256))
    sheet["A1"] = CERTIFICATE_TITLE
    sheet["A1"].font = Font(bold=True, size=14)
    line = 2
    for label, value in rows:
        sheet.cell(line, 1, label).font = bold
        _set_text(sheet.cell(line, 2), value)
        line += 1

    line += 1
    sheet.cell(line, 1, "Findings").font = Font(bold=True, size=12)
    line += 1
    headers = ["Severity", "Cell", "Column", "Ref", "Value", "Message", "Code"]
    for index, header in enumerate(headers, start=1):
        sheet.cell(line, index, header).font = bold
    for finding in report.findings:
        line += 1
        values = [
            finding.severity,
            finding.location(),
            finding.column,
            finding.ref,
            finding.value,
            finding.message,
            finding.code,
        ]
        for index, value in enumerate(values, start=1):
            _set_text(sheet.cell(line, index), value)
        if finding.cell:
            link = sheet.cell(line, 2)
            link.hyperlink = Hyperlink(
                ref=link.coordinate, location=f"'{finding.sheet}'!{finding.cell}"
            )
            link.font = Font(color="FF0563C1", underline="single")
    if not report.findings:
        line += 1
        sheet.cell(line, 1, "No findings.")

    line += 2
    sheet.cell(line, 1, "Checks run").font = Font(bold=True, size=12)
    line += 1
    for index, header in enumerate(
        ["Code", "Check", "Column", "Severity", "Checked", "Passed", "Failed"], start=1
    ):
        sheet.cell(line, index, header).font = bold
    for run in report.checks:
        line += 1
        for index, value in enumerate(
            [run.code, run.check, run.column, run.severity, run.checked, run.passed, run.failed],
            start=1,
        ):
            sheet.cell(line, index, value)

    if prints:
        line += 2
        sheet.cell(line, 1, ROWS_HEADING).font = Font(bold=True, size=12)
        line += 1
        for index, header in enumerate(["Row", "Ref", "Row SHA-256", "Cells"], start=1):
            sheet.cell(line, index, header).font = bold
        for source_row, (ref, row_sha, cells) in sorted(prints.rows.items()):
            line += 1
            sheet.cell(line, 1, source_row)
            _set_text(sheet.cell(line, 2), ref)
            _set_text(sheet.cell(line, 3), row_sha)
            _set_text(sheet.cell(line, 4), json.dumps(cells, sort_keys=True, ensure_ascii=False))
    for letter, width in zip("ABCDEFG", (22, 40, 18, 10, 24, 70, 22), strict=True):
        sheet.column_dimensions[letter].width = width


# --------------------------------------------------------------------------
# Verifying
# --------------------------------------------------------------------------
@dataclass
class Verification:
    path: Path
    status: str  # "unchanged", "changed" or "no-certificate"
    validated_at: str = ""
    rule_pack: str = ""
    changes: list[dict] = field(default_factory=list)  # {"ref", "row", "cells", "kind"}

    @property
    def exit_status(self) -> int:
        return {"unchanged": 0, "changed": 1}.get(self.status, 2)

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "status": self.status,
            "validated_at": self.validated_at,
            "rule_pack": self.rule_pack,
            "changes": self.changes,
        }


def _read_certificate(path: Path) -> tuple[dict[str, str], dict[int, tuple[str, str, dict]]]:
    from xltools.read import SafeWorkbook

    workbook = SafeWorkbook(path, (model.VALIDATION_SHEET,))
    if model.VALIDATION_SHEET not in workbook.sheet_names:
        return {}, {}
    rows = workbook.rows(model.VALIDATION_SHEET)
    labels: dict[str, str] = {}
    fingerprints: dict[int, tuple[str, str, dict]] = {}
    in_rows = False
    for row in rows:
        first = row[0] if row else ""
        if first == ROWS_HEADING:
            in_rows = True
            continue
        if in_rows:
            if isinstance(first, float) and len(row) >= 4:
                fingerprints[int(first)] = (str(row[1]), str(row[2]), json.loads(str(row[3])))
            continue
        if isinstance(first, str) and first and len(row) > 1:
            labels.setdefault(first, str(row[1]))
    return labels, fingerprints


def verify(path: str | Path) -> Verification:
    """Check a certified workbook's values against its certificate."""
    path = Path(path)
    table = read_plan(path)
    labels, recorded = _read_certificate(path)
    if VALUES_SHA not in labels:
        return Verification(path, "no-certificate")
    result = Verification(
        path, "unchanged", labels.get(VALIDATED_AT, ""), labels.get("Rule pack", "")
    )
    current = fingerprint(table)
    if current.values_sha256 == labels[VALUES_SHA]:
        return result
    result.status = "changed"
    letters = dict(table.columns)
    for row in sorted(set(recorded) | set(current.rows)):
        old, new = recorded.get(row), current.rows.get(row)
        if old is None:
            result.changes.append({"kind": "added", "ref": new[0], "row": row, "cells": []})
        elif new is None:
            result.changes.append({"kind": "removed", "ref": old[0], "row": row, "cells": []})
        elif old[1] != new[1]:
            names = sorted(set(old[2]) | set(new[2]), key=lambda n: letters.get(n, n))
            cells = [
                f"{letters.get(name, '?')}{row} ({name})"
                for name in names
                if old[2].get(name) != new[2].get(name)
            ]
            result.changes.append({"kind": "changed", "ref": new[0], "row": row, "cells": cells})
    if not result.changes:
        result.changes.append({"kind": "plan", "ref": "", "row": None, "cells": ["Plan sheet"]})
    return result
