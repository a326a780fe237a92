"""Importing legacy plans: the five real layouts, other files, and the shipped examples."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json

import openpyxl
import pytest
import xlsxwriter
from click.testing import CliRunner
from conftest import LEGACY, REPO

from xltools import model
from xltools.cli import cli
from xltools.dates import due_date_from_text
from xltools.importers import import_plan
from xltools.importers.sources import cell_text
from xltools.template import write_plan
from xltools.validate import validate


def load_examples_builder():
    spec = importlib.util.spec_from_file_location(
        "build_examples", REPO / "examples" / "build_examples.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def imported(stem: str):
    return import_plan(
        LEGACY / f"{stem}.txt", organisation="Test", reporting_date=dt.date(2003, 11, 24)
    )


def by_ref(result) -> dict[str, dict]:
    return {action[model.REF]: action for action in result.actions}


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("October 2003", dt.date(2003, 10, 31)),
        ("Jan – March 2004", dt.date(2004, 3, 31)),
        ("Autumn 2003", dt.date(2003, 11, 30)),
        ("2004", dt.date(2004, 12, 31)),
        ("March 2004 and ongoing", dt.date(2004, 3, 31)),
        ("Q3 2024/25", dt.date(2024, 12, 31)),
        ("31/03/2025", dt.date(2025, 3, 31)),
        ("Dec 2004\n\nOngoing\n\nSept 2003", dt.date(2004, 12, 31)),
        ("Ongoing", None),
        ("As soon as possible", None),
    ],
)
def test_timescales(text, due):
    assert due_date_from_text(text) == due


def test_html_becomes_text_with_bullets_on_their_own_lines():
    assert cell_text(
        "<p>1. Training:</p> <ul><li>Minute taking</li><li>Risk &amp; safety</li></ul>"
    ) == ("1. Training:\n• Minute taking\n• Risk & safety")
    assert cell_text("Leaflets ▪ Posters ▪ Website") == "Leaflets\n• Posters\n• Website"


def test_argyll_and_bute():
    result = imported("argyll-bute-community-care-2003")
    actions = by_ref(result)
    assert len(result.actions) == 22
    assert list(actions) == [str(n) for n in range(1, 23)]
    lost = [j for j in result.report["judgements"] if j.get("ref") == "6"]
    assert "number was missing" in lost[0]["judgement"]
    assert actions["6"][model.ACTION].startswith("Need for senior management to be more visible")
    assert (actions["1"][model.GRADE], actions["1"][model.STATUS]) == ("B", model.AT_RISK)
    assert actions["1"][model.TIMESCALE] == "October 2003"
    assert actions["1"][model.DUE_DATE] == dt.date(2003, 10, 31)
    assert (actions["17"][model.GRADE], actions["17"][model.STATUS]) == ("D", model.WITHDRAWN)
    assert actions["8"][model.GRADE] == "D"
    assert {"line": 19, "ref": "8", "grades": ["A", "D"], "kept": "D"} in result.report[
        "several_grades"
    ]
    mapping = result.report["columns"]
    assert mapping["6. Dates for further follow up work agreed with the auditor."] == "Timescale"
    assert any("milestone" in name for name in result.extra_columns)  # kept, not dropped


def test_brent():
    result = imported("brent-physical-disabilities-2003")
    actions = by_ref(result)
    assert len(result.actions) == 76
    assert "67" not in actions and "68" not in actions
    assert (
        "Develop joint training with Housing, Brent Primary Care Trust and service providers"
        in actions["24"][model.ACTION].replace("\n", " ")
    )
    assert actions["66"][model.TIMESCALE] == "July 2003"
    assert actions["66"][model.DUE_DATE] == dt.date(2003, 7, 31)
    assert actions["66"][model.STATUS] == model.COMPLETE
    assert actions["1"][model.AREA] == "Strategic vision"  # the section heading above it
    assert actions["5"][model.AREA] == "Developing stronger partnerships"
    assert actions["27"][model.LEAD] == "To be confirmed"  # judged, and reported
    assert any(
        j.get("ref") == "27" and "lead" in j["judgement"] for j in result.report["judgements"]
    )


def test_herefordshire_bullets_under_area_headings():
    result = imported("herefordshire-joint-review-2003")
    assert result.actions[0][model.AREA] == "ACCESS TO SERVICES"
    assert result.actions[1][model.AREA] == "ACCESS TO SERVICES"  # merged cell carried down
    assert [a[model.REF] for a in result.actions[:3]] == ["1", "2", "3"]  # no numbering: given
    assert not any(a[model.ACTION].startswith("<") for a in result.actions)
    achieved = [a for a in result.actions if a[model.TIMESCALE] == "Already achieved"]
    assert achieved and all(a[model.STATUS] == model.COMPLETE for a in achieved)
    assert all(not set(a[model.ACTION]) <= set("-") for a in result.actions)


def test_stockton_numbered_actions_under_improvement_areas():
    result = imported("stockton-safeguarding-2010")
    actions = by_ref(result)
    assert actions["1"][model.AREA].startswith("Improvement Area 1 – Improve the quality")
    assert actions["4"][model.AREA].startswith("Improvement Area 2")
    assert actions["1"][model.ACTION].startswith("Training: Implement development")
    assert actions["17"][model.ACTION].startswith("Staffing: To ensure:\nThere is a duty")
    assert result.report["columns"]["Expected evidence of improvement"] == "Expected outcome"


def test_salford_one_cell_per_line():
    result = imported("salford-joint-review-2003")
    assert result.report["reader"] == "text, one cell per line"
    assert len(result.actions) == 30
    first = result.actions[0]
    assert first[model.REF] == "1.4.1-a"  # the plan's own ref, made unique
    assert first[model.AREA].startswith("modernising the services for people with physical")
    assert first[model.LEAD] == "AD(AC)"
    assert first[model.TIMESCALE] == "March 2004"
    assert first["Links"] == "NHS\n\nVol Sector"
    assert "Links" in result.report["columns_kept_unmapped"]


def test_all_five_validate_without_errors(tmp_path):
    for stem, organisation, service, reporting_date in load_examples_builder().SOURCES:
        result = import_plan(LEGACY / f"{stem}.txt", organisation, reporting_date, service)
        path = write_plan(
            tmp_path / f"{stem}.xlsx",
            result.plan,
            result.actions,
            result.extra_columns,
        )
        report = validate([path]).files[0]
        assert report.errors == [], (stem, report.errors[:3])


def test_reimport_matches_the_committed_examples(tmp_path):
    builder = load_examples_builder()
    for stem, organisation, service, reporting_date in builder.SOURCES:
        result = builder.import_source(stem, organisation, service, reporting_date)
        path = write_plan(
            tmp_path / f"{stem}.xlsx", result.plan, result.actions, result.extra_columns
        )
        committed = REPO / "examples" / "plans" / f"{stem}.xlsx"
        assert path.read_bytes() == committed.read_bytes(), stem
        report = json.loads((REPO / "examples" / "plans" / f"{stem}.import.json").read_text())
        assert report == json.loads(json.dumps(result.report, default=str))


def test_csv_with_title_rows_and_other_headers(tmp_path):
    path = tmp_path / "plan.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Sunnyshire Council: adult services action plan"])
        writer.writerow([])
        writer.writerow(["No.", "Recommendation", "Who by?", "Due date", "RAG", "Directorate"])
        writer.writerow(
            ["1", "Publish the eligibility criteria", "J Bloggs", "Q3 2024/25", "Green", "Adults"]
        )
        writer.writerow(["2", "Review the duty system", "A Patel", "31/03/2025", "Amber", ""])
        writer.writerow(["3", "Recruit two social workers", "", "Completed", "", ""])
    result = import_plan(path, reporting_date=dt.date(2024, 11, 1))
    actions = by_ref(result)
    assert result.plan[model.ORGANISATION] == "Sunnyshire Council"
    assert result.report["columns"]["Who by?"] == "Lead officer"
    assert result.report["columns"]["Due date"] == "Timescale"  # kept as written, date derived
    assert actions["1"][model.DUE_DATE] == dt.date(2024, 12, 31)
    assert actions["1"][model.STATUS] == model.ON_TRACK  # Green
    assert actions["2"][model.STATUS] == model.AT_RISK  # Amber
    assert actions["2"][model.DUE_DATE] == dt.date(2025, 3, 31)
    assert actions["3"][model.STATUS] == model.COMPLETE
    assert result.extra_columns == ["Directorate"]


def test_workbook_in_its_own_layout(tmp_path):
    path = tmp_path / "own.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Improvement plan")
    sheet.write_row(0, 0, ["Borough Council of Somewhere"])
    sheet.write_row(
        2,
        0,
        [
            "Ref",
            "Priorities for Action",
            "Proposed Action",
            "LEAD OFFICER",
            "Target date",
            "Progress notes",
            "Last updated",
        ],
    )
    sheet.write_row(
        3,
        0,
        [
            "A1",
            "Safeguarding",
            "Audit case files",
            "Head of Service",
            "Spring 2025",
            "Audit tool drafted (B)",
        ],
    )
    sheet.write_datetime(
        3, 6, dt.datetime(2024, 12, 20), book.add_format({"num_format": "d mmm yyyy"})
    )
    book.close()
    result = import_plan(path, organisation="Somewhere", reporting_date=dt.date(2025, 1, 6))
    [action] = result.actions
    assert action[model.REF] == "A1"
    assert action[model.DUE_DATE] == dt.date(2025, 5, 31)
    assert (action[model.GRADE], action[model.STATUS]) == ("B", model.AT_RISK)
    assert action[model.LAST_UPDATED] == dt.date(2024, 12, 20)  # a real date, not text


def test_cli_import_writes_the_standard_workbook_and_report(tmp_path):
    out, report = tmp_path / "brent.xlsx", tmp_path / "brent.json"
    result = CliRunner().invoke(
        cli,
        [
            "import",
            str(LEGACY / "brent-physical-disabilities-2003.txt"),
            "-o",
            str(out),
            "--organisation",
            "Brent Council",
            "--reporting-date",
            "2003-11-24",
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "76 actions found" in result.output
    assert result.output.splitlines()[-1] == (
        f"wrote {out}: 0 errors, 0 warnings against the default rules"
    )
    data = json.loads(report.read_text())
    assert data["actions_found"] == 76 and data["columns"]["Responsible Officer"] == "Lead officer"
    book = openpyxl.load_workbook(out)
    assert book["Plan"]["B1"].value == "Brent Council"
    validations = {str(v.sqref) for v in book["Actions"].data_validations.dataValidation}
    assert "L2:L501" in validations  # dropdowns come with it
    missing = CliRunner().invoke(cli, ["import", str(tmp_path / "nope.txt"), "-o", str(out)])
    assert (missing.exit_code, missing.output) == (
        2,
        f"xltools: error: {tmp_path / 'nope.txt'}: no such file\n",
    )
    no_org = CliRunner().invoke(
        cli, ["import", str(LEGACY / "brent-physical-disabilities-2003.txt"), "-o", str(out)]
    )
    assert no_org.exit_code == 1  # the plan needs an organisation: the findings say so
    assert "0 warnings" in no_org.output and "1 error," in no_org.output


def test_a_file_with_no_table_is_a_clear_error(tmp_path):
    path = tmp_path / "letter.txt"
    path.write_text("Dear colleague,\n\nPlease find our plan attached.\n")
    result = CliRunner().invoke(cli, ["import", str(path), "-o", str(tmp_path / "out.xlsx")])
    assert result.exit_code == 2
    assert result.output.startswith(f"xltools: error: {path}: no table header found")
    assert not (tmp_path / "out.xlsx").exists()
