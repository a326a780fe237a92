"""The weekly roll-up, driven against a real folder of plans."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import PLAN, REPO, action, edit_actions, lo_sheet_tables

from xltools import model
from xltools.cli import cli
from xltools.consolidate import consolidate
from xltools.history import History, Snapshot
from xltools.outcome import Outcome
from xltools.register import write_register
from xltools.template import write_plan

WEEK1 = dt.date(2003, 11, 24)
WEEK2 = dt.date(2003, 12, 1)
FORMULA_TEXT = '=HYPERLINK("http://example.com","click")'


def digest(folder):
    return {
        p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _patch_text(path, text, replacement):
    """Put in a file what our writers refuse to write: control characters (which Excel
    stores as _xHHHH_ escapes) and text past the cell limit."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    parts = {name: data.replace(text, replacement) for name, data in parts.items()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


@pytest.fixture
def inbox(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "adults").mkdir(parents=True)
    write_plan(
        inbox / "argyll.xlsx",
        PLAN,
        [
            action("1", due_date=dt.date(2003, 12, 10), progress_update=FORMULA_TEXT),
            action("2", due_date=dt.date(2003, 10, 31), status="At risk"),  # overdue 24 days
            action("3", due_date=dt.date(2003, 11, 14), status="Not started"),  # overdue 10
            action("4", status="Complete", grade="A", due_date=dt.date(2003, 9, 1)),
        ],
    )
    # Brent keeps its columns in its own order, with a column of its own.
    brent = write_plan(
        inbox / "brent.xlsx",
        {**PLAN, model.ORGANISATION: "Brent Council", model.PLAN_TITLE: "PD review"},
        [
            action("66", status="Complete", timescale="July 2003", due_date=dt.date(2003, 7, 31)),
            action("24", due_date="March 2004", lead_officer="Head of\x07 Service"),
        ],
    )
    book = openpyxl.load_workbook(brent)
    sheet = book["Actions"]
    sheet.move_range("L1:L3", cols=6)  # Status moves to column R
    sheet["L1"] = "Directorate"
    book.save(brent)
    _patch_text(brent, b"Head of Service", b"Head of_x0007_ Service")
    write_plan(
        inbox / "adults" / "salford.xlsx",
        {**PLAN, model.ORGANISATION: "Salford City Council", model.PLAN_TITLE: "Joint Review"},
        [action("A1", progress_update="LONG-TEXT")],
    )
    _patch_text(inbox / "adults" / "salford.xlsx", b"LONG-TEXT", b"y" * 40_000)
    (inbox / "~$argyll.xlsx").write_bytes(b"\x00" * 165)
    (inbox / "notes.txt").write_text("not a plan")
    (inbox / ".hidden.xlsx").write_bytes(b"PK")
    (inbox / "broken.xlsx").write_bytes(b"PK\x03\x04 this is not a zip")
    (inbox / "gone.xlsx").symlink_to(inbox / "deleted.xlsx")
    (inbox / "old.xlsx").mkdir()
    return inbox


def test_register_from_a_real_folder(inbox, tmp_path):
    before = digest(inbox)
    result = consolidate(inbox, WEEK1, history=tmp_path / "h.sqlite")
    assert digest(inbox) == before  # sources untouched
    assert {p.source_file for p in result.plans} == {
        "argyll.xlsx",
        "brent.xlsx",
        "adults/salford.xlsx",
    }
    assert [(p.name, r) for p, r in result.skipped] == [
        (".hidden.xlsx", "hidden file"),
        ("gone.xlsx", "broken link"),
        ("old.xlsx", "a folder named like a workbook"),
        ("~$argyll.xlsx", "Office lock file (the workbook is open)"),
    ]
    problems = {p.path.name: p for p in result.problems}
    assert problems["broken.xlsx"].kind == "unreadable"
    assert "damaged or incomplete" in problems["broken.xlsx"].reason
    assert problems["brent.xlsx"].kind == "findings"  # 'March 2004' in Due date
    assert result.outcome is Outcome.PROBLEMS

    rows = {(r["Source file"], r["Ref"]): r for r in result.rows}
    assert len(rows) == 7
    brent24 = rows[("brent.xlsx", "24")]
    assert brent24["Source row"] == 3 and brent24["Status"] == "On track"  # found by header
    assert brent24["Lead officer"] == "Head of Service"  # control character removed
    assert "not a date" in brent24["Validation"]
    assert "control characters removed" in brent24["Validation"]
    assert rows[("argyll.xlsx", "2")]["RAG"] == "Red"
    assert rows[("argyll.xlsx", "2")]["Days overdue"] == 24
    assert rows[("argyll.xlsx", "4")]["RAG"] == "Blue"
    assert rows[("argyll.xlsx", "1")]["RAG"] == "Green"
    long_text = rows[("adults/salford.xlsx", "A1")]["Progress update"]
    assert len(long_text) == 32_767 and long_text.endswith("32,767-character cell limit]")
    assert any(f.code == "text-cleaned" for f in problems["salford.xlsx"].findings)
    assert [r["Ref"] for r in result.overdue] == ["2", "3"]  # oldest first
    assert [r["Ref"] for r in result.due_soon] == ["1"]


