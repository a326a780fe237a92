"""Validation: each check, header tolerance, honest values, the CLI and rule packs."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest
import xlsxwriter
from click.testing import CliRunner
from conftest import PLAN, action

from xltools import model
from xltools.cli import cli
from xltools.errors import RulePackError
from xltools.outcome import Outcome
from xltools.read import CellError, read_plan
from xltools.rules import load_pack, parse_pack
from xltools.template import write_plan
from xltools.validate import validate


def plan_with(tmp_path, faulty: dict, plan=PLAN, name="plan.xlsx"):
    """Three good actions and, in sheet row 3, one with the given values."""
    rows = [action("1"), action("2", **faulty), action("3")]
    return write_plan(tmp_path / name, plan, rows)


def findings_of(path, rules="default", **kwargs):
    report = validate([path], rules, **kwargs)
    return [(f.code, f.severity, f.cell, f.ref) for f in report.files[0].findings]


@pytest.mark.parametrize(
    ("faulty", "expected"),
    [
        ({"area_for_improvement": None}, ("missing-value", "error", "B3", "2")),
        ({"action": "  "}, ("missing-value", "error", "C3", "2")),
        ({"lead_officer": None}, ("missing-value", "error", "D3", "2")),
        ({"Ref": "1"}, None),  # duplicate: two findings, tested below
        ({"status": "Done"}, ("unknown-status", "error", "L3", "2")),
        ({"grade": "E"}, ("unknown-grade", "error", "M3", "2")),
        ({"due_date": "TBC"}, ("not-a-date", "error", "F3", "2")),
        ({"due_date": None, "timescale": "When funded"}, ("due-date-missing", "error", "F3", "2")),
        (
            {"due_date": dt.date(1999, 12, 31), "status": "Not started"},
            ("implausible-date", "error", "F3", "2"),
        ),
        # Brought up to date after the Plan sheet's reporting date: nothing wrong with that.
        ({"last_updated": dt.date(2003, 11, 25)}, []),
        (
            {"last_updated": dt.date.today() + dt.timedelta(days=30)},
            ("updated-in-future", "error", "N3", "2"),
        ),
        ({"status": "complete ", "evidence": "Minutes"}, ("status-spelling", "warning", "L3", "2")),
        ({"lead_email": "sandra at council"}, ("bad-email", "error", "E3", "2")),
        ({"status": "Off track", "grade": "A"}, ("grade-contradicts-status", "warning", "M3", "2")),
        ({"status": "Complete", "grade": "C"}, ("grade-contradicts-status", "warning", "M3", "2")),
        ({"status": "On track", "grade": "D"}, ("grade-contradicts-status", "warning", "M3", "2")),
        ({"due_date": dt.date(2003, 11, 1)}, ("overdue-on-track", "warning", "L3", "2")),
    ],
)
def test_one_fault_gives_exactly_one_finding_at_its_cell(tmp_path, faulty, expected):
    path = plan_with(tmp_path, faulty)
    if expected == []:
        assert findings_of(path) == []
    elif expected is None:
        assert findings_of(path) == [
            ("duplicate-ref", "error", "A2", "1"),
            ("duplicate-ref", "error", "A3", "1"),
        ]
    else:
        assert findings_of(path) == [expected]


def test_a_clean_plan_has_no_findings_and_every_check_is_listed(tmp_path):
    path = plan_with(tmp_path, {})
    report = validate([path])
    file_report = report.files[0]
    assert (file_report.status, file_report.findings, report.outcome) == ("valid", [], Outcome.OK)
    codes = {run.code for run in file_report.checks}
    assert {"missing-column", "not-a-date", "duplicate-ref", "overdue-on-track"} <= codes
    assert all(
        run.checked == 3 and run.failed == 0
        for run in file_report.checks
        if run.code != "missing-column" and run.code != "plan-value-missing"
    )


def test_date_as_text_message_suggests_the_date(tmp_path):
    path = plan_with(tmp_path, {"due_date": "March 2004"})
    finding = validate([path]).files[0].findings[0]
    assert finding.message == (
        "'March 2004' is not a date: move it to Timescale and enter 31/03/2004 in Due date."
    )
    assert (finding.sheet, finding.row, finding.column, finding.value) == (
        "Actions",
        3,
        "Due date",
        "March 2004",
    )


def test_withdrawn_and_ongoing_need_no_due_date(tmp_path):
    path = write_plan(
        tmp_path / "p.xlsx",
        PLAN,
        [
            action("1", due_date=None, status="Withdrawn", grade="D", progress_update="Not needed"),
            action("2", due_date=None, timescale="Ongoing"),
        ],
    )
    assert findings_of(path) == []
    assert findings_of(path, "audit") == [("due-date-required", "error", "F3", "2")]


def test_plan_sheet_values_required(tmp_path):
    plan = {**PLAN, model.PLAN_TITLE: None, model.REPORTING_DATE: None}
    path = plan_with(tmp_path, {}, plan=plan)
    assert findings_of(path, reporting_date=dt.date(2003, 11, 24)) == [
        ("plan-value-missing", "error", "B3", ""),
        ("plan-value-missing", "error", "B7", ""),
    ]


def test_audit_pack_adds_evidence_reason_and_currency(tmp_path):
    path = write_plan(
        tmp_path / "p.xlsx",
        PLAN,
        [
            action("1", status="Complete", evidence=None),
            action("2", status="Withdrawn", grade="D", progress_update=None),
            action("3", last_updated=dt.date(2003, 6, 1)),
            action("4", status="Complete", evidence="Minutes of 3 March"),
        ],
    )
    assert findings_of(path, "audit") == [
        ("complete-without-evidence", "error", "K2", "1"),
        ("grade-d-without-reason", "error", "J3", "2"),
        ("stale-update", "error", "N4", "3"),
    ]


def _write_rows(path, rows, sheet_name="Actions", plan=True):
    book = xlsxwriter.Workbook(path, {"strings_to_numbers": False, "strings_to_formulas": False})
    if plan:
        plan_sheet = book.add_worksheet("Plan")
        for row, (label, value) in enumerate(PLAN.items()):
            plan_sheet.write(row, 0, label)
            if isinstance(value, dt.date):
                plan_sheet.write_datetime(
                    row,
                    1,
                    dt.datetime.combine(value, dt.time()),
                    book.add_format({"num_format": "dd/mm/yyyy"}),
                )
            else:
                plan_sheet.write(row, 1, value)
    sheet = book.add_worksheet(sheet_name)
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date_format)
            elif isinstance(value, str) and value.startswith("#ERR"):
                sheet.write_formula(r, c, "=1/0", None, value[4:])
            elif value is not None:
                sheet.write(r, c, value)
    book.close()
    return path


def test_header_tolerance_title_rows_synonyms_reordered_extra(tmp_path):
    rows = [
        ["Community care: improvement plan"],
        [],
        [
            "STATUS ",
            "Responsible officer",
            "No.",
            "Area",
            "Proposed action",
            "Directorate",
            " Due Date",
            "Comments",
        ],
        [
            "On track",
            "S Greer",
            "1.10",
            "Best Value",
            "Workshops",
            "Adults",
            dt.date(2004, 3, 31),
            '=HYPERLINK("x")',
        ],
        [],
        [
            "Complete",
            "S Greer",
            7,
            "Best Value",
            "Newsletter",
            "Adults",
            dt.date(2003, 9, 30),
            None,
        ],
    ]
    path = _write_rows(tmp_path / "tolerant.xlsx", rows)
    table = read_plan(path)
    assert table.header_row == 3
    assert table.columns[model.STATUS] == "A" and table.columns[model.DUE_DATE] == "G"
    assert table.extra_columns == ["Directorate"]
    assert table.source_rows == [4, 6]  # blank row 5 skipped
    assert table.records[0][model.REF] == "1.10"  # text stays as written
    assert table.records[1][model.REF] == "7"
    assert table.records[0][model.DUE_DATE] == dt.date(2004, 3, 31)
    assert table.records[0][model.PROGRESS] == '=HYPERLINK("x")'
    assert table.records[0]["Directorate"] == "Adults"
    findings = validate([path]).files[0].findings
    assert [(f.code, f.cell, f.column) for f in findings] == []
    assert table.missing_columns == [
        "Lead email",
        "Timescale",
        "Resources",
        "Expected outcome",
        "Evidence",
        "Grade",
        "Last updated",
    ]


def test_missing_required_column_is_one_finding(tmp_path):
    rows = [
        ["Ref", "Action", "Lead officer", "Status", "Area for improvement"],
        ["1", "Do", "Me", "On track", "A"],
        ["2", "Do", "Me", "On track", "A"],
    ]
    path = _write_rows(tmp_path / "nodue.xlsx", rows)
    assert findings_of(path) == [("missing-column", "error", "A1", "")]
    finding = validate([path]).files[0].findings[0]
    assert (
        finding.message == "The Actions sheet has no 'Due date' column: add it to the header row."
    )


def test_error_cells_are_reported_not_read_as_blanks(tmp_path):
    rows = [
        list(model.ACTION_COLUMN_NAMES),
        ["1", "A", "Do", "Me", None, "#ERR#REF!", None, None, None, None, None, "On track"],
    ]
    path = _write_rows(tmp_path / "errors.xlsx", rows)
    table = read_plan(path)
    assert table.records[0][model.DUE_DATE] == CellError("#REF!")
    assert findings_of(path) == [
        ("error-value", "error", "F2", "1"),
        ("not-a-date", "error", "F2", "1"),
    ]  # noqa: E501


def test_same_ref_in_two_plans_is_fine_validated_together(tmp_path):
    first = plan_with(tmp_path, {}, name="a.xlsx")
    second = plan_with(tmp_path, {}, name="b.xlsx")
    report = validate([first, second])
    assert [f.status for f in report.files] == ["valid", "valid"]


def test_cli_json_equals_library_result(tmp_path):
    path = plan_with(tmp_path, {"status": "Done"})
    result = CliRunner().invoke(cli, ["validate", str(path), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output) == validate([path]).to_dict()
    finding = json.loads(result.output)["files"][0]["findings"][0]
    assert set(finding) == {
        "code",
        "label",
        "severity",
        "sheet",
        "cell",
        "row",
        "column",
        "ref",
        "value",
        "message",
    }


def test_cli_text_output_and_exit_status(tmp_path):
    path = plan_with(tmp_path, {"due_date": "TBC"})
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{path}  Actions!F3  Due date  Ref 2  error (Date is not a date): 'TBC' is not a date: "
        "enter a date such as 31/03/2004, or write it in Timescale.",
        f"{path}: invalid, 1 error, 0 warnings, 43 checks run",
    ]
    clean = plan_with(tmp_path, {}, name="clean.xlsx")
    assert CliRunner().invoke(cli, ["validate", str(clean)]).exit_code == 0


def test_cli_bad_reporting_date_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["validate", "x.xlsx", "--reporting-date", "24/11/2003"])
    assert result.exit_code == 2
    assert (
        "Invalid value for '--reporting-date': '24/11/2003' is not a date in the form "
        "YYYY-MM-DD" in result.output
    )


def test_custom_pack_and_broken_packs(tmp_path):
    pack = tmp_path / "mine.yaml"
    pack.write_text(
        "name: mine\nchecks:\n  - code: missing-value\n    check: not_blank\n"
        "    column: Resources\n    severity: warning\n    message: 'Say what it costs.'\n"
    )
    path = plan_with(tmp_path, {})
    assert findings_of(path, str(pack)) == [
        ("missing-value", "warning", "H2", "1"),
        ("missing-value", "warning", "H3", "2"),
        ("missing-value", "warning", "H4", "3"),
    ]
    # The pack's severity and message; the catalogue's label.
    finding = validate([path], str(pack)).files[0].findings[0]
    assert (finding.label, finding.message) == ("Value missing", "Say what it costs.")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\nchecks:\n  - code: x\n    check: [unclosed\n")
    with pytest.raises(RulePackError, match="not valid YAML at line 5"):
        load_pack(str(broken))
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(
        "name: u\nchecks:\n  - code: missing-value\n    check: not_blank\n    column: Ref\n"
        "    severity: error\n    message: m\n  - code: duplicate-ref\n    check: telepathy\n"
        "    column: Ref\n    severity: error\n    message: m\n"
    )
    result = CliRunner().invoke(cli, ["validate", str(path), "--rules", str(unknown)])
    assert result.exit_code == 2
    assert result.output.startswith(f"xltools: error: {unknown}: unknown check 'telepathy'")
    assert "(check at line 8)" in result.output
    uncatalogued = tmp_path / "uncatalogued.yaml"
    uncatalogued.write_text("name: u\nchecks:\n  - code: need-resources\n    check: not_blank\n")
    result = CliRunner().invoke(cli, ["validate", str(path), "--rules", str(uncatalogued)])
    assert (result.exit_code, result.output) == (
        2,
        f"xltools: error: {uncatalogued}: unknown finding code 'need-resources': name one of "
        "the codes in the README's list of finding codes (check at line 3)\n",
    )
    result = CliRunner().invoke(cli, ["validate", str(path), "--rules", "nonesuch"])
    assert result.exit_code == 2
    assert "no such rule pack" in result.output


def test_packs_round_trip_and_use_registered_checks_only():
    for name in ("default", "audit"):
        pack = load_pack(name)
        assert pack.checks
        again = parse_pack(
            (
                __import__("importlib").resources.files("xltools.rulepacks") / f"{name}.yaml"
            ).read_text()
        )
        assert (again.checks, again.sha256) == (pack.checks, pack.sha256)
    assert len(load_pack("audit").checks) == len(load_pack("default").checks) + 5


def test_lock_files_are_skipped_in_folders(tmp_path):
    plan_with(tmp_path, {})
    (tmp_path / "~$plan.xlsx").write_bytes(b"\x00" * 165)
    report = validate([tmp_path])
    assert [f.path.name for f in report.files] == ["plan.xlsx"]
    assert report.skipped[0][0].name == "~$plan.xlsx"


def test_validate_source_is_untouched_and_annotate_writes_a_copy(tmp_path):
    path = plan_with(tmp_path, {"due_date": "TBC", "grade": "A", "status": "Off track"})
    before = path.read_bytes()
    out = tmp_path / "checked"
    result = CliRunner().invoke(cli, ["validate", str(path), "--annotate", str(out)])
    assert result.exit_code == 1
    assert path.read_bytes() == before
    book = openpyxl.load_workbook(out / "plan.xlsx")
    cell = book["Actions"]["F3"]
    assert "not a date" in cell.comment.text and cell.fill.fgColor.rgb == "FFFFC7CE"
    assert book["Actions"]["M3"].fill.fgColor.rgb == "FFFFEB9C"  # warning
    validation = book["Validation"]
    rows = [[c.value for c in row] for row in validation.iter_rows()]
    assert rows[1][:2] == ["Result", "annotated, not certified: 1 error, 1 warning"]
    link_cells = [c for row in validation.iter_rows() for c in row if c.hyperlink]
    assert {c.hyperlink.location for c in link_cells} == {"'Actions'!F3", "'Actions'!M3"}
    # The staff's dropdowns survive in the copy.
    validations = {str(v.sqref) for v in book["Actions"].data_validations.dataValidation}
    assert "L2:L501" in validations


def test_pandera_schemas_built_from_packs_round_trip_through_yaml():
    import pandera.pandas as pa

    from xltools.rules import _schema, register_checks

    register_checks()
    for name in ("default", "audit"):
        specs = [s for s in load_pack(name).checks if not s.on_plan_sheet]
        schema = _schema(specs)
        again = pa.DataFrameSchema.from_yaml(schema.to_yaml())
        assert [c.name for c in again.checks] == [c.name for c in schema.checks]
        assert [c.statistics for c in again.checks] == [c.statistics for c in schema.checks]


def _typed_as_text(path, cells):
    """Type values into Actions cells as a person does in Excel, text prefixed with "'"."""
    book = openpyxl.load_workbook(path)
    sheet = book["Actions"]
    for address, text in cells.items():
        sheet[address] = text
        sheet[address].quotePrefix = True  # what Excel stores for '31/03/2004
        sheet[address].number_format = "@"
    book.save(path)
    return path


def test_a_date_typed_as_text_is_read_as_that_date_with_a_warning(tmp_path):
    path = _typed_as_text(plan_with(tmp_path, {}), {"F3": "31/03/2004", "N3": "01/11/2003"})
    table = read_plan(path)
    assert table.records[1][model.DUE_DATE] == dt.date(2004, 3, 31)
    assert table.records[1][model.LAST_UPDATED] == dt.date(2003, 11, 1)
    findings = validate([path]).files[0].findings
    assert [(f.code, f.severity, f.cell, f.value) for f in findings] == [
        ("date-typed-as-text", "warning", "F3", "31/03/2004"),
        ("date-typed-as-text", "warning", "N3", "01/11/2003"),
    ]
    assert findings[0].message == (
        "Due date '31/03/2004' is typed as text; it is read as 31/03/2004. Retype it as a "
        "date so that Excel can sort and colour it."
    )
    assert validate([path]).outcome is Outcome.OK  # a warning only: the plan is valid


def test_a_date_typed_as_text_saved_by_libreoffice_itself(tmp_path, soffice):
    """LibreOffice's own file, untouched by Python after it saved it."""
    from conftest import lo_convert

    source = _typed_as_text(plan_with(tmp_path, {}), {"F3": "31/03/2004"})
    ods = lo_convert(soffice, source, "ods", tmp_path / "ods")
    saved = lo_convert(soffice, ods, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    [finding] = validate([saved]).files[0].findings
    assert (finding.code, finding.cell, finding.value) == ("date-typed-as-text", "F3", "31/03/2004")
    assert read_plan(saved).records[1][model.DUE_DATE] == dt.date(2004, 3, 31)


def test_advice_never_contradicts_itself(tmp_path):
    # Last updated has no Timescale to move to: the advice is a date, nothing else.
    path = plan_with(tmp_path, {"last_updated": "Nov 2003"})
    [finding] = validate([path]).files[0].findings
    assert finding.code == "not-a-date"
    assert finding.message == (
        "'Nov 2003' is not a date: enter the date as a date, such as 31/03/2004."
    )
    assert "Timescale" not in finding.message
    # A blank Last updated is "empty", never "more than three months before".
    path = plan_with(tmp_path, {"last_updated": None}, name="blank.xlsx")
    [finding] = validate([path], "audit").files[0].findings
    assert (finding.code, finding.cell) == ("last-updated-missing", "N3")
    assert "three months" not in finding.message
    # Status typed in another case, with spaces: understood, coloured, and said once.
    path = plan_with(tmp_path, {"status": " off TRACK  "}, name="status.xlsx")
    table = read_plan(path)
    assert table.records[1][model.STATUS] == model.OFF_TRACK
    [finding] = validate([path]).files[0].findings
    assert finding.message == (
        "Status ' off TRACK  ' is read as 'Off track': choose it from the list so that it "
        "matches exactly."
    )
