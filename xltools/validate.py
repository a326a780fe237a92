"""Validating plan workbooks: read each safely, run a rule pack over all of them at once.

``validate`` is the library call behind ``xltools validate``; ``consolidate``
uses the same two steps. Findings are data; an unreadable file becomes a
report with status ``unreadable`` and one finding saying why, so one bad file
never stops the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

from xltools.errors import UnreadableWorkbook, XltoolsError
from xltools.findings import ERROR, FileReport, Finding, ValidationReport
from xltools.read import DEFAULT_LIMITS, Limits, PlanTable, discover, read_plan
from xltools.rules import RulePack, load_pack, report_for, run_pack


def unreadable_report(path: Path, error: UnreadableWorkbook) -> FileReport:
    finding = Finding("unreadable", ERROR, "", "", None, "", "", "", error.message)
    return FileReport(Path(path), "unreadable", [finding], [], error=error.message)


def validate_tables(
    tables: list[PlanTable], pack: RulePack, reporting_date: dt.date | None = None
) -> list[FileReport]:
    """Validate plans already read; the reporting date defaults to each plan's own, then today."""
    dates = [reporting_date or t.reporting_date or dt.date.today() for t in tables]
    results = run_pack(pack, tables, dates)
    return [
        report_for(table.path, table, findings, runs, date)
        for table, (findings, runs), date in zip(tables, results, dates, strict=True)
    ]


def validate(
    paths: Iterable[str | Path],
    rules: str | Path | RulePack = "default",
    reporting_date: dt.date | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ValidationReport:
    """Validate plan workbooks (files, or folders searched recursively)."""
    pack = rules if isinstance(rules, RulePack) else load_pack(rules)
    paths = list(paths)
    discovery = discover(paths)
    if not discovery.workbooks and not discovery.skipped:
        raise XltoolsError(
            "no plan workbooks (.xlsx, .xlsm) found in " + ", ".join(map(str, paths))
        )
    reports = read_and_validate(discovery.workbooks, pack, reporting_date, limits)
    return ValidationReport(reports, pack.name, discovery.skipped)


def read_and_validate(
    paths: list[Path],
    pack: RulePack,
    reporting_date: dt.date | None = None,
    limits: Limits = DEFAULT_LIMITS,
    progress: Callable[[Path], None] | None = None,
) -> list[FileReport]:
    """Read every workbook (an unreadable one becomes its report) and validate them together."""
    reports: dict[Path, FileReport] = {}
    tables: list[PlanTable] = []
    for path in paths:
        if progress:
            progress(path)
        try:
            tables.append(read_plan(path, limits))
        except UnreadableWorkbook as error:
            reports[path] = unreadable_report(path, error)
    for report in validate_tables(tables, pack, reporting_date):
        reports[report.path] = report
    return [reports[path] for path in paths]
