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
from typing import TYPE_CHECKING

from xltools import model
from xltools.errors import XltoolsError
from xltools.importers.layout import judged

if TYPE_CHECKING:
    from xltools.findings import FileReport
    from xltools.outcome import Outcome
from xltools.words import plural


@dataclass
class ImportResult:
    source: Path
    plan: dict[str, object]
    actions: list[dict[str, object]]
    extra_columns: list[str]
    report: dict[str, object] = field(default_factory=dict)
    # The written plan checked against the default rules (set by save_import).
    check: FileReport | None = None

    @property
    def outcome(self) -> Outcome:
        """How the import went, by the written plan's check (as ``validate`` would say)."""
        from xltools.findings import outcome_of
        from xltools.outcome import Outcome

        return outcome_of([self.check]) if self.check is not None else Outcome.OK


_ORGANISATION = re.compile(
    r"\b((?:City|County|Borough) (?:of|Council of) [A-Z][\w'&-]*(?:\s+[A-Z][\w'&-]*){0,2}"
    r"|(?:London|Royal) Borough of [A-Z][\w'&-]*(?:\s+(?:and\s+)?[A-Z][\w'&-]*){0,3}"
    r"|(?:[A-Z][\w'&-]*\s+){1,4}(?:NHS\s+(?:Foundation\s+)?Trust|Health Board)"
    r"|(?:[A-Z][a-z][\w'&-]*\s+(?:and\s+|&\s+|upon\s+|on\s+)?){1,4}"
    r"(?:City\s+|County\s+|Borough\s+|District\s+|Metropolitan\s+Borough\s+|Town\s+)?Council"
    r")\b"
)
_SOURCE = re.compile(
    r"\b(joint review|best value review|review|inspection|audit|peer challenge|"
    r"governance statement|ofsted|cqc|inspectorate)\b",
    re.IGNORECASE,
)
_AS_AT = re.compile(r"\bas at\s+(.{4,30})", re.IGNORECASE)


def _plan_details(
    title_rows: list[str], source: Path, body_text: str = ""
) -> tuple[dict[str, object], list[tuple[str, dict]]]:
    """Organisation, service, title, source and date as the plan's title lines give them.

    Returns the details and, for each one read, a judgement for the report.
    """
    from xltools.dates import due_date_from_text
    from xltools.importers.layout import plan_title

    details: dict[str, object] = {}
    text = "\n".join(title_rows)
    short_rows = [row for row in title_rows if len(row) < 160]
    council = re.search(r"Council:\s*(.+?)(?:\s+Service:|$)", text, re.MULTILINE)
    # "Council: Argyll and Bute Council" is a label; "Sunnyshire Council: plan" is not.
    if council and re.search(r"\b(Council|Borough|Trust)\b", council.group(1)):
        details[model.ORGANISATION] = council.group(1).strip()
    else:
        for row in short_rows:
            named = _ORGANISATION.search(row)
            if named:
                details[model.ORGANISATION] = named.group(1).strip()
                break
    if model.ORGANISATION not in details:
        # Named in the plan's text ("... agreed by Herefordshire Council"): the most named.
        named = [
            m.group(1).strip()
            for m in _ORGANISATION.finditer(body_text)
            if not m.group(1).startswith(("The ", "This ", "A "))
        ]
        if named:
            details[model.ORGANISATION] = max(set(named), key=named.count)
    service = re.search(r"Service:\s*(.+)$", text, re.MULTILINE)
    if service:
        details[model.SERVICE] = service.group(1).strip()
    title = plan_title(title_rows)
    if title:
        details[model.PLAN_TITLE] = title
    source_row = next((r for r in short_rows if _SOURCE.search(r) and r != title), None)
    if source_row or (title and _SOURCE.search(title)):
        details[model.PLAN_SOURCE] = (source_row or title).strip()
    as_at = _AS_AT.search(text)
    if as_at and due_date_from_text(as_at.group(1)):
        details[model.REPORTING_DATE] = due_date_from_text(as_at.group(1))
    how = [
        (label, judged("import-plan-detail", label=label, value=value))
        for label, value in details.items()
    ]
    details.setdefault(model.PLAN_TITLE, source.stem.replace("-", " ").capitalize())
    return details, how


