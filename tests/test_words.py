"""What people read: labels not codes, errors before warnings, problems apart from warnings
and from skipped files, counts in words, on real files through the register and the digest."""

from __future__ import annotations

import datetime as dt
import re

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import PLAN, action

from xltools import catalogue, model
from xltools.cli import cli
from xltools.consolidate import consolidate
from xltools.register import read_register, write_register
from xltools.summary import summarise
from xltools.template import write_plan
from xltools.words import plural, times

WEEK = dt.date(2003, 11, 24)


@pytest.fixture
def inbox(tmp_path):
    """A plan with errors, one with warnings only, a clean one, a file that is no workbook,
    an Office lock file and a hidden file."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_plan(
        inbox / "brent.xlsx",
        {**PLAN, model.ORGANISATION: "Brent Council"},
        [
            action("1", due_date="TBC"),
            action("2", due_date="When funded"),
            action("3", lead_officer=None, lead_email="sandra at council"),
            action("4", status="Off track", grade="A"),  # a warning too
        ],
    )
    write_plan(
        inbox / "salford.xlsx",
        {**PLAN, model.ORGANISATION: "Salford City Council"},
        [action("1", status="Off track", grade="A"), action("2")],
    )
    write_plan(inbox / "argyll.xlsx", PLAN, [action("1")])
    (inbox / "broken.xlsx").write_bytes(b"this is not a workbook")
    (inbox / "~$argyll.xlsx").write_bytes(b"\x00" * 165)
    (inbox / ".brent-copy.xlsx").write_bytes(b"hidden")
    return inbox


def test_counts_agree_with_their_nouns():
    assert [plural(n, "day") for n in (0, 1, 2)] == ["0 days", "1 day", "2 days"]
    assert plural(1, "progress update") == "1 progress update"
    assert plural(3, "copy") == "3 copies" and plural(1200, "action") == "1,200 actions"
    assert [times(n) for n in (1, 2, 3)] == ["once", "twice", "3 times"]


def test_problems_sheet_labels_errors_first_and_skipped_apart(inbox, tmp_path):
    result = consolidate(inbox, WEEK)
    register = write_register(result, tmp_path / "register.xlsx")
    book = openpyxl.load_workbook(register, read_only=True)
    rows = list(book["Problems"].iter_rows(values_only=True))
    header, rows = list(rows[0]), rows[1:]
    problem, severity = header.index("Problem"), header.index("Severity")
    labels = {entry.label for entry in catalogue.CATALOGUE.values()}
    codes = set(catalogue.CATALOGUE)
    assert all(row[problem] in labels and row[problem] not in codes for row in rows)
    brent = [row[severity] for row in rows if row[0] == "brent.xlsx"]
    assert brent == ["error", "error", "error", "error", "warning"]  # errors before warnings
    files = {row[0] for row in rows}
    assert files == {"brent.xlsx", "salford.xlsx", "broken.xlsx"}  # no skipped file here
    skipped = list(book["Skipped files"].iter_rows(values_only=True))
    assert skipped == [
        ("File", "Reason"),
        (".brent-copy.xlsx", "hidden file"),
        ("~$argyll.xlsx", "Office lock file (the workbook is open)"),
    ]
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True) if r and r[0]}
    assert summary["Plans or files with problems (errors, or not read)"] == 2
    assert summary["Plans with warnings only"] == 1


def _section(text: str, heading: str) -> list[str]:
    return text.split(heading + "\n")[1].split("\n\n")[0].splitlines()


@pytest.mark.parametrize("source", ["library", "register file"])
def test_digest_gives_counts_and_top_findings_never_codes(inbox, tmp_path, source):
    result = consolidate(inbox, WEEK)
    if source == "library":
        data = result
    else:
        data = read_register(write_register(result, tmp_path / "register.xlsx"))
    digest = summarise(data).digest
    text = digest.text
    assert _section(text, "PLANS WITH PROBLEMS (2)") == [
        "- brent.xlsx: 4 errors, 1 warning. Found most: Date is not a date (2), "
        "Value missing (1), Not an email address (1), and 1 more kind",
        "- broken.xlsx: could not be read: this is a text file, not a workbook: send the plan "
        "as an .xlsx workbook",
        "Each finding, cell by cell, is on the register's Problems sheet.",
    ]
    assert _section(text, "PLANS WITH WARNINGS ONLY (1)") == [
        "- salford.xlsx: 1 warning: Grade contradicts status (1)"
    ]
    assert _section(text, "FILES SKIPPED, NOT PLANS (2)") == [
        "- .brent-copy.xlsx: hidden file",
        "- ~$argyll.xlsx: Office lock file (the workbook is open)",
    ]
    for code in catalogue.CATALOGUE:
        if code not in ("unreadable",):
            assert not re.search(rf"\b{re.escape(code)}\b", text), code
            assert not re.search(rf"\b{re.escape(code)}\b", digest.html), code
    assert "(s)" not in text and "(s)" not in digest.html
    assert not re.search(r"\b1 (days|plans|actions|errors|warnings|changes)\b", text)
    assert "see the register's Problems sheet" not in text.replace("Each finding", "")


def test_terminal_says_problems_then_warnings_then_skipped(inbox, tmp_path):
    out = tmp_path / "register.xlsx"
    outcome = CliRunner().invoke(
        cli, ["consolidate", str(inbox), "-o", str(out), "--reporting-date", "2003-11-24"]
    )
    assert outcome.exit_code == 1
    lines = outcome.output.splitlines()
    assert lines[:5] == [
        f"problem: {inbox / 'brent.xlsx'}: 4 errors, 1 warning: Date is not a date (2), "
        "Value missing (1), Not an email address (1), and 1 more kind",
        f"problem: {inbox / 'broken.xlsx'}: this is a text file, not a workbook: send the "
        "plan as an .xlsx workbook",
        f"warnings only: {inbox / 'salford.xlsx'}: 1 warning: Grade contradicts status (1)",
        f"{inbox / '.brent-copy.xlsx'}: skipped (hidden file)",
        f"{inbox / '~$argyll.xlsx'}: skipped (Office lock file (the workbook is open))",
    ]
    assert lines[5] == (
        f"wrote {out}: 3 plans read, 1 not read, 7 actions, 0 overdue, 0 due in the next "
        "28 days, 2 problems, 1 plan with warnings only, 0 changes since the last run"
    )


def test_validate_prints_errors_before_warnings_with_labels(inbox):
    outcome = CliRunner().invoke(cli, ["validate", str(inbox / "brent.xlsx")])
    lines = outcome.output.splitlines()
    severities = [re.search(r"  (error|warning) \(", line)[1] for line in lines[:-1]]
    assert severities == ["error", "error", "error", "error", "warning"]
    assert "(Date is not a date)" in lines[0] and "not-a-date" not in outcome.output
    assert lines[-1].endswith("invalid, 4 errors, 1 warning, 43 checks run")


def test_days_overdue_is_blank_when_not_overdue(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_plan(
        inbox / "plan.xlsx",
        PLAN,
        [action("1", due_date=dt.date(2003, 11, 1)), action("2"), action("3", status="Complete")],
    )
    register = write_register(consolidate(inbox, WEEK), tmp_path / "register.xlsx")
    sheet = openpyxl.load_workbook(register)["Register"]
    header = [c.value for c in sheet[1]]
    days = header.index("Days overdue") + 1
    assert [sheet.cell(r, days).value for r in (2, 3, 4)] == [23, None, None]
    assert [r["Days overdue"] for r in read_register(register).rows] == [23, None, None]


def test_a_lead_with_no_address_still_gets_a_note_and_the_digest_lists_it(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_plan(
        inbox / "argyll.xlsx",
        PLAN,
        [
            action("1", due_date=dt.date(2003, 11, 1), status="At risk"),
            action(
                "2",
                due_date=dt.date(2003, 10, 1),
                status="Off track",
                lead_officer="Pat Noaddress",
                lead_email=None,
            ),
        ],
    )
    register = write_register(consolidate(inbox, WEEK), tmp_path / "register.xlsx")
    outbox = tmp_path / "outbox"
    outcome = CliRunner().invoke(cli, ["summarise", str(register), "-o", str(outbox)])
    assert outcome.exit_code == 0, outcome.output
    note = outbox / "leads" / "no-address" / "pat-noaddress"
    assert outcome.output.splitlines() == [
        "wrote 3 messages to " + str(outbox),
        "no address for lead officer: Pat Noaddress (note written to print or forward: "
        f"{note}.html)",
    ]
    text = note.with_suffix(".txt").read_text()
    assert "Dear Pat Noaddress" in text and "Ref 2" in text and "Ref 1" not in text
    assert "the plans give no email address for you" in text
    eml = note.with_suffix(".eml").read_bytes()
    assert b"\nTo:" not in eml and b"Pat Noaddress" in eml
    digest = (outbox / "digest.txt").read_text()
    assert _section(digest, "LEAD OFFICERS WITH NO EMAIL ADDRESS (1)") == [
        "Their notes were written, not sent: print or forward them, and ask for an address.",
        "- Pat Noaddress: leads/no-address/pat-noaddress.html",
    ]
    # A lead's own note has no column repeating their name; the digest has it.
    html = note.with_suffix(".html").read_text()
    assert ">Lead officer<" not in html and ">Days overdue<" in html
    assert ">Lead officer<" in (outbox / "digest.html").read_text()
    summaries = summarise(read_register(register))
    assert [m.name for m in summaries.messages] == ["digest", "leads/sandra-greer"]  # to send
    assert [m.name for m in summaries.unaddressed] == ["leads/no-address/pat-noaddress"]
    sandra = (outbox / "leads" / "sandra-greer.html").read_text()
    assert ">Lead officer<" not in sandra and ">Sandra Greer<" not in sandra


def _usage_error(outcome) -> tuple[int, str]:
    return outcome.exit_code, outcome.output.splitlines()[-1]


def test_new_checks_its_output_and_owner_email(tmp_path):
    run = CliRunner().invoke
    assert _usage_error(run(cli, ["new", str(tmp_path / "plan.xls")])) == (
        2,
        f"Error: {tmp_path / 'plan.xls'} does not end in .xlsx: the plan is an Excel workbook; "
        "name it like plan.xlsx",
    )
    assert _usage_error(run(cli, ["new", str(tmp_path / "no" / "plan.xlsx")])) == (
        2,
        f"Error: the folder {tmp_path / 'no'} does not exist: create it first, or write the "
        "plan elsewhere",
    )
    outcome = run(cli, ["new", str(tmp_path / "plan.xlsx"), "--owner-email", "sandra at council"])
    assert _usage_error(outcome) == (
        2,
        "Error: --owner-email 'sandra at council' is not an email address: write it like "
        "a.officer@council.gov.uk",
    )
    assert not (tmp_path / "plan.xlsx").exists()
    good = ["new", str(tmp_path / "plan.xlsx"), "--owner-email", "s.greer@argyll-bute.gov.uk"]
    assert run(cli, good).exit_code == 0
    assert _usage_error(run(cli, good)) == (
        2,
        f"Error: {tmp_path / 'plan.xlsx'} already exists: choose another name or use --force",
    )
    assert run(cli, [*good, "--force"]).exit_code == 0


def test_every_command_that_writes_a_file_refuses_to_overwrite_without_force(tmp_path):
    """The same words and exit status 2 from each; the file is untouched; --force writes."""
    from conftest import LEGACY

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    plan = write_plan(inbox / "argyll.xlsx", PLAN, [action("1", due_date=dt.date(2003, 11, 1))])
    register = write_register(consolidate(inbox, WEEK), tmp_path / "register.xlsx")
    history = tmp_path / "register.history.sqlite"
    consolidate(inbox, WEEK, history=history)
    outbox = tmp_path / "outbox"
    CliRunner().invoke(cli, ["summarise", str(register), "-o", str(outbox)])
    annotated = tmp_path / "checked"
    annotated.mkdir()
    existing = {
        "import": tmp_path / "brent.xlsx",
        "consolidate": register,
        "colour": tmp_path / "coloured.xlsx",
        "summarise": outbox / "digest.eml",
        "validate": annotated / "argyll.xlsx",
        "trail": tmp_path / "trail.csv",
    }
    for path in existing.values():
        if not path.exists():
            path.write_bytes(b"kept")
    before = {name: path.read_bytes() for name, path in existing.items()}
    brent = str(LEGACY / "brent-physical-disabilities-2003.txt")
    commands = {
        "import": ["import", brent, "-o", str(existing["import"]), "--organisation", "Brent"],
        "consolidate": ["consolidate", str(inbox), "-o", str(register)],
        "colour": ["colour", str(plan), "-o", str(existing["colour"])],
        "summarise": ["summarise", str(register), "-o", str(outbox)],
        "validate": ["validate", str(plan), "--annotate", str(annotated)],
        "trail": ["trail", str(history), "--csv", str(existing["trail"])],
    }
    for name, arguments in commands.items():
        outcome = CliRunner().invoke(cli, arguments)
        assert _usage_error(outcome) == (
            2,
            f"Error: {existing[name]} already exists: choose another name or use --force",
        ), name
        assert existing[name].read_bytes() == before[name], name
        forced = CliRunner().invoke(cli, [*arguments, "--force"])
        assert forced.exit_code in (0, 1), (name, forced.output)
        assert existing[name].read_bytes() != before[name], name


def test_the_digest_says_how_the_headline_figures_moved_since_the_last_run(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    history = tmp_path / "history.sqlite"
    plan = inbox / "argyll.xlsx"
    write_plan(plan, PLAN, [action("1"), action("2", due_date=dt.date(2003, 11, 20))])
    consolidate(inbox, dt.date(2003, 11, 17), history=history)
    result = consolidate(inbox, WEEK, history=history)  # action 2 has now gone overdue
    register = write_register(result, tmp_path / "register.xlsx")
    for data in (result, read_register(register)):
        digest = summarise(data).digest
        assert digest.text.splitlines()[3] == (
            "Since the last run (17/11/2003): overdue 0 -> 1, due soon 1 -> 0, open 2 -> 2, "
            "complete 0 -> 0."
        )
        assert "overdue 0 &rarr; <strong>1</strong>" in digest.html
    first = summarise(consolidate(inbox, dt.date(2003, 11, 17))).digest.text
    assert "Since the last run" not in first


def test_history_export_and_weekly_init_refuse_to_overwrite_too(tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_plan(inbox / "argyll.xlsx", PLAN, [action("1")])
    history = tmp_path / "h.sqlite"
    consolidate(inbox, WEEK, history=history)
    out = tmp_path / "csv"
    export = ["history", "export", str(history), "-o", str(out)]
    assert CliRunner().invoke(cli, export).exit_code == 0
    assert _usage_error(CliRunner().invoke(cli, export)) == (
        2,
        f"Error: {out / 'actions_by_week.csv'} already exists: choose another name or use --force",
    )
    assert CliRunner().invoke(cli, [*export, "--force"]).exit_code == 0
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli, ["weekly", "--init"]).exit_code == 0
    (tmp_path / "xltools.toml").write_text("# mine\n")
    assert _usage_error(CliRunner().invoke(cli, ["weekly", "--init"])) == (
        2,
        "Error: xltools.toml already exists: choose another name or use --force",
    )
    assert (tmp_path / "xltools.toml").read_text() == "# mine\n"
    assert CliRunner().invoke(cli, ["weekly", "--init", "--force"]).exit_code == 0
    assert (tmp_path / "xltools.toml").read_text() != "# mine\n"
