"""Rule packs and the engine that runs them with pandera.

A rule pack (``xltools/rulepacks/default.yaml``, ``audit.yaml`` or a user's file) is
data: a list of checks, each naming a finding code from the catalogue
(:mod:`xltools.catalogue`), a registered check, the column(s) it looks at and
its parameters; it may override the code's severity and message, and otherwise
takes them from the catalogue. A code not in the catalogue, or a check not in
the registry, is a :class:`~xltools.errors.RulePackError`. The checks
themselves are registered here once, by the :func:`check` decorator, and handed
to pandera's ``register_check_method`` when first run, so a pack never holds
code, and the engine is separate from the rules.

The engine puts every plan being validated into one DataFrame (one row per
action, with the plan it came from, its reporting date and its source row),
builds two pandera schemas from the pack (one for Actions rows, one for the Plan
sheets, one row per plan) and validates them lazily: all failures in one pass
over all plans. Each failure becomes a :class:`~xltools.findings.Finding` that
points at the cell staff must fix; every check run is reported with its pass and
fail counts.

Message templates may use ``{column}``, ``{value}`` (the cell as typed), ``{meant}``
(what it was read as, for ``as_typed``), ``{ref}``, ``{label}``, ``{status}`` (the
row's Status) and ``{hint}`` (for date checks: what to type instead).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from xltools import catalogue, model
from xltools.errors import RulePackError
from xltools.findings import ERROR, CheckRun, FileReport, Finding
from xltools.read import TYPED_COLUMNS

PLAN_COLUMN = "_plan"
REPORTING_COLUMN = "_reporting_date"
MISSING_COLUMN = "_missing_columns"
TYPED_PREFIX = "_typed:"  # + column: the text as typed where the reader read it as a value
EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


# --------------------------------------------------------------------------
# The checks, registered by name. Each takes the whole frame and returns a
# boolean Series: True where the row passes.
# --------------------------------------------------------------------------
# List comprehensions over the column's values: several times quicker than
# Series.map with a lambda, and these run for every action of every plan.
def _like(series, values: list, dtype=bool):
    """Values computed from a column, as a Series with the column's index."""
    import pandas as pd

    return pd.Series(values, index=series.index, dtype=dtype)


def _text(series):
    return _like(
        series, [v.strip() if isinstance(v, str) else v for v in series.to_numpy()], object
    )


def _blank(series):
    return _like(
        series,
        [
            v is None or v != v or (isinstance(v, str) and (not v or v.isspace()))
            for v in series.to_numpy()
        ],
    )


def _is_date(series):
    return _flags(series, lambda v: isinstance(v, dt.date))


def _flags(series, test):
    """test(value) for each value, as a boolean Series."""
    return _like(series, [bool(test(v)) for v in series.to_numpy()])


def _as_date(value):
    return value.date() if isinstance(value, dt.datetime) else value


def _rowwise(frame, function, *columns):
    """A function of some columns' values, row by row, as a boolean Series.

    Much faster than ``DataFrame.apply(axis=1)``, which builds a Series for every row.
    """
    import pandas as pd

    values = [bool(function(*row)) for row in zip(*(frame[c] for c in columns), strict=True)]
    return pd.Series(values, index=frame.index, dtype=bool)


# --------------------------------------------------------------------------
# The check registry: each check is registered once, by decorator, and only
# handed to pandera (``register_check_method``) when a pack is first run, so
# importing this module stays cheap. The checks a pack may name, and which of
# them look at the Plan sheet, are read from the registry.
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckDefinition:
    """A registered check: its name, function, parameters and the frame it runs on."""

    name: str
    function: Callable[..., Any]
    parameters: tuple[str, ...]  # keyword parameters, ``column`` first
    on_plan_sheet: bool  # runs on the Plan sheet frame (one row per plan), not on Actions rows


CHECKS: dict[str, CheckDefinition] = {}
_given_to_pandera: set[str] = set()


