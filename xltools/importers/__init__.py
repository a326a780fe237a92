"""Importing the plans councils already have into the standard plan workbook.

``import_plan`` reads a legacy plan (a Word table exported as text, a CSV or a
workbook in its own layout), reads its layout with the one general mechanism of
:mod:`xltools.importers.layout`, and returns the plan, its actions and the
import report. ``write_import`` writes the standard workbook through the same
template code as ``xltools new``, so dropdowns and colours come with it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from xltools import model
from xltools.errors import XltoolsError
from xltools.words import plural


@dataclass
class ImportResult:
    source: Path
    plan: dict[str, object]
    actions: list[dict[str, object]]
    extra_columns: list[str]
    report: dict[str, object] = field(default_factory=dict)


def _plan_details(title_rows: list[str], source: Path) -> dict[str, object]:
    """Organisation, service and title as the plan's own title lines give them."""
    details: dict[str, object] = {}
    text = "\n".join(title_rows)
    council = re.search(r"Council:\s*(.+?)(?:\s+Service:|$)", text, re.MULTILINE)
    short_rows = "\n".join(row for row in title_rows if len(row) < 120)
    named = re.search(r"\b((?:[A-Z][\w'&-]*\s+){0,3}Council)\b", short_rows)
    # "Council: Argyll and Bute Council" is a label; "Sunnyshire Council: plan" is not.
    if council and re.search(r"\b(Council|Borough|Trust)\b", council.group(1)):
        details[model.ORGANISATION] = council.group(1).strip()
    elif named:
        details[model.ORGANISATION] = named.group(1).strip()
    service = re.search(r"Service:\s*(.+)$", text, re.MULTILINE)
    if service:
        details[model.SERVICE] = service.group(1).strip()
    for row in title_rows:
        if 3 < len(row) < 160:
            details[model.PLAN_TITLE] = re.sub(r"\s+Council:.*$", "", row).strip()
            break
    details.setdefault(model.PLAN_TITLE, source.stem.replace("-", " ").capitalize())
    return details


def import_plan(
    path: str | Path,
    organisation: str | None = None,
    reporting_date: dt.date | None = None,
    service: str | None = None,
    title: str | None = None,
    source_text: str | None = None,
) -> ImportResult:
    """Read a legacy plan into the standard columns, with a report of every judgement."""
    from xltools.importers.layout import read_layout
    from xltools.importers.sources import load_rows

    path = Path(path)
    rows, reader = load_rows(path)
    try:
        result = read_layout(rows)
    except XltoolsError as error:
        raise XltoolsError(error.message, path) from None
    details = _plan_details(result.title_rows, path)
    plan = {
        model.ORGANISATION: organisation or details.get(model.ORGANISATION),
        model.SERVICE: service or details.get(model.SERVICE),
        model.PLAN_TITLE: title or details.get(model.PLAN_TITLE),
        model.PLAN_SOURCE: source_text or f"Imported from {path.name}",
        model.REPORTING_DATE: reporting_date or dt.date.today(),
    }
    actions = [a.values for a in result.actions]
    for action in actions:
        if action[model.STATUS] == model.COMPLETE and not action.get(model.DUE_DATE):
            # Done, with no date in the source: done by the reporting date at the latest.
            action[model.DUE_DATE] = plan[model.REPORTING_DATE]
            result.judgements.append(
                {
                    "ref": action[model.REF],
                    "judgement": "complete with no "
                    "date in the source: due date set to the reporting date",
                }
            )
    extra_columns = list(result.layout.extras.values())
    statuses: dict[str, int] = {}
    for action in actions:
        statuses[str(action[model.STATUS])] = statuses.get(str(action[model.STATUS]), 0) + 1
    report = {
        "file": str(path),
        "reader": reader,
        "header_line": result.layout.header_line,
        "actions_found": len(actions),
        "columns": result.layout.mapping_report,
        "columns_kept_unmapped": extra_columns,
        "statuses": statuses,
        "timescales_not_understood": result.timescales_not_understood,
        "several_grades": result.several_grades,
        "judgements": result.judgements,
    }
    return ImportResult(path, plan, actions, extra_columns, report)


def write_import(result: ImportResult, output: str | Path) -> Path:
    from xltools.template import write_plan

    return write_plan(output, result.plan, result.actions, result.extra_columns)


def report_text(report: dict[str, object]) -> str:
    """The import report in words, for the terminal."""
    lines = [
        f"{report['file']}: {plural(report['actions_found'], 'action')} found "
        f"(header on line {report['header_line']}, {report['reader']})",
        "  columns:",
    ]
    for source, target in report["columns"].items():
        lines.append(f"    {source[:60]!r} -> {target}")
    statuses = ", ".join(f"{count} {status}" for status, count in report["statuses"].items())
    lines.append(f"  statuses: {statuses}")
    for item in report["timescales_not_understood"]:
        lines.append(
            f"  timescale not understood (line {item['line']}, Ref {item['ref']}): "
            f"{item['timescale']!r}"
        )
    for item in report["several_grades"]:
        lines.append(
            f"  several grades (line {item['line']}, Ref {item['ref']}): "
            f"{', '.join(item['grades'])}; kept the worst, {item['kept']}"
        )
    judged = len(report["judgements"])
    lines.append(f"  {plural(judged, 'judgement')} made: see the JSON report (--report) for each")
    return "\n".join(lines)