def test_register_workbook_sheets(inbox, tmp_path):
    result = consolidate(inbox, WEEK1, history=tmp_path / "h.sqlite")
    path = write_register(result, tmp_path / "register.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [
        "Summary",
        "Trend",
        "Register",
        "Overdue",
        "Due soon",
        "Changes",
        "Not returned",
        "Problems",
        "Skipped files",
    ]
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row[0]}
    assert summary["Plans read"] == 3 and summary["Actions"] == 7
    assert summary["Overdue"] == 2 and summary["Due in the next 28 days"] == 1
    assert summary["Reporting date"] == dt.datetime(2003, 11, 24)
    register = book["Register"]
    header = [c.value for c in register[1]]
    assert header[:4] == ["Organisation", "Service", "Plan title", "Ref"]
    assert {"Source file", "Source row", "RAG", "Days overdue", "Validation"} <= set(header)
    # The Register's filter is its Excel Table's (see test_register_excel.py).
    assert register.freeze_panes == "A2" and register.tables["Register"].autoFilter
    progress = header.index("Progress update") + 1
    cell = next(
        register.cell(r, progress)
        for r in range(2, 9)
        if register.cell(r, progress).value == FORMULA_TEXT
    )
    assert cell.data_type == "s"  # text, never a live formula
    due = register.cell(2, header.index("Due date") + 1).value
    assert isinstance(due, dt.datetime)  # real dates
    rag_rules = [r.formula for cf in register.conditional_formatting for r in cf.rules]
    assert ['"Red"'] in rag_rules
    overdue = book["Overdue"]
    assert [overdue.cell(r, 3).value for r in (1, 2, 3)] == ["Ref", "2", "3"]
    due_soon = book["Due soon"]
    assert [due_soon.cell(r, 3).value for r in (1, 2)] == ["Ref", "1"]
    assert due_soon.cell(2, 7).value == dt.datetime(2003, 12, 10)
    problems = [row for row in book["Problems"].iter_rows(values_only=True)][1:]
    assert any(row[1] == "File could not be read" and "broken.xlsx" in row[0] for row in problems)
    assert any(row[1] == "Date is not a date" and row[3] == "Actions!F3" for row in problems)
    import zipfile

    with zipfile.ZipFile(path) as archive:
        assert "xl/charts/chart1.xml" in archive.namelist()


def test_second_week_shows_exactly_the_changes(inbox, tmp_path):
    history = tmp_path / "h.sqlite"
    first = consolidate(inbox, WEEK1, history=history)
    assert first.changes == []
    edit_actions(
        inbox / "argyll.xlsx",
        [("1", "Due date", dt.datetime(2004, 1, 31)), ("2", "Status", "Complete")],
    )
    second = consolidate(inbox, WEEK2, history=history)
    summary = [(c.kind, c.ref, c.old, c.new) for c in second.changes]
    assert summary == [
        ("slipped", "1", "10/12/2003", "31/01/2004"),
        ("complete", "2", "At risk", "Complete"),
    ]
    assert second.changes[0].times_slipped == 1
    assert second.changes[0].plan == "Argyll and Bute Council / PMP audit improvement plan"
    again = consolidate(inbox, WEEK2, history=history)  # the same week twice
    assert again.changes == second.changes
    with History(history) as store:
        assert store.reporting_dates() == [WEEK1, WEEK2]
        assert len(store.snapshot(WEEK2)) == 7
    path = write_register(second, tmp_path / "r.xlsx")
    changes = list(openpyxl.load_workbook(path)["Changes"].iter_rows(values_only=True))
    assert changes[1][:6] == (
        "Due date slipped",
        second.changes[0].plan,
        "1",
        "Action 1",
        "10/12/2003",
        "31/01/2004",
    )
    assert changes[2][0] == "Newly complete"


