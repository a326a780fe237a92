"""Importing legacy plans: the five real layouts, other files, and the shipped examples."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import sys

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
        ("31.12.25", dt.date(2025, 12, 31)),
        ("Mar-25", dt.date(2025, 3, 31)),
        ("30-Sep-2015", dt.date(2015, 9, 30)),
        ("w/c 15/07/24", dt.date(2024, 7, 15)),
        ("Q4 2025/26", dt.date(2026, 3, 31)),
        ("End of Q2", None),
        ("Immediate", None),
        ("TBC", None),
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
    missing = CliRunner().invoke(
        cli, ["import", str(tmp_path / "nope.txt"), "-o", str(tmp_path / "other.xlsx")]
    )
    assert (missing.exit_code, missing.output) == (
        2,
        f"xltools: error: {tmp_path / 'nope.txt'}: no such file\n",
    )
    no_org = CliRunner().invoke(
        cli,
        ["import", str(LEGACY / "brent-physical-disabilities-2003.txt"), "-o", str(out), "--force"],
    )
    # Brent's plan names no council: said so on the Plan sheet and in the report.
    assert no_org.exit_code == 0, no_org.output
    assert "the plan names no council or trust" in no_org.output
    assert openpyxl.load_workbook(out)["Plan"]["B1"].value == "Not stated in the source plan"


def test_a_file_with_no_table_is_a_clear_error(tmp_path):
    path = tmp_path / "letter.txt"
    path.write_text("Dear colleague,\n\nPlease find our plan attached.\n")
    result = CliRunner().invoke(cli, ["import", str(path), "-o", str(tmp_path / "out.xlsx")])
    assert result.exit_code == 2
    assert result.output.startswith(f"xltools: error: {path}: no table header found")
    assert not (tmp_path / "out.xlsx").exists()


def test_the_corpus_of_unseen_plans_holds_the_bar():
    """Real published plans in layouts the team never used (tests/corpus/score.py)."""
    spec = importlib.util.spec_from_file_location("score", REPO / "tests" / "corpus" / "score.py")
    score = importlib.util.module_from_spec(spec)
    sys.modules["score"] = score  # its dataclasses look their module up
    spec.loader.exec_module(score)
    scores = score.score_corpus()
    fields, counts = score.summary(scores)
    assert len(scores) >= 20  # issue 12: at least 20 real plans in unseen layouts
    assert fields >= 0.9, [(s.name, s.wrong) for s in scores]
    assert counts >= 0.9 * len(scores), [(s.name, s.found_actions) for s in scores]


def test_status_words_of_many_kinds():
    from xltools.importers.layout import read_status

    assert read_status("Achieved") == model.COMPLETE
    assert read_status("Blue – complete & assured") == model.COMPLETE
    assert read_status("Slippage") == model.AT_RISK
    assert read_status("Superseded") == model.WITHDRAWN
    assert read_status("Deferred") == model.OFF_TRACK
    assert read_status("100% complete") == model.COMPLETE
    assert read_status("35%") == model.ON_TRACK
    assert read_status("0%") == model.NOT_STARTED
    assert read_status("Amber") == model.AT_RISK
    assert read_status("see notes") is None
    # A key covering two statuses keeps the action open; a dropped action is withdrawn.
    assert read_status("Complete/on schedule to deliver") == model.ON_TRACK
    assert read_status("Incomplete/cannot be carried forward") == model.WITHDRAWN
    assert read_status("on hold – to keep on the Summary of Actions") == model.OFF_TRACK


def test_a_board_summary_of_actions_with_minute_refs_and_the_status_in_the_text(tmp_path):
    """Minute refs ("BOD 24/18(b)") are refs; "Status: in progress" written into the
    action's cell is its status; the paper an action arose from is its area."""
    path = tmp_path / "summary.txt"
    path.write_text(
        "Relevant Item\tPaper\tAction\tResponsibility\n"
        "BOD 24/18(b)\tGender pay gap\tPublish the report. Status: in progress\tTB\n"
        "BOD 180/17(b)-(c)\tBoard Assurance Framework\tUpdate risk 2.3. Status: complete\tHS\n",
        encoding="utf-8",
    )
    result = import_plan(path, reporting_date=dt.date(2018, 3, 1))
    assert [a[model.REF] for a in result.actions] == ["BOD 24/18(b)", "BOD 180/17(b)-(c)"]
    assert [a[model.STATUS] for a in result.actions] == [model.ON_TRACK, model.COMPLETE]
    assert result.actions[0][model.AREA] == "Gender pay gap"


