"""Each action's trail: the register's original due date and revisions, trail, history export."""

from __future__ import annotations

import csv
import datetime as dt
import sqlite3

import openpyxl
import pandas as pd
from click.testing import CliRunner
from conftest import PLAN, action
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_history import DUES, FIRST_RUN, STATUSES

from xltools.cli import cli
from xltools.consolidate import consolidate
from xltools.history import MIGRATIONS, History, Snapshot
from xltools.register import write_register
from xltools.template import write_plan
from xltools.trail import COLUMNS, trails

WEEKS = [dt.date(2003, 11, 24) + dt.timedelta(weeks=n) for n in range(5)]
MARCH, JUNE, SEPT, DEC = (dt.date(2004, m, d) for m, d in ((3, 31), (6, 30), (9, 30), (12, 31)))
# Ref 1 slips twice; Ref 2 is granted an extension; Ref 3 is brought forward; Ref 4 stays.
DUE_BY_WEEK = {
    "1": [MARCH, MARCH, JUNE, JUNE, SEPT],
    "2": [MARCH, MARCH, MARCH, DEC, DEC],
    "3": [SEPT, SEPT, JUNE, JUNE, JUNE],
    "4": [MARCH] * 5,
}


def _run_weeks(tmp_path, weeks=WEEKS):
    inbox, history = tmp_path / "inbox", tmp_path / "register.history.sqlite"
    for index, week in enumerate(weeks):
        actions = [
            action(
                ref,
                due_date=dues[index],
                progress_update="Drafted" if index < 3 else "Agreed by committee",
                last_updated=dt.date(2003, 11, 1),
            )
            for ref, dues in DUE_BY_WEEK.items()
        ]
        actions[1]["Action"] = '=HYPERLINK("http://x")'  # staff text, never a formula
        write_plan(inbox / "plan.xlsx", {**PLAN, "Reporting date": week}, actions)
        if index == 3:
            with History(history) as store:  # the coordinator granted Ref 2's extension
                key = "Argyll and Bute Council / PMP audit improvement plan"
                store.record_grant(key, "2", DEC, MARCH, week)
        result = consolidate(inbox, week, history=history)
    return result, history