def test_history_slips_new_gone_and_stale_progress(tmp_path):
    def snap(ref, due, status="On track", progress="Working on it"):
        return Snapshot("Plan", ref, "Org", "Plan", f"Action {ref}", "Lead", status, due, progress)

    with History(tmp_path / "h.sqlite") as store:
        store.store(dt.date(2003, 11, 3), [snap("1", dt.date(2003, 12, 1)), snap("2", None)], 1)
        store.store(dt.date(2003, 11, 17), [snap("1", dt.date(2004, 1, 1)), snap("2", None)], 1)
        store.store(
            dt.date(2003, 12, 1),
            [snap("1", dt.date(2004, 2, 1), "Off track"), snap("3", None)],
            1,
        )
        changes = [(c.kind, c.ref, c.times_slipped) for c in store.changes(dt.date(2003, 12, 1))]
    assert changes == [
        ("new", "3", 0),
        ("gone", "2", 0),
        ("status-worse", "1", 0),
        ("slipped", "1", 2),
        ("stale-progress", "1", 0),
    ]


def test_cli_json_equals_library_and_exit_status(inbox, tmp_path):
    out = tmp_path / "register.xlsx"
    result = CliRunner().invoke(
        cli,
        ["consolidate", str(inbox), "-o", str(out), "--reporting-date", "2003-11-24", "--json"],
    )
    assert result.exit_code == 1
    library = consolidate(inbox, WEEK1, history=tmp_path / "register.history.sqlite")
    assert json.loads(result.output) == json.loads(json.dumps(library.to_dict()))
    assert (tmp_path / "register.history.sqlite").exists()

    clean = tmp_path / "clean"
    clean.mkdir()
    write_plan(clean / "ok.xlsx", PLAN, [action("1")])
    result = CliRunner().invoke(
        cli,
        ["consolidate", str(clean), "-o", str(out), "--reporting-date", "2003-11-24", "--force"],
    )
    assert result.exit_code == 0
    assert result.output == (
        f"wrote {out}: 1 plan read, 0 not read, 1 action, 0 overdue, 0 due in the next "
        "28 days, 0 problems, 0 changes since the last run\n"
    )
    result = CliRunner().invoke(cli, ["consolidate", str(tmp_path / "nope"), "-o", str(out)])
    assert result.exit_code == 2
    assert result.output == (
        f"xltools: error: {tmp_path / 'nope'}: is not a folder (or does not exist): give the "
        "folder the plans are collected in; nothing was written\n"
    )


@pytest.mark.libreoffice
def test_register_opens_in_libreoffice_with_counts(soffice, inbox, tmp_path):
    result = consolidate(inbox, WEEK1, history=tmp_path / "h.sqlite")
    path = write_register(result, tmp_path / "register.xlsx")
    tables = lo_sheet_tables(soffice, path, tmp_path / "html")
    summary = {row[0][0]: row[1][0] for row in tables[0] if len(row) > 1 and row[0][0]}
    assert summary["Plans read"] == "3" and summary["Actions"] == "7"
    register = tables[2]  # after the Summary and the Trend
    header = [text for text, _ in register[0]]
    rag = header.index("RAG")
    colours = {row[rag][0]: row[rag][1] for row in register[1:] if row[rag][0]}
    assert colours["Red"] == model.RAG_COLOURS["Red"][0]
    assert colours["Blue"] == model.RAG_COLOURS["Blue"][0]