def test_an_action_log_with_meeting_dates_and_a_status_told_in_sentences(tmp_path):
    """A board or committee action log: when the meeting was is not when the action is
    due; a "Status" column of sentences is the progress; the source item is the area."""
    path = tmp_path / "log.txt"
    rows = [
        ["Ref", "Meeting date", "Source", "Action", "Led by", "Finish by", "Status"],
        [
            "4.1",
            "15.03.2023",
            "Item 4, Finance report",
            "Report the savings plan",
            "DoF",
            "10.05.2023",
            "Draft prepared and shared with the committee chair for comment.",
        ],
        [
            "5.2",
            "15.03.2023",
            "Item 5, Staff survey",
            "Publish the survey results",
            "DoP",
            "30.06.2023",
            "Results received; the report is being written for the June meeting.",
        ],
    ]
    path.write_text("\n".join("\t".join(r) for r in rows) + "\n", encoding="utf-8")
    result = import_plan(path, reporting_date=dt.date(2023, 4, 1))
    first = result.actions[0]
    assert first[model.AREA] == "Item 4, Finance report"
    assert first[model.LEAD] == "DoF"
    assert first[model.DUE_DATE] == dt.date(2023, 5, 10)
    assert first[model.PROGRESS].startswith("Draft prepared")
    assert result.report["mapping"]["columns"]["Meeting date"] == "keep"  # not when due


def test_a_table_of_commitments_under_a_heading_and_its_aim(tmp_path):
    """No header row: rows led by what will be done, under a heading and a sentence
    saying what the heading aims at; a line naming one column over a two-column table."""
    path = tmp_path / "plan.txt"
    path.write_text(
        "As a Community Leader\n"
        "To lead by example, so that every resident is connected and supported.\n"
        "We will review how we consult residents\tCommunities team\tReview Jan 2023\n"
        "We will publish a calendar of diversity events\tEDI Officer Group\tMarch 2023\n",
        encoding="utf-8",
    )
    result = import_plan(path, reporting_date=dt.date(2023, 1, 1))
    assert [a[model.AREA] for a in result.actions] == ["As a Community Leader"] * 2
    assert result.actions[1][model.LEAD] == "EDI Officer Group"
    two = tmp_path / "progress.txt"
    two.write_text(
        "Growth\n\tActions completed to date\n"
        "Engage residents on the Local Plan\tA ten-week consultation took place in 2019.\n"
        "Invest in new places\tPlanning guidelines for five sites were published.\n",
        encoding="utf-8",
    )
    result = import_plan(two, reporting_date=dt.date(2023, 1, 1))
    assert [a[model.ACTION] for a in result.actions] == [
        "Engage residents on the Local Plan",
        "Invest in new places",
    ]
    assert result.actions[0][model.PROGRESS].startswith("A ten-week consultation")
    assert result.actions[0][model.AREA] == "Growth"


def _tracker(tmp_path):
    """An audit tracker: a row of column letters, question headers, ditto marks, % complete."""
    path = tmp_path / "tracker.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Borough Council of Westshire: internal audit follow-up tracker"])
        writer.writerow(["A", "B", "C", "D", "E", "F"])
        writer.writerow(["Rec no", "Finding", "What?", "Who?", "By when?", "% complete"])
        writer.writerow(["1", "Payroll", "Reconcile payroll monthly", "J Smith", "Mar-25", "100%"])
        writer.writerow(
            ["2", "Payroll", "Review starters and leavers", "As above", "31.12.25", "40%"]
        )
        writer.writerow(["3", "Creditors", "Check supplier bank changes", '"', "Q4 2025/26", "0%"])
    return path


def test_an_audit_tracker_with_question_headers_and_ditto_marks(tmp_path):
    result = import_plan(_tracker(tmp_path), reporting_date=dt.date(2025, 6, 1))
    actions = by_ref(result)
    assert result.report["header_line"] == 3  # the row of letters above is not the header
    assert result.report["columns"]["What?"] == model.ACTION
    assert result.report["columns"]["Who?"] == model.LEAD
    assert result.report["columns"]["% complete"] == model.STATUS
    assert result.report["columns"]["Finding"] == model.AREA
    assert actions["2"][model.LEAD] == actions["3"][model.LEAD] == "J Smith"
    assert any("'As above'" in j["judgement"] for j in result.report["judgements"])
    assert actions["1"][model.STATUS] == model.COMPLETE
    assert actions["2"][model.STATUS] == model.ON_TRACK
    assert actions["3"][model.DUE_DATE] == dt.date(2026, 3, 31)
    assert result.plan[model.ORGANISATION] == "Borough Council of Westshire"
    assert len(set(result.report["columns"].values()) & set(model.ACTION_COLUMN_NAMES)) == 6