def test_the_register_shows_original_due_date_and_revisions(tmp_path):
    result, _ = _run_weeks(tmp_path)
    path = write_register(result, tmp_path / "register.xlsx")
    sheet = openpyxl.load_workbook(path)["Register"]
    header = [cell.value for cell in sheet[1]]
    rows = {row[header.index("Ref")]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    got = {
        ref: (
            row[header.index("Original due date")].date(),
            row[header.index("Due date")].date(),
            row[header.index("Due date revisions")],
        )
        for ref, row in rows.items()
    }
    assert got == {
        "1": (MARCH, SEPT, 2),
        "2": (MARCH, DEC, 1),
        "3": (SEPT, JUNE, 1),
        "4": (MARCH, MARCH, 0),
    }
    # Without a history there is nothing to say: blank, not a guess.
    alone = consolidate(tmp_path / "inbox", WEEKS[-1])
    assert {row["Original due date"] for row in alone.rows} == {None}


def test_the_trail_of_an_action_that_slipped_twice(tmp_path):
    _, history = _run_weeks(tmp_path)
    run = CliRunner().invoke(
        cli,
        ["trail", str(history), "--plan", "argyll", "--ref", "1", "--csv", str(tmp_path / "t.csv")],
    )
    assert run.exit_code == 0, run.output
    lines = run.output.splitlines()
    assert lines[0] == "Argyll and Bute Council / PMP audit improvement plan, Ref 1: Action 1"
    assert lines[1] == (
        "  original due date 31/03/2004, now 30/09/2004; revised twice (2 slips, "
        "0 extensions granted)"
    )
    weeks = [line.split() for line in lines[3:8]]
    assert [w[0] for w in weeks] == [day.strftime("%d/%m/%Y") for day in WEEKS]
    assert " ".join(weeks[0][3:]) == "31/03/2004 first seen first seen"
    assert " ".join(weeks[2][3:]) == "30/06/2004 slipped (91 days) unchanged"
    assert " ".join(weeks[3][3:]) == "30/06/2004 unchanged changed"
    assert " ".join(weeks[4][3:]) == "30/09/2004 slipped (92 days) unchanged"
    assert lines[8] == f"wrote {tmp_path / 't.csv'}"
    with open(tmp_path / "t.csv", encoding="utf-8-sig", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [r["due_date_change"] for r in table] == [
        "first seen",
        "unchanged",
        "slipped",
        "unchanged",
        "slipped",
    ]
    assert [r["revisions_so_far"] for r in table] == ["0", "0", "1", "1", "2"]
    assert {r["original_due_date"] for r in table} == {"2004-03-31"}


def test_a_granted_extension_is_not_a_slip(tmp_path):
    _, history = _run_weeks(tmp_path)
    (trail,) = trails(history, ref="2")
    assert [w.due_change for w in trail.weeks][3] == "extension granted"
    assert (trail.revisions, trail.count("slipped")) == (1, 0)
    (brought,) = trails(history, ref="3")
    assert brought.weeks[2].due_change == "brought forward"
    assert brought.weeks[2].days_moved == -92
    run = CliRunner().invoke(cli, ["trail", str(history), "--ref", "nope"])
    assert run.exit_code == 1 and "no action matches" in run.output


def test_history_export_is_tidy_long_csv_with_a_data_dictionary(tmp_path):
    _, history = _run_weeks(tmp_path)
    out = tmp_path / "export"
    run = CliRunner().invoke(cli, ["history", "export", str(history), "-o", str(out)])
    assert run.exit_code == 0, run.output
    assert "20 rows for 4 actions" in run.output
    table = pd.read_csv(out / "actions_by_week.csv", encoding="utf-8-sig", dtype=str)
    assert len(table) == 20 == len(table.drop_duplicates(["plan", "ref", "reporting_date"]))
    assert list(table.columns) == [name for name, _, _ in COLUMNS]
    dictionary = pd.read_csv(out / "data_dictionary.csv", encoding="utf-8-sig")
    described = set(dictionary[dictionary.file == "actions_by_week.csv"].column)
    assert described == set(table.columns)
    assert set(table[table.ref == "2"].action) == {'\'=HYPERLINK("http://x")'}
    runs = pd.read_csv(out / "runs.csv", encoding="utf-8-sig")
    assert list(runs.reporting_date) == [day.isoformat() for day in WEEKS]
    missing = CliRunner().invoke(
        cli, ["history", "export", str(tmp_path / "none.sqlite"), "-o", str(out)]
    )
    assert missing.exit_code == 2 and missing.output.count("\n") == 1


# The register's figures come from SQL; the trail walks week by week: they agree.
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["1", "2", "3"]),
            st.tuples(st.sampled_from(DUES), st.sampled_from(STATUSES)),
            max_size=3,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_revisions_from_sql_match_the_walk_of_the_trail(tmp_path, weeks):
    path = tmp_path / "history.sqlite"
    path.unlink(missing_ok=True)
    days = [FIRST_RUN + dt.timedelta(weeks=n) for n in range(len(weeks))]
    with History(path) as store:
        for day, snapshot in zip(days, weeks, strict=True):
            store.store(
                day,
                [
                    Snapshot("Plan", ref, "Org", "Plan", "A", "Lead", status, due, "")
                    for ref, (due, status) in snapshot.items()
                ],
                1,
            )
        revisions = store.due_date_revisions(days[-1])
        this_run = store.run_trails(days[-1])
    walked = {
        (t.plan_key, t.ref): (t.original_due, t.revisions)
        for t in trails(path)
        if t.original_due is not None
    }
    assert revisions == walked
    # What the register reads (this run's rows only) agrees with the walk too.
    assert this_run == {key: figures for key, figures in walked.items() if key[1] in weeks[-1]}
    # A history written before rows carried their trail figures gets them on opening.
    old = tmp_path / "version-4.sqlite"
    old.unlink(missing_ok=True)
    connection = sqlite3.connect(old)
    for migration in MIGRATIONS[:4]:
        connection.executescript(migration)
    for day, snapshot in zip(days, weeks, strict=True):
        connection.executemany(
            "INSERT INTO snapshot (reporting_date, plan_key, ref, status, due_date)"
            " VALUES (?, 'Plan', ?, ?, ?)",
            [
                (day.isoformat(), ref, status, due.isoformat() if due else None)
                for ref, (due, status) in snapshot.items()
            ],
        )
        connection.execute("INSERT INTO run VALUES (?, '', 1, ?)", (day.isoformat(), 0))
    connection.execute("PRAGMA user_version = 4")
    connection.commit()
    connection.close()
    with History(old) as store:
        assert store.due_date_revisions(days[-1]) == walked
        assert store.run_trails(days[-1]) == this_run


def test_a_week_a_plan_was_not_returned_is_marked_carried(tmp_path):
    inbox, history = tmp_path / "inbox", tmp_path / "h.sqlite"
    write_plan(inbox / "a.xlsx", PLAN, [action("1")])
    other = {**PLAN, "Plan title": "Other plan"}
    write_plan(inbox / "b.xlsx", other, [action("9")])
    consolidate(inbox, WEEKS[0], history=history)
    (inbox / "b.xlsx").unlink()
    consolidate(inbox, WEEKS[1], history=history)
    (trail,) = trails(history, plan="other")
    assert [w.carried for w in trail.weeks] == [False, True]
    run = CliRunner().invoke(cli, ["trail", str(history), "--plan", "other"])
    assert run.output.splitlines()[-1].endswith("plan not returned: last state carried")