def check(name: str, *, plan_sheet: bool = False):
    """Register a check under ``name`` (like pandera's ``register_check_method``).

    The function takes the whole frame and its parameters by keyword, and returns a
    boolean Series: True where the row passes. ``plan_sheet``: it runs on the Plan
    sheet frame (one row per plan) instead of the Actions rows.

    Example::

        @check("not_blank")
        def not_blank(frame, *, column):
            return ~_blank(frame[column])
    """

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        if name in CHECKS:
            raise ValueError(f"a check named '{name}' is registered already")
        parameters = tuple(
            p.name
            for p in inspect.signature(function).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        )
        CHECKS[name] = CheckDefinition(name, function, parameters, plan_sheet)
        return function

    return decorate


def register_checks() -> None:
    """Hand every registered check to pandera (each once per process)."""
    from pandera import extensions

    for definition in CHECKS.values():
        if definition.name in _given_to_pandera:
            continue
        function = definition.function
        function.__name__ = definition.name  # pandera names a check after its function
        extensions.register_check_method(statistics=list(definition.parameters))(function)
        _given_to_pandera.add(definition.name)


@check("not_blank")
def not_blank(frame, *, column):
    return ~_blank(frame[column])


@check("unique_in_plan")
def unique_in_plan(frame, *, column):
    keys = _text(frame[column])
    duplicated = frame.assign(_key=keys).duplicated([PLAN_COLUMN, "_key"], keep=False)
    return ~(duplicated & ~_blank(frame[column]))


@check("one_of")
def one_of(frame, *, column, values):
    allowed = set(values)
    return _blank(frame[column]) | _text(frame[column]).isin(allowed)


@check("is_date")
def is_date(frame, *, column):
    return _blank(frame[column]) | _is_date(frame[column])


@check("no_error_value")
def no_error_value(frame, *, column):
    from xltools.read import CellError

    # Run on every column of every action: no function call per value.
    values = frame[column]
    return _like(values, [v.__class__ is not CellError for v in values.to_numpy()])


@check("required_unless")
def required_unless(frame, *, column, unless_status, unless_ongoing):
    excused = _text(frame[model.STATUS]).isin(set(unless_status))
    if unless_ongoing:
        excused |= _flags(frame[model.TIMESCALE], model.is_ongoing)
    return ~_blank(frame[column]) | excused


@check("date_between")
def date_between(frame, *, column, earliest, latest):
    low, high = dt.date.fromisoformat(str(earliest)), dt.date.fromisoformat(str(latest))
    return _flags(frame[column], lambda v: not isinstance(v, dt.date) or low <= _as_date(v) <= high)


@check("not_after_reporting_date")
def not_after_reporting_date(frame, *, column):
    def passes(value, reporting):
        return not isinstance(value, dt.date) or _as_date(value) <= reporting

    return _rowwise(frame, passes, column, REPORTING_COLUMN)


@check("not_in_future")
def not_in_future(frame, *, column):
    # Against the day the check runs, not the Plan sheet's reporting date: staff who
    # bring a row up to date after that date have done nothing wrong. A day's grace
    # for clocks in other time zones.
    latest = dt.date.today() + dt.timedelta(days=1)
    return _flags(frame[column], lambda v: not isinstance(v, dt.date) or _as_date(v) <= latest)


@check("updated_within")
def updated_within(frame, *, column, days):
    # A blank or a value that is no date is another check's finding, not "stale".
    def passes(value, reporting):
        return not isinstance(value, dt.date) or (reporting - _as_date(value)).days <= days

    return _rowwise(frame, passes, column, REPORTING_COLUMN)


@check("as_typed")
def as_typed(frame, *, column):
    # Fails where the reader had to read the text typed as a value (see read.py).
    return _like(frame[column], [t is None for t in frame[TYPED_PREFIX + column].to_numpy()])


@check("email_address")
def email_address(frame, *, column):
    return _blank(frame[column]) | _flags(
        frame[column], lambda v: isinstance(v, str) and EMAIL.match(v.strip())
    )


@check("grade_fits_status")
def grade_fits_status(frame, *, column):
    return ~_rowwise(frame, model.grade_contradicts_status, model.STATUS, model.GRADE)


@check("not_overdue_on_track")
def not_overdue_on_track(frame, *, column):
    def fails(status, due, reporting):
        return _text_value(status) == model.ON_TRACK and model.is_overdue(status, due, reporting)

    return ~_rowwise(frame, fails, model.STATUS, model.DUE_DATE, REPORTING_COLUMN)