def test_the_printed_mapping_passed_back_gives_the_same_import(tmp_path):
    path = _tracker(tmp_path)
    first = CliRunner().invoke(cli, ["import", str(path), "--dry-run"])
    assert first.exit_code == 0, first.output
    printed = first.output.split("pass it back with --map):\n", 1)[1].split("first ", 1)[0]
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("\n".join(line[4:] for line in printed.splitlines()) + "\n")
    again = import_plan(path, reporting_date=dt.date(2025, 6, 1), **_mapping_args(mapping))
    plain = import_plan(path, reporting_date=dt.date(2025, 6, 1))
    assert again.actions == plain.actions
    # Corrected by the user: the finding is the Action, "What?" kept as an extra column.
    mapping.write_text(
        mapping.read_text()
        .replace("What?: Action", "What?: keep")
        .replace("Finding: Area for improvement", "Finding: Action")
    )
    told = import_plan(path, reporting_date=dt.date(2025, 6, 1), **_mapping_args(mapping))
    assert told.actions[0][model.ACTION] == "Payroll" and told.actions[0]["What?"]


def _mapping_args(mapping):
    from xltools.importers import read_mapping

    header_row, told = read_mapping(mapping)
    return {"header_row": header_row, "mapping": told}


def test_column_and_header_row_options_and_dry_run(tmp_path):
    path = _tracker(tmp_path)
    out = tmp_path / "out.xlsx"
    result = CliRunner().invoke(
        cli,
        [
            "import",
            str(path),
            "--dry-run",
            "--header-row",
            "3",
            "--column",
            "Who?=keep",
            "--column",
            "column 1=Ref",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "'Who?' -> kept as extra column" in result.output
    assert "Ref: 1" in result.output and "(dry run: nothing written)" in result.output
    assert not out.exists()
    bad = CliRunner().invoke(cli, ["import", str(path), "--dry-run", "--column", "Nope=Action"])
    assert bad.exit_code == 2 and "no column headed 'Nope'" in bad.output


def test_no_actions_is_an_error_that_says_why(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("Action,Lead officer,Timescale,Status\n,,,\n")
    result = CliRunner().invoke(cli, ["import", str(path), "-o", str(tmp_path / "o.xlsx")])
    assert result.exit_code == 1
    assert "0 actions found: header taken on line 1" in result.output
    assert "'Action' -> Action" in result.output
    assert not (tmp_path / "o.xlsx").exists()


def test_import_prints_its_findings_as_validate_does(tmp_path):
    path = tmp_path / "plan.csv"
    path.write_text("Ref,Action,Lead officer,Lead email,Timescale\n1,Do it,Al,al@,Mar-25\n")
    out = tmp_path / "o.xlsx"
    result = CliRunner().invoke(
        cli, ["import", str(path), "-o", str(out), "--organisation", "Test"]
    )
    lines = [line for line in result.output.splitlines() if line.startswith(f"{out}  ")]
    assert lines, result.output
    assert result.output.splitlines()[-1].startswith(f"wrote {out}: ")


def test_every_judgement_is_a_catalogued_code():
    from xltools import catalogue

    for stem, organisation, service, reporting_date in load_examples_builder().SOURCES:
        result = import_plan(LEGACY / f"{stem}.txt", organisation, reporting_date, service)
        assert result.outcome.value == "ok"
        for item in result.report["judgements"]:
            kind = catalogue.get(item["code"])
            assert kind.code.startswith("import-") and item["judgement"], item


def test_a_table_that_is_no_action_plan_is_refused_with_its_reading(tmp_path):
    """A shipping manifest has rows, text and a column of names, but says nothing of when
    or how things stand, and no heading names who is responsible: not an action plan."""
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "Shipment,Contact Name,Company,Weight\n"
        "S-001,Alice Jones from the north depot,Acme Shipping Ltd,12.5\n"
        "S-002,Bob Smith at the harbour office,Blue Freight,7.25\n"
        "S-003,Carol White in receiving bay two,Acme Shipping Ltd,3\n",
        encoding="utf-8",
    )
    out = tmp_path / "plan.xlsx"
    refused = CliRunner().invoke(cli, ["import", str(manifest), "-o", str(out)])
    assert refused.exit_code == 1 and not out.exists()
    (line,) = refused.output.splitlines()
    assert "no heading names who is responsible and no column says by when" in line
    assert line.endswith('which column is which with --column "Header=Action"')
    # Told which column is which, the user gets the import they asked for.
    told = CliRunner().invoke(
        cli,
        ["import", str(manifest), "-o", str(out),
         "--column", "column 2=Action", "--column", "column 4=Timescale"],
    )  # fmt: skip
    assert told.exit_code == 0, told.output
    assert out.exists()