def import_plan(
    path: str | Path,
    organisation: str | None = None,
    reporting_date: dt.date | None = None,
    service: str | None = None,
    title: str | None = None,
    source_text: str | None = None,
    header_row: int | None = None,
    mapping: dict[str, str] | None = None,
) -> ImportResult:
    """Read a legacy plan into the standard columns, with a report of every judgement.

    ``header_row`` (the header's line or sheet row, 1-based) and ``mapping``
    (source header or "column N" -> standard column) override what the importer
    would judge; options given for the Plan sheet override what its title lines say.
    A table with no actions found in it is a :class:`NoActionsFound` error saying
    which header was taken and how the columns were read.
    """
    from xltools.importers.layout import read_layout
    from xltools.importers.sources import load_rows

    path = Path(path)
    rows, reader = load_rows(path)
    try:
        result = read_layout(rows, header_row, mapping)
    except XltoolsError as error:
        raise XltoolsError(error.message, path) from None
    body_text = "\n".join(" ".join(row.cells) for row in rows)
    details, how = _plan_details(result.title_rows, path, body_text)
    given = {
        model.ORGANISATION: organisation,
        model.SERVICE: service,
        model.PLAN_TITLE: title,
        model.PLAN_SOURCE: source_text,
        model.REPORTING_DATE: reporting_date,
    }
    plan: dict[str, object] = {
        label: given[label] or details.get(label)
        for label in (model.ORGANISATION, model.SERVICE, model.PLAN_TITLE, model.PLAN_SOURCE)
    }
    plan[model.PLAN_SOURCE] = plan[model.PLAN_SOURCE] or f"Imported from {path.name}"
    if not plan[model.ORGANISATION]:
        plan[model.ORGANISATION] = NOT_STATED
        how.append((model.ORGANISATION, judged("import-organisation-not-stated", value=NOT_STATED)))
    plan[model.REPORTING_DATE] = (
        reporting_date or details.get(model.REPORTING_DATE) or dt.date.today()
    )
    for label, note in how:
        if not given.get(label):
            result.judgements.append(note)
    if not result.actions:
        raise NoActionsFound(_no_actions_reason(result.layout), path)
    if not mapping and not _looks_like_a_plan(result.layout):
        raise NoActionsFound(_not_a_plan_reason(result.layout, len(result.actions)), path)
    actions = [a.values for a in result.actions]
    for action in actions:
        if action[model.STATUS] == model.COMPLETE and not action.get(model.DUE_DATE):
            # Done, with no date in the source: done by the reporting date at the latest.
            action[model.DUE_DATE] = plan[model.REPORTING_DATE]
            result.judgements.append(judged("import-due-set-complete", ref=action[model.REF]))
    extra_columns = list(result.layout.extras.values())
    statuses: dict[str, int] = {}
    for action in actions:
        statuses[str(action[model.STATUS])] = statuses.get(str(action[model.STATUS]), 0) + 1
    report = {
        "file": str(path),
        "reader": reader,
        "header_line": result.layout.header_line,
        "actions_found": len(actions),
        "header_reason": result.layout.header_reason,
        "columns": result.layout.mapping_report,
        "confidence": result.layout.confidence,
        "columns_kept_unmapped": extra_columns,
        "statuses": statuses,
        "timescales_not_understood": result.timescales_not_understood,
        "several_grades": result.several_grades,
        "judgements": result.judgements,
        "mapping": mapping_file(result.layout),
    }
    return ImportResult(path, plan, actions, extra_columns, report)


NOT_STATED = "Not stated in the source plan"
# What makes a list of things to do an action plan: it says by when, or how each stands.
WHEN_OR_HOW = frozenset(
    {model.DUE_DATE, model.TIMESCALE, model.STATUS, model.PROGRESS, model.GRADE}
)


def _looks_like_a_plan(layout) -> bool:
    """An action plan says by when things are due or how they stand, or has a header that
    names who is responsible. (A column of names found by content alone is not enough:
    any list of people and firms, a contact list or a shipping manifest, has one.)"""
    fields = set(layout.columns.values())
    if WHEN_OR_HOW & fields:
        return True
    return model.LEAD in fields and not layout.header_reason.startswith("no header")


class NoActionsFound(XltoolsError):
    """A table was found but no actions in it: the header or the mapping is wrong."""


def _no_actions_reason(layout) -> str:
    mapped = _mapped(layout)
    missing = (
        "no column was read as Action"
        if "Action" not in layout.columns.values()
        else ("the Action column is empty under the header")
    )
    return judged(
        "import-no-actions",
        header_line=layout.header_line,
        mapped=mapped,
        missing=missing,
    )["judgement"]


def _mapped(layout) -> str:
    pairs = ", ".join(f"{source!r} -> {target}" for source, target in layout.mapping_report.items())
    return pairs or "no columns mapped"


def _not_a_plan_reason(layout, actions: int) -> str:
    return judged(
        "import-not-a-plan", actions=actions, header_line=layout.header_line, mapped=_mapped(layout)
    )["judgement"]


def write_import(result: ImportResult, output: str | Path) -> Path:
    from xltools.template import write_plan

    return write_plan(output, result.plan, result.actions, result.extra_columns)


