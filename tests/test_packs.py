"""Update packs out to each lead and their replies merged back (real LibreOffice saves)."""

from __future__ import annotations

import datetime as dt
import shutil

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import PLAN, action, edit_actions, lo_convert
from openpyxl.utils import get_column_letter as column_letter

from xltools import model
from xltools.cli import cli
from xltools.errors import XltoolsError
from xltools.merge import merge
from xltools.packs import (
    PACK_COLUMNS,
    PACK_SHEET,
    PROPOSED_DUE,
    REASON,
    RECORD_SHEET,
    Ledger,
    read_pack,
    write_packs,
)
from xltools.read import read_plan
from xltools.template import write_plan

WEEK1 = dt.date(2003, 11, 24)
REPLY_BY = dt.date(2003, 11, 28)
BUTE = {**PLAN, model.ORGANISATION: "Bute Council", model.PLAN_TITLE: "Bute plan"}


@pytest.fixture
def inbox(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_plan(
        inbox / "argyll.xlsx",
        PLAN,
        [
            action("1"),
            action("2", status="At risk"),
            action("3", lead_officer="Pat Jones", lead_email="pat@example.gov.uk"),
            action("4", status="Complete"),
        ],
    )
    write_plan(
        inbox / "bute.xlsx",
        BUTE,
        [
            action("7", lead_officer="sandra  greer", due_date=dt.date(2004, 1, 31)),
            action("8", lead_officer="Lee Ward", lead_email="lee@example.gov.uk"),
        ],
    )
    return inbox


def edit_pack(path, edits, target=None):
    """Fill in a pack as a lead would: {(Ref, column): value} on the Update sheet."""
    book = openpyxl.load_workbook(path)
    sheet = book[PACK_SHEET]
    header = [c.value for c in sheet[1]]
    for (ref, column), value in edits.items():
        row = next(r for r in range(2, sheet.max_row + 1) if str(sheet.cell(r, 2).value) == ref)
        cell = sheet.cell(row, header.index(column) + 1, value)
        if isinstance(value, str):
            cell.data_type = "s"  # typed as text, as a lead would with a leading '
    book.save(target or path)
    return target or path


def plan_values(path, ref):
    table = read_plan(path)
    return next(r for r in table.records if str(r[model.REF]) == ref)


def test_packs_hold_each_leads_open_actions_locked_and_coloured(inbox, tmp_path):
    run = write_packs(inbox, tmp_path / "packs", WEEK1, REPLY_BY)
    assert [(p.lead, p.rows, p.plans) for p in run.packs] == [
        ("Lee Ward", 1, 1),
        ("Pat Jones", 1, 1),
        ("Sandra Greer", 3, 2),  # across both plans; the Complete action left out
    ]
    sandra = run.packs[2].path
    book = openpyxl.load_workbook(sandra)
    sheet = book[PACK_SHEET]
    assert [c.value for c in sheet[1]] == list(PACK_COLUMNS)
    assert book[RECORD_SHEET].sheet_state == "veryHidden"
    assert sheet.protection.sheet
    header = [c.value for c in sheet[1]]
    for name in PACK_COLUMNS:
        cell = sheet.cell(2, header.index(name) + 1)
        editable = name in (*model.ACTION_COLUMN_NAMES[9:12], model.LAST_UPDATED, PROPOSED_DUE)
        editable = editable or name == REASON
        assert cell.protection.locked is not editable, name
    assert [str(sheet.cell(r, 2).value) for r in range(2, 5)] == ["1", "2", "7"]
    rules = [r for cf in sheet.conditional_formatting for r in cf.rules]
    assert any("TODAY()" in r.formula[0] for r in rules)  # the template's overdue rule
    validations = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
    status = header.index(model.STATUS) + 1
    assert any(v.type == "list" and "Lists" in v.formula1 for v in validations.values())
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
    # Fit to one page wide (Excel's default width of 1 is left out), as long as it needs.
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToHeight == 0
    assert sheet.print_title_rows == "$1:$1"
    assert any(v.type == "list" for k, v in validations.items() if column_letter(status) in k)
    ledger = Ledger.load(tmp_path / "packs")
    assert sorted(ledger.packs) == [
        "2003-11-24/lee-ward",
        "2003-11-24/pat-jones",
        "2003-11-24/sandra-greer",
    ]
    assert ledger.packs["2003-11-24/sandra-greer"]["reply_by"] == "2003-11-28"


def test_pack_folder_inside_the_inbox_is_refused(inbox):
    with pytest.raises(XltoolsError, match="outside the inbox"):
        write_packs(inbox, inbox / "packs", WEEK1)


def test_record_survives_libreoffice_and_openpyxl(inbox, tmp_path, soffice):
    run = write_packs(inbox, tmp_path / "packs", WEEK1, REPLY_BY)
    sandra = run.packs[2].path
    edited = edit_pack(sandra, {("1", model.PROGRESS): "Draft out"}, tmp_path / "edited.xlsx")
    saved = lo_convert(soffice, edited, "xlsx", tmp_path / "lo")
    pack = read_pack(saved)
    assert pack.pack_id == "2003-11-24/sandra-greer"
    assert [(r.source, r.ref) for r in pack.rows] == [
        ("argyll.xlsx", "1"),
        ("argyll.xlsx", "2"),
        ("bute.xlsx", "7"),
    ]
    [row] = [r for r in pack.rows if r.ref == "1"]
    assert row.changed(PACK_COLUMNS) == [model.PROGRESS]
    assert all(r.changed(PACK_COLUMNS) == [] for r in pack.rows if r.ref != "1")
    book = openpyxl.load_workbook(saved)
    assert book[RECORD_SHEET].sheet_state in ("hidden", "veryHidden")
    assert book[PACK_SHEET].protection.sheet


def test_merge_applies_updates_lists_conflicts_and_requests(inbox, tmp_path, soffice):
    packdir = tmp_path / "packs"
    run = write_packs(inbox, packdir, WEEK1, REPLY_BY)
    lee, pat, sandra = (p.path for p in run.packs)
    returned = packdir / "returned"
    returned.mkdir()
    reply = edit_pack(
        sandra,
        {
            ("1", model.PROGRESS): "Draft strategy to DMT 1 Dec",
            ("2", model.STATUS): "Off track",
            ("7", PROPOSED_DUE): dt.datetime(2004, 4, 30),
            ("7", REASON): "Waiting for the audit report",
        },
        tmp_path / "sandra-reply.xlsx",
    )
    # The lead saved it in LibreOffice before sending it back.
    shutil.copy(lo_convert(soffice, reply, "xlsx", tmp_path / "lo"), returned / "sandra.xlsx")
    edit_pack(
        pat,
        {("3", model.ACTION): "Something else", ("3", model.PROGRESS): "x"},
        returned / "pat.xlsx",
    )

    result = merge(packdir, inbox, WEEK1)
    assert sorted((c.plan, c.column, c.ref, c.new) for c in result.changes) == [
        ("argyll.xlsx", model.PROGRESS, "1", "Draft strategy to DMT 1 Dec"),
        ("argyll.xlsx", model.STATUS, "2", "Off track"),
    ]
    assert [(c.code, c.plan, c.ref) for c in result.conflicts] == [
        ("locked-cell-edited", "argyll.xlsx", "3")
    ]
    [request] = result.requests
    assert (request["plan"], request["ref"], request["due"], request["proposed"]) == (
        "bute.xlsx",
        "7",
        "2004-01-31",
        "2004-04-30",
    )
    assert plan_values(inbox / "argyll.xlsx", "1")[model.PROGRESS] == "Draft strategy to DMT 1 Dec"
    assert plan_values(inbox / "argyll.xlsx", "2")[model.STATUS] == "Off track"
    assert plan_values(inbox / "argyll.xlsx", "3")[model.ACTION] == "Action 3"
    assert plan_values(inbox / "bute.xlsx", "7")[model.DUE_DATE] == dt.date(2004, 1, 31)
    # Plan kept otherwise: its dropdowns and colouring are still there.
    sheet = openpyxl.load_workbook(inbox / "argyll.xlsx")["Actions"]
    assert sheet.data_validations.dataValidation and sheet.conditional_formatting
    [backup] = result.backups
    assert backup.is_relative_to(packdir) and backup.name == "argyll.xlsx"
    assert not list(inbox.rglob("*backup*"))
    ledger = Ledger.load(packdir)
    assert ledger.packs["2003-11-24/sandra-greer"]["returned"]["file"] == "returned/sandra.xlsx"
    assert [p["lead"] for p in ledger.not_returned(dt.date(2003, 12, 1))] == ["Lee Ward"]

    # Twice: nothing changes the second time.
    before = {p: p.read_bytes() for p in (*inbox.iterdir(), packdir / "ledger.json")}
    again = merge(packdir, inbox, WEEK1)
    assert again.changes == [] and again.requests == [] and again.returns == []
    assert {p: p.read_bytes() for p in before} == before

    # The coordinator grants the request: the Due date moves, the ledger says granted.
    granted = merge(packdir, inbox, dt.date(2003, 12, 1), grants=["bute.xlsx:7"])
    assert [(c.plan, c.column, c.new, c.why) for c in granted.changes] == [
        ("bute.xlsx", model.DUE_DATE, "2004-04-30", "grant")
    ]
    assert plan_values(inbox / "bute.xlsx", "7")[model.DUE_DATE] == dt.date(2004, 4, 30)
    assert Ledger.load(packdir).grants()[0]["granted_on"] == "2003-12-01"
    third = merge(packdir, inbox, dt.date(2003, 12, 1), grants=["bute.xlsx:7"])
    assert third.changes == [] and third.grants == []
    assert [c.code for c in third.conflicts] == ["locked-cell-edited"]


def test_merge_conflicts(inbox, tmp_path):
    packdir = tmp_path / "packs"
    run = write_packs(inbox, packdir, WEEK1, REPLY_BY)
    lee, pat, sandra = (p.path for p in run.packs)
    returned = packdir / "returned"
    returned.mkdir()
    # Two packs on one action, differently.
    edit_pack(sandra, {("1", model.STATUS): "Complete"}, returned / "a.xlsx")
    edit_pack(sandra, {("1", model.STATUS): "Off track"}, returned / "b.xlsx")
    # A value the rules refuse; an out-of-date pack; an unknown Ref.
    edit_pack(pat, {("3", model.LAST_UPDATED): dt.datetime(2099, 1, 1)}, returned / "pat.xlsx")
    edit_pack(lee, {("8", model.PROGRESS): "Done"}, returned / "lee.xlsx")
    edit_actions(inbox / "bute.xlsx", [("8", model.PROGRESS, "Changed in the plan meanwhile")])
    edit_actions(inbox / "argyll.xlsx", [("2", model.REF, "2a")])
    edit_pack(sandra, {("2", model.PROGRESS): "x"}, returned / "c.xlsx")
    (returned / "junk.xlsx").write_bytes(b"not a workbook")
    result = merge(packdir, inbox, WEEK1)
    codes = sorted((c.code, c.ref) for c in result.conflicts)
    assert codes == [
        ("fails-rule", "3"),
        ("not-a-pack", ""),
        ("plan-newer", "8"),
        ("two-packs", "1"),
        ("two-packs", "1"),
        ("unknown-ref", "2"),
    ]
    assert result.changes == []
    fails = next(c for c in result.conflicts if c.code == "fails-rule")
    assert "is a date still to come" in fails.message


def test_cli_packs_and_merge(inbox, tmp_path):
    runner = CliRunner()
    packdir = tmp_path / "packs"
    done = runner.invoke(
        cli,
        ["packs", str(inbox), "-o", str(packdir), "--reporting-date", "2003-11-24"],
    )
    assert done.exit_code == 0, done.output
    assert "wrote 3 packs, reply by 01/12/2003" in done.output
    sandra = packdir / "2003-11-24" / "sandra-greer.xlsx"
    edit_pack(sandra, {("1", model.PROGRESS): '=HYPERLINK("x")'}, packdir / "back.xlsx")
    merged = runner.invoke(
        cli, ["merge", str(packdir), "--into", str(inbox), "--reporting-date", "2003-11-24"]
    )
    assert merged.exit_code == 0, merged.output
    assert "changed argyll.xlsx J2 (Progress update, Ref 1)" in merged.output
    cell = openpyxl.load_workbook(inbox / "argyll.xlsx")["Actions"]["J2"]
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("x")'
    bad = runner.invoke(cli, ["merge", str(packdir), "--into", str(inbox), "--grant", "nocolon"])
    assert bad.exit_code == 2 and "not PLAN:REF" in bad.output


def test_register_shows_returns_requests_non_returns_and_grants(inbox, tmp_path):
    from xltools.consolidate import consolidate
    from xltools.register import write_register

    packdir, history = tmp_path / "packs", tmp_path / "history.sqlite"
    consolidate(inbox, WEEK1, history=history, packs=tmp_path / "none")  # no ledger yet: empty
    run = write_packs(inbox, packdir, WEEK1, REPLY_BY)
    sandra = run.packs[2].path
    edit_pack(
        sandra,
        {("7", PROPOSED_DUE): dt.datetime(2004, 4, 30), ("7", REASON): "Audit late"},
        packdir / "back.xlsx",
    )
    merge(packdir, inbox, WEEK1)
    week2 = dt.date(2003, 12, 1)
    result = consolidate(inbox, week2, history=history, packs=packdir)
    assert [p["lead"] for p in result.loop.not_returned] == ["Lee Ward", "Pat Jones"]
    [request] = result.loop.request_rows
    assert request["Proposed due date"] == dt.date(2004, 4, 30) and request["Times slipped"] == 0
    register = write_register(result, tmp_path / "register.xlsx")
    book = openpyxl.load_workbook(register)
    packs_sheet = [[c.value for c in row] for row in book["Update packs"].iter_rows()]
    assert packs_sheet[1][:2] == ["Lee Ward", "2003-11-24/lee-ward.xlsx"]
    assert packs_sheet[1][4] == "not returned by the reply-by date"
    assert packs_sheet[3][4] == "returned"
    requests = [[c.value for c in row] for row in book["Extension requests"].iter_rows()]
    assert requests[1][:2] == ["bute.xlsx", "7"] and requests[1][9] == "requested"

    merge(packdir, inbox, week2, grants=["bute.xlsx:7"])
    week3 = dt.date(2003, 12, 8)
    result = consolidate(inbox, week3, history=history, packs=packdir)
    [change] = [c for c in result.changes if c.ref == "7"]
    assert change.kind == "extension-granted" and "granted on 01/12/2003" in change.detail
    assert result.loop.request_rows[0]["State"] == "granted"
    # Without --packs the register has no loop sheets (and the same bytes as before).
    plain = write_register(consolidate(inbox, week3), tmp_path / "plain.xlsx")
    assert "Update packs" not in openpyxl.load_workbook(plain).sheetnames


def test_packs_written_again_never_destroy_a_reply_saved_over_a_sent_pack(inbox, tmp_path):
    packdir = tmp_path / "packs"
    run = write_packs(inbox, packdir, WEEK1, REPLY_BY)
    again = write_packs(inbox, packdir, WEEK1, REPLY_BY)  # untouched: written again freely
    assert [p.path for p in again.packs] == [p.path for p in run.packs]
    sandra = run.packs[2].path
    edit_pack(sandra, {("1", model.PROGRESS): "Reply saved over the pack"})
    with pytest.raises(XltoolsError, match="changed after it was sent"):
        write_packs(inbox, packdir, WEEK1, REPLY_BY)
    assert read_pack(sandra).rows[0].now[model.PROGRESS] == "Reply saved over the pack"
    merge(packdir, inbox, WEEK1)  # a reply where the pack was is merged like any other
    assert plan_values(inbox / "argyll.xlsx", "1")[model.PROGRESS] == "Reply saved over the pack"