@check("required_when")
def required_when(frame, *, column, when_column, when_values):
    applies = _text(frame[when_column]).isin(set(when_values))
    return ~applies | ~_blank(frame[column])


@check("column_present", plan_sheet=True)
def column_present(frame, *, column):
    return ~frame[MISSING_COLUMN].map(lambda missing: column in missing)


@check("plan_value_present", plan_sheet=True)
def plan_value_present(frame, *, column):
    return ~_blank(frame[column])


def _text_value(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


# --------------------------------------------------------------------------
# Rule packs
# --------------------------------------------------------------------------
# Parameters a pack may name by vocabulary instead of listing values.
VOCABULARIES = {"statuses": list(model.STATUSES), "grades": list(model.GRADES)}


@dataclass(frozen=True)
class CheckSpec:
    """One check of a pack, for one column."""

    code: str
    check: str
    column: str
    severity: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def on_plan_sheet(self) -> bool:
        return CHECKS[self.check].on_plan_sheet


@dataclass(frozen=True)
class RulePack:
    name: str
    description: str
    checks: tuple[CheckSpec, ...]
    sha256: str
    source: str


def _builtin_pack_text(name: str) -> str | None:
    try:
        return (resources.files("xltools.rulepacks") / f"{name}.yaml").read_text("utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        return None


def load_pack(spec: str | Path = "default") -> RulePack:
    """Load a built-in pack by name ('default', 'audit') or a pack file by path."""
    text = _builtin_pack_text(str(spec)) if isinstance(spec, str) and "/" not in spec else None
    source = f"built-in pack '{spec}'"
    if text is None:
        path = Path(spec)
        if not path.is_file():
            raise RulePackError(
                "no such rule pack: use 'default', 'audit' or the path of a .yaml pack file",
                path,
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise RulePackError(f"cannot read the rule pack ({error})", path) from None
        source = str(path)
    return parse_pack(text, source)


def parse_pack(text: str, source: str = "rule pack", _seen: tuple[str, ...] = ()) -> RulePack:
    """Parse a pack's YAML text, resolving ``extends``. Errors name the line."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise RulePackError(f"the rule pack is not valid YAML{where}: {problem}", source) from None
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
        raise RulePackError("a rule pack needs a 'checks:' list", source)
    name = str(data.get("name") or Path(source).stem)
    checks: list[CheckSpec] = []
    parent = data.get("extends")
    if parent:
        if parent in _seen:
            raise RulePackError(f"rule packs extend each other in a loop ({parent})", source)
        base_text = _builtin_pack_text(str(parent))
        if base_text is None:
            raise RulePackError(f"'extends: {parent}' names no built-in rule pack", source)
        checks.extend(parse_pack(base_text, f"built-in pack '{parent}'", (*_seen, name)).checks)
    lines = _entry_lines(text)
    for index, entry in enumerate(data["checks"]):
        checks.extend(_parse_entry(entry, source, lines[index] if index < len(lines) else None))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return RulePack(name, str(data.get("description") or ""), tuple(checks), digest, source)


def _entry_lines(text: str) -> list[int]:
    """Line numbers (1-based) where each item of the checks list starts."""
    import yaml

    node = yaml.compose(text)
    for key, value in getattr(node, "value", []):
        if getattr(key, "value", None) == "checks" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _parse_entry(entry: object, source: str, line: int | None) -> list[CheckSpec]:
    where = f" (check at line {line})" if line else ""

    def fail(problem: str) -> RulePackError:
        return RulePackError(f"{problem}{where}", source)

    if not isinstance(entry, dict):
        raise fail("each check must be a mapping with code, check and column(s)")
    for key in ("code", "check"):
        if not entry.get(key):
            raise fail(f"the check has no '{key}'")
    code = str(entry["code"])
    if code not in catalogue.CATALOGUE:
        raise fail(
            f"unknown finding code '{code}': name one of the codes in the README's list of "
            "finding codes"
        )
    kind = catalogue.get(code)
    if entry["check"] not in CHECKS:
        raise fail(f"unknown check '{entry['check']}'; known checks: " + ", ".join(sorted(CHECKS)))
    severity = entry.get("severity") or kind.severity
    if severity not in catalogue.SEVERITIES:
        raise fail(f"severity must be 'error' or 'warning', not '{severity}'")
    message = entry.get("message") or kind.template
    columns = entry.get("columns") or ([entry["column"]] if entry.get("column") else [])
    if columns == "all":
        columns = list(model.ACTION_COLUMN_NAMES)
    if not columns:
        raise fail("the check names no 'column' or 'columns'")
    params = dict(entry.get("params") or {})
    for key, value in list(params.items()):
        if isinstance(value, str) and value in VOCABULARIES:
            params[key] = VOCABULARIES[value]
    valid_columns = set(model.ACTION_COLUMN_NAMES) | set(model.PLAN_LABELS)
    for column in columns:
        if column not in valid_columns:
            raise fail(f"unknown column '{column}'")
    return [
        CheckSpec(
            code=code,
            check=str(entry["check"]),
            column=str(column),
            severity=str(severity),
            message=str(message),
            params=params,
        )
        for column in columns
    ]


# --------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------
def _frames(tables, reporting_dates):
    import pandas as pd

    # Built column by column: one list per column is far quicker than a dict per action.
    records = [record for table in tables for record in table.records]
    data: dict[str, list] = {
        name: [record.get(name) for record in records] for name in model.ACTION_COLUMN_NAMES
    }
    data[PLAN_COLUMN] = [plan for plan, table in enumerate(tables) for _ in table.records]
    data["_record"] = [index for table in tables for index in range(len(table.records))]
    data[REPORTING_COLUMN] = [
        day for table, day in zip(tables, reporting_dates, strict=True) for _ in table.records
    ]
    # The text as typed, where the reader read it as a date or a status (as_typed checks).
    for column in TYPED_COLUMNS:
        data[TYPED_PREFIX + column] = [
            table.as_typed.get((index, column)) if table.as_typed else None
            for table in tables
            for index in range(len(table.records))
        ]
    columns = [
        *model.ACTION_COLUMN_NAMES,
        PLAN_COLUMN,
        "_record",
        REPORTING_COLUMN,
        *(TYPED_PREFIX + column for column in TYPED_COLUMNS),
    ]
    actions = pd.DataFrame(data, columns=columns, dtype=object)
    plan_rows = []
    for table in tables:
        row = {label: table.plan.get(label) for label in model.PLAN_LABELS}
        row[MISSING_COLUMN] = frozenset(table.missing_columns)
        plan_rows.append(row)
    plans = pd.DataFrame(plan_rows, columns=[*model.PLAN_LABELS, MISSING_COLUMN], dtype=object)
    return actions, plans


def _schema(specs: list[CheckSpec]):
    import pandera.pandas as pa

    checks = [
        # Each check judges blanks itself; pandera's own NA handling would scan the
        # whole frame once per check for rows that are entirely empty, which we never have.
        getattr(pa.Check, spec.check)(
            column=spec.column, **spec.params, error=f"#{index}", ignore_na=False
        )
        for index, spec in enumerate(specs)
    ]
    return pa.DataFrameSchema(checks=checks)


def _failures(schema, frame) -> dict[int, set[int]]:
    """Run a schema lazily; map each check's position to the frame rows it failed on."""
    import pandera.errors

    failed: dict[int, set[int]] = {}
    if frame.empty:
        return failed
    try:
        schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        for check, index in zip(cases["check"], cases["index"], strict=True):
            if isinstance(check, str) and check.startswith("#") and index is not None:
                failed.setdefault(int(check[1:]), set()).add(int(index))
    return failed


def _display(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        value = value.date()
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def _hint(column: str, value: object) -> str:
    """What to type instead of text in a date column. Only a due date has a Timescale
    to hold a period such as 'March 2004'; other dates are simply a day."""
    from xltools.dates import due_date_from_text

    if column != model.DUE_DATE:
        return "enter the date as a date, such as 31/03/2004"
    suggestion = due_date_from_text(value) if isinstance(value, str) else None
    if suggestion is not None:
        return f"move it to Timescale and enter {suggestion:%d/%m/%Y} in Due date"
    return "enter a date such as 31/03/2004, or write it in Timescale"


def _message(
    spec: CheckSpec, value: object, ref: str, record: dict | None = None, typed: str = ""
) -> str:
    fields = {
        "status": _display((record or {}).get(model.STATUS)),
        "column": spec.column,
        "label": spec.column,
        "value": typed or _display(value),
        "meant": _display(value),
        "ref": ref,
        "hint": _hint(spec.column, value) if "{hint}" in spec.message else "",
        **{
            k: (", ".join(map(str, v)) if isinstance(v, list) else v)
            for k, v in spec.params.items()
        },
    }
    try:
        return spec.message.format(**fields)
    except (KeyError, IndexError, ValueError):
        return spec.message


def run_pack(pack: RulePack, tables, reporting_dates) -> list[tuple[list[Finding], list[CheckRun]]]:
    """Validate plans (already read) together; per plan, its findings and check runs."""
    register_checks()
    actions, plans = _frames(tables, reporting_dates)
    row_specs = [s for s in pack.checks if not s.on_plan_sheet]
    plan_specs = [s for s in pack.checks if s.on_plan_sheet]
    row_failures = _failures(_schema(row_specs), actions)
    plan_failures = _failures(_schema(plan_specs), plans)

    per_plan_rows = actions.groupby(PLAN_COLUMN).size().to_dict() if not actions.empty else {}
    results: list[tuple[list[Finding], list[CheckRun]]] = []
    runs: list[list[CheckRun]] = []
    for plan_index in range(len(tables)):
        checked_rows = per_plan_rows.get(plan_index, 0)
        runs.append(
            [
                CheckRun(s.code, s.check, s.column, s.severity, checked=checked_rows)
                for s in row_specs
            ]
            + [CheckRun(s.code, s.check, s.column, s.severity, checked=1) for s in plan_specs]
        )
        results.append(([], runs[-1]))

    plan_column = actions[PLAN_COLUMN].to_numpy() if not actions.empty else []
    record_column = actions["_record"].to_numpy() if not actions.empty else []
    for spec_index, rows in sorted(row_failures.items()):
        spec = row_specs[spec_index]
        for row in sorted(rows):
            plan_index = int(plan_column[row])
            table = tables[plan_index]
            if spec.column in table.missing_columns:
                continue  # the missing-column finding already says it
            record_index = int(record_column[row])
            record = table.records[record_index]
            ref = _display(record.get(model.REF))
            value = record.get(spec.column)
            typed = table.as_typed.get((record_index, spec.column), "")
            findings, plan_runs = results[plan_index]
            plan_runs[spec_index].failed += 1
            findings.append(
                catalogue.finding(
                    spec.code,
                    severity=spec.severity,
                    sheet=table.actions_sheet,
                    cell=table.cell(spec.column, record_index),
                    row=table.source_rows[record_index],
                    column=spec.column,
                    ref=ref,
                    value=typed or _display(value),
                    message=_message(spec, value, ref, record, typed),
                )
            )
    for spec_index, rows in sorted(plan_failures.items()):
        spec = plan_specs[spec_index]
        for plan_index in sorted(rows):
            table = tables[plan_index]
            findings, plan_runs = results[plan_index]
            plan_runs[len(row_specs) + spec_index].failed += 1
            if spec.check == "column_present":
                sheet, cell, row = table.actions_sheet, f"A{table.header_row}", table.header_row
            else:
                sheet = model.PLAN_SHEET
                cell = table.plan_cells.get(spec.column, "")
                row = int(re.sub(r"\D", "", cell)) if cell else None
            findings.append(
                catalogue.finding(
                    spec.code,
                    severity=spec.severity,
                    sheet=sheet,
                    cell=cell,
                    row=row,
                    column=spec.column,
                    message=_message(spec, None, ""),
                )
            )
    for findings, _ in results:
        # Errors before warnings, each in the order of the sheet.
        findings.sort(
            key=lambda f: (
                f.severity != ERROR,
                f.sheet != model.PLAN_SHEET,
                f.row or 0,
                f.cell,
                f.code,
            )
        )
    return results


def report_for(path, table, findings, runs, reporting_date) -> FileReport:
    status = "invalid" if any(f.severity == ERROR for f in findings) else "valid"
    return FileReport(path, status, findings, runs, table=table, reporting_date=reporting_date)