def test_two_files_of_the_same_plan_stay_apart_in_the_history(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_plan(inbox / "plan.xlsx", PLAN, [action("1")])
    write_plan(inbox / "plan copy.xlsx", PLAN, [action("1", status="At risk")])
    result = consolidate(inbox, WEEK1, history=tmp_path / "h.sqlite")
    assert len({plan.key for plan in result.plans}) == 2
    with History(tmp_path / "h.sqlite") as store:
        assert len(store.snapshot(WEEK1)) == 2


REFERENCE = REPO / "tests" / "reference" / "register-2003-11-24.xlsx"
VOLATILE_PARTS = {"docProps/core.xml", "docProps/app.xml"}


def xml_parts(path) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return {n: archive.read(n) for n in archive.namelist() if n not in VOLATILE_PARTS}


def test_register_matches_the_reviewed_reference(tmp_path):
    """The shipped examples' register, part by part, against a reviewed copy.

    Regenerate after a deliberate change with:
    python -c "import datetime as d, xltools.consolidate as c, xltools.register as r; \\
    r.write_register(c.consolidate('examples/inbox', d.date(2003, 11, 24)), \\
    'tests/reference/register-2003-11-24.xlsx')"
    """
    result = consolidate(REPO / "examples" / "inbox", WEEK1)
    path = write_register(result, tmp_path / "register.xlsx")
    ours, reference = xml_parts(path), xml_parts(REFERENCE)
    assert sorted(ours) == sorted(reference)
    for name in reference:
        assert ours[name] == reference[name], name


def _comparable(result):
    data = result.to_dict()
    return data, [(r.path, r.status, r.findings) for r in result.reports]


def test_workers_give_the_same_register_as_one_process(inbox, tmp_path):
    for number in range(6):  # enough files for several chunks
        write_plan(
            inbox / f"extra-{number}.xlsx",
            {**PLAN, model.PLAN_TITLE: f"Plan {number}"},
            [action("1", due_date=dt.date(2003, 11, 1 + number), status="At risk")],
        )
    alone = consolidate(inbox, WEEK1, workers=1)
    shared = consolidate(inbox, WEEK1, workers=2)
    assert _comparable(shared) == _comparable(alone)
    # broken.xlsx is still a problem
    assert len(shared.plans) == 9 and shared.outcome is Outcome.PROBLEMS


def test_workers_started_afresh_as_on_windows_and_macos(inbox, monkeypatch):
    from xltools import validate

    monkeypatch.setattr(validate, "START_METHOD", "spawn")
    shared = consolidate(inbox, WEEK1, workers=2)
    assert _comparable(shared) == _comparable(consolidate(inbox, WEEK1, workers=1))


def test_a_worker_that_dies_does_not_stop_the_roll_up(inbox, caplog):
    import multiprocessing
    import os
    import signal

    # Enough work that the workers are still busy when they are killed.
    actions = [action(str(n)) for n in range(1, 101)]
    for number in range(40):
        write_plan(inbox / f"extra-{number:02d}.xlsx", PLAN, actions)
    killed = []

    def kill_the_workers(path):
        # A real death, as the out-of-memory killer would deal it: the pool breaks and
        # the chunks still to come are read in this process instead.
        if not killed:
            for child in multiprocessing.active_children():
                os.kill(child.pid, signal.SIGKILL)
                killed.append(child.pid)

    result = consolidate(inbox, WEEK1, workers=2, progress=kill_the_workers)
    assert killed
    assert "a reading process stopped" in caplog.text
    assert len(result.plans) == 43
    assert _comparable(result) == _comparable(consolidate(inbox, WEEK1, workers=1))
    assert [p.path.name for p in result.problems if p.kind == "unreadable"] == ["broken.xlsx"]


def test_a_file_that_kills_its_reader_is_the_only_one_lost(inbox, monkeypatch, caplog):
    import os

    from xltools import validate

    for number in range(6):
        write_plan(inbox / f"extra-{number}.xlsx", PLAN, [action("1")])
    write_plan(inbox / "killer.xlsx", PLAN, [action("1")])
    real_read_plan = validate.read_plan

    def read_plan(path, limits):
        if path.name == "killer.xlsx":
            os._exit(9)  # the reader process dies, as a parser crash or the OOM killer would
        return real_read_plan(path, limits)

    monkeypatch.setattr(validate, "read_plan", read_plan)
    result = consolidate(inbox, WEEK1, workers=2)
    unreadable = {p.path.name: p.reason for p in result.problems if p.kind == "unreadable"}
    assert set(unreadable) == {"broken.xlsx", "killer.xlsx"}
    assert unreadable["killer.xlsx"].startswith("reading it stopped the reader")
    assert len(result.plans) == 9  # every other plan still reaches the register
    assert "the reading process stopped on" in caplog.text