def mapping_file(layout) -> dict[str, object]:
    """The mapping the import used, as a file the user can correct and pass back (--map)."""
    headers = layout.headers
    keys = [model.normalise_header(h) for h in headers]
    columns: dict[str, str] = {}
    for index, header in enumerate(headers):
        unique = header and keys.count(keys[index]) == 1 and len(header) <= 200
        name = " ".join(header.split()) if unique else f"column {index + 1}"
        if index in layout.columns:
            columns[name] = layout.columns[index]
        elif index in layout.extras:
            columns[name] = "keep"
    header_row = None if layout.header_reason.startswith("no header") else layout.header_line
    return {"header_row": header_row, "columns": columns}


def read_mapping(path: str | Path | None, columns: tuple[str, ...] = ()):
    """The header row and column mapping a user gave: a --map file, then --column items."""
    import yaml

    header_row: int | None = None
    told: dict[str, str] = {}
    if path:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise XltoolsError(f"the mapping file cannot be read ({error})", path) from None
        if not isinstance(data, dict) or not isinstance(data.get("columns", {}), dict):
            raise XltoolsError("a mapping file has header_row and a columns: table", path)
        header_row = data.get("header_row")
        told.update({str(k): str(v) for k, v in (data.get("columns") or {}).items()})
    for item in columns:
        source, sep, target = item.rpartition("=")
        if not sep or not source.strip():
            raise XltoolsError(
                f'{item!r} names no column: write it as "Header=Standard column"',
                setting="columns",
            )
        told[source.strip()] = target.strip()
    return header_row, told


def dry_run_text(result: ImportResult, count: int = 5) -> str:
    """The first actions as they would be imported, one block each."""
    shown = (
        model.REF,
        model.AREA,
        model.ACTION,
        model.LEAD,
        model.TIMESCALE,
        model.DUE_DATE,
        model.STATUS,
        model.PROGRESS,
    )
    lines = [
        f"the first {min(count, len(result.actions))} of {plural(len(result.actions), 'action')}:"
    ]
    for action in result.actions[:count]:
        lines.append("  ---")
        for name in shown:
            value = " ".join(str(action.get(name) or "").split())
            lines.append(f"  {name}: {value[:90]}{'...' if len(value) > 90 else ''}")
    lines.append("(dry run: nothing written)")
    return "\n".join(lines)


def save_import(
    result: ImportResult,
    output: str | Path,
    reporting_date: dt.date | None = None,
    report_path: str | Path | None = None,
) -> ImportResult:
    """The import's writing step: the standard workbook, checked, and its report.

    The one composition of :func:`write_import` and a validation of the written
    file against the default rules (its counts and findings join the report as
    ``validation``; the file's report is ``check``), as ``xltools import`` runs it
    after :func:`import_plan`. With ``report_path`` the report is also written
    there as JSON.
    """
    import json

    from xltools.fileio import write_text
    from xltools.validate import validate

    write_import(result, output)
    result.check = validate([output], reporting_date=reporting_date).files[0]
    result.report["validation"] = {
        "errors": len(result.check.errors),
        "warnings": len(result.check.warnings),
        "findings": [f.to_dict() for f in result.check.findings],
    }
    if report_path:
        text = json.dumps(result.report, indent=2, ensure_ascii=False, default=str)
        write_text(report_path, text + "\n")
    return result


def report_text(report: dict[str, object], report_hint: str = "", mapping_hint: str = "") -> str:
    """The import report in words, for the terminal.

    The library names no command-line option: the command passes its own words for
    asking for the JSON report (``report_hint``) and passing a mapping back
    (``mapping_hint``).
    """
    import yaml

    lines = [
        f"{report['file']}: {plural(report['actions_found'], 'action')} found "
        f"(header on line {report['header_line']}, {report['reader']}; "
        f"{report.get('header_reason') or 'header'})",
        "  columns (confidence):",
    ]
    confidence = report.get("confidence", {})
    for source, target in report["columns"].items():
        sure = f" ({confidence[source]:.0%})" if source in confidence else ""
        lines.append(f"    {source[:60]!r} -> {target}{sure}")
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
    for item in report["judgements"]:
        if "line" not in item:  # judgements about the whole plan; row ones are in the report
            lines.append(f"  judged: {item['judgement']}")
    count = len(report["judgements"])
    lines.append(f"  {plural(count, 'judgement')} made: see the JSON report{report_hint} for each")
    mapping = yaml.safe_dump(report["mapping"], sort_keys=False, allow_unicode=True, width=200)
    lines.append(f"  mapping (save it, correct it, pass it back{mapping_hint}):")
    lines.extend("    " + line for line in mapping.rstrip().split("\n"))
    return "\n".join(lines)
