"""Real faults: a full disk, a read-only folder, kills, a locked or newer history, racing
runs. Each was seen to break a promise; each is made for real here (a small tmpfs, a
read-only mount, kill -9, a second process holding the lock). Mounting needs root, as in CI.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import PLAN, REPO, action

from xltools import history as history_module
from xltools.cli import cli
from xltools.consolidate import consolidate
from xltools.errors import XltoolsError
from xltools.history import MIGRATIONS, SCHEMA_VERSION, History
from xltools.outcome import Outcome
from xltools.rollup import consolidate_to
from xltools.template import write_plan

WEEK1 = dt.date(2003, 11, 24)
WEEK2 = dt.date(2003, 12, 1)
PYTHON_ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("these faults need root (mount, read-only mounts): CI runs as root")


@contextlib.contextmanager
def mounted(folder: Path, options: str):
    """A tmpfs of our own at ``folder``, always unmounted afterwards."""
    _need_root()
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "xltools-test", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def _plans(inbox: Path, count: int = 2, actions: int = 3) -> Path:
    inbox.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        plan = {**PLAN, "Plan title": f"Plan {number}"}
        write_plan(inbox / f"plan{number}.xlsx", plan, [action(str(i)) for i in range(actions)])
    return inbox


def _weeks(path: Path) -> list[dt.date]:
    with History(path) as store:
        return store.reporting_dates()


def _cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xltools", *arguments],
        capture_output=True,
        text=True,
        env=PYTHON_ENV,
        timeout=120,
    )


# --------------------------------------------------------------------------
# The history never runs ahead of the register
# --------------------------------------------------------------------------
def test_an_empty_or_missing_inbox_exits_2_and_writes_nothing(tmp_path):
    inbox = _plans(tmp_path / "inbox")
    history = tmp_path / "h.sqlite"
    consolidate_to(inbox, tmp_path / "week1.xlsx", WEEK1, history=history)
    before = history.read_bytes()
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder in (empty, tmp_path / "missing"):
        out = tmp_path / "week2.xlsx"
        result = CliRunner().invoke(
            cli,
            ["consolidate", str(folder), "-o", str(out), "--history", str(history)],
        )
        assert result.exit_code == 2
        assert result.output.startswith(f"xltools: error: {folder}: ")
        assert "nothing was written" in result.output
        assert not out.exists()
        assert history.read_bytes() == before
    assert _weeks(history) == [WEEK1]


def test_a_plan_missing_this_week_is_not_returned_not_gone(tmp_path):
    inbox = _plans(tmp_path / "inbox", count=2, actions=3)
    history = tmp_path / "h.sqlite"
    consolidate(inbox, WEEK1, history=history)
    (inbox / "plan1.xlsx").unlink()
    result = consolidate(inbox, WEEK2, history=history)
    key = "Argyll and Bute Council / Plan 1"
    assert [(c.kind, c.plan) for c in result.changes] == [("not-returned", key)]
    assert result.changes[0].detail == "3 actions carried as last returned on 24/11/2003"
    assert [(n.plan, n.last_returned, n.actions) for n in result.not_returned] == [(key, WEEK1, 3)]
    assert result.outcome is Outcome.PROBLEMS
    with History(history) as store:  # carried at their last state, and marked so
        carried = store.connection.execute(
            "SELECT ref, status, carried FROM snapshot WHERE reporting_date = ? AND plan_key = ?",
            (WEEK2.isoformat(), key),
        ).fetchall()
    assert sorted(carried) == [("0", "On track", 1), ("1", "On track", 1), ("2", "On track", 1)]
    # Still missing a week later: still not returned, last returned still week 1.
    week3 = WEEK2 + dt.timedelta(days=7)
    result = consolidate(inbox, week3, history=history)
    assert [(n.plan, n.last_returned) for n in result.not_returned] == [(key, WEEK1)]
    assert [c.kind for c in result.changes] == ["not-returned"]
    out = tmp_path / "register.xlsx"
    cli_result = CliRunner().invoke(
        cli,
        ["consolidate", str(inbox), "-o", str(out), "--history", str(history),
         "--reporting-date", week3.isoformat()],
    )  # fmt: skip
    assert cli_result.exit_code == 1
    assert (
        f"not returned: {key} (last returned 2003-11-24; 3 actions carried at their last "
        "state)" in cli_result.output
    )
    book = openpyxl.load_workbook(out)
    assert any(
        row[0] == "Plan not returned this week (actions carried at their last state)"
        for row in book["Changes"].iter_rows(values_only=True)
    )
    # The coordinator can chase them: the carried actions, as last returned, on a sheet.
    listed = list(book["Not returned"].iter_rows(values_only=True))
    header = listed[0]
    carried_rows = [dict(zip(header, row, strict=True)) for row in listed[1:]]
    assert [(r["Plan title"], r["Ref"], r["Status"]) for r in carried_rows] == [
        ("Plan 1", ref, "On track") for ref in ("0", "1", "2")
    ]
    assert {r["Last returned"].date() for r in carried_rows} == {WEEK1}
    # Back again: compared with its carried state, so nothing is new and nothing gone.
    _plans(inbox, count=2, actions=3)
    result = consolidate(inbox, week3 + dt.timedelta(days=7), history=history)
    assert result.changes == [] and result.not_returned == []


@pytest.mark.parametrize("fault", ["disk full", "read-only folder"])
def test_a_register_that_cannot_be_written_leaves_the_history_at_last_week(tmp_path, fault):
    inbox = _plans(tmp_path / "inbox", count=3, actions=40)
    history = tmp_path / "h.sqlite"
    consolidate_to(inbox, tmp_path / "week1.xlsx", WEEK1, history=history)
    before = history.read_bytes()
    options = "size=24k" if fault == "disk full" else "size=1m,ro"
    with mounted(tmp_path / "out", options) as folder:
        out = folder / "register.xlsx"
        result = CliRunner().invoke(
            cli,
            ["consolidate", str(inbox), "-o", str(out), "--history", str(history),
             "--reporting-date", WEEK2.isoformat()],
        )  # fmt: skip
        assert result.exit_code == 2, result.output
        line = result.output.strip()
        assert len(result.output.splitlines()) == 1
        expected = (
            "the disk is full" if fault == "disk full" else "the folder is on a read-only drive"
        )
        assert line.startswith(f"xltools: error: {out}: could not write: {expected}")
        assert "Errno" not in line and "OSError" not in line and ".tmp" not in line
        assert os.listdir(folder) == []  # no partial register left behind
    assert history.read_bytes() == before
    assert _weeks(history) == [WEEK1]


def test_killed_at_any_moment_the_history_is_never_ahead_of_the_register(tmp_path):
    inbox = _plans(tmp_path / "inbox", count=6, actions=60)
    history = tmp_path / "h.sqlite"
    consolidate(inbox, WEEK1, history=history)
    outcomes = set()
    for attempt, delay in enumerate((0.4, 0.8, 1.2, 1.6, 2.0, 2.5, 3.5)):
        out = tmp_path / f"register-{attempt}.xlsx"
        process = subprocess.Popen(
            [sys.executable, "-m", "xltools", "consolidate", str(inbox), "-o", str(out),
             "--history", str(history), "--reporting-date", WEEK2.isoformat()],
            env=PYTHON_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(delay)
        process.kill()
        process.wait()
        recorded = WEEK2 in _weeks(history)
        if recorded:
            assert out.exists(), f"history has the week, register missing (kill at {delay}s)"
            assert openpyxl.load_workbook(out)["Register"].max_row == 6 * 60 + 1
        outcomes.add(recorded)
        if recorded:
            break
    assert False in outcomes  # at least one kill landed before the commit


# --------------------------------------------------------------------------
# The history's schema version, and its locks
# --------------------------------------------------------------------------
def test_the_history_carries_its_schema_version_and_migrates_an_older_one(tmp_path):
    path = tmp_path / "old.sqlite"
    # A history as the first release wrote it: its tables, and no version at all.
    connection = sqlite3.connect(path)
    connection.executescript(MIGRATIONS[0])
    connection.execute(
        "INSERT INTO snapshot VALUES ('2003-11-24','A / P','1','A','P','Act','Lead','On track',"
        "NULL,'')"
    )
    connection.execute("INSERT INTO run VALUES ('2003-11-24','2003-11-24T09:00:00',1,1)")
    connection.commit()
    connection.close()
    with History(path) as store:
        version = store.connection.execute("PRAGMA user_version").fetchone()[0]
        assert version == SCHEMA_VERSION == len(MIGRATIONS)
        assert store.reporting_dates() == [WEEK1]
        assert store.snapshot(WEEK1)[("A / P", "1")].status == "On track"
    with History(path) as store:  # opening again changes nothing
        assert store.connection.execute("PRAGMA user_version").fetchone()[0] == version


def test_a_newer_history_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "h.sqlite"
    with History(path):
        pass
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    before = path.read_bytes()
    inbox = _plans(tmp_path / "inbox")
    result = CliRunner().invoke(
        cli, ["consolidate", str(inbox), "-o", str(tmp_path / "r.xlsx"), "--history", str(path)]
    )
    assert result.exit_code == 2
    assert result.output == (
        f"xltools: error: {path}: the history was written by a newer xltools (history "
        f"version {SCHEMA_VERSION + 1}; this xltools reads up to {SCHEMA_VERSION}): upgrade "
        "xltools (pip install --upgrade xltools) and run again\n"
    )
    assert path.read_bytes() == before and not (tmp_path / "r.xlsx").exists()


HOLD_HISTORY = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("holding", flush=True)
time.sleep(60)
"""


def test_a_locked_history_is_waited_for_then_named_with_its_holder(tmp_path, monkeypatch):
    inbox = _plans(tmp_path / "inbox")
    path = tmp_path / "h.sqlite"
    consolidate(inbox, WEEK1, history=path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_HISTORY, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        monkeypatch.setattr(history_module, "LOCK_WAIT_SECONDS", 1.0)
        started = time.monotonic()
        out = tmp_path / "r.xlsx"
        result = CliRunner().invoke(
            cli,
            ["consolidate", str(inbox), "-o", str(out), "--history", str(path),
             "--reporting-date", WEEK2.isoformat()],
        )  # fmt: skip
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2
    assert result.output.startswith(
        f"xltools: error: {path}: the history is locked by {Path(sys.executable).name} "
    )
    assert len(result.output.splitlines()) == 1
    assert f"(process {holder.pid})" in result.output
    assert "wait for it to finish (or close it), then run again" in result.output
    assert "move it aside" not in result.output and "OperationalError" not in result.output
    assert waited >= 1.0  # it waited, a bounded time
    assert not out.exists()
    assert _weeks(path) == [WEEK1]


HOLD_RUN_LOCK = """
import sys, time
from xltools.locks import FileLock
with FileLock(sys.argv[1], "another xltools consolidate is using the same history"):
    print("holding", flush=True)
    time.sleep(60)
"""


def test_a_second_consolidate_on_the_same_history_refuses_in_one_line(tmp_path):
    inbox = _plans(tmp_path / "inbox")
    path = tmp_path / "h.sqlite"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_RUN_LOCK, str(tmp_path / ".h.sqlite.lock")],
        stdout=subprocess.PIPE,
        text=True,
        env=PYTHON_ENV,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        result = _cli("consolidate", str(inbox), "-o", str(tmp_path / "r.xlsx"),
                      "--history", str(path))  # fmt: skip
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 2
    assert result.stderr == (
        f"xltools: error: {tmp_path / '.h.sqlite.lock'}: another xltools consolidate is using "
        f"the same history (process {holder.pid}): wait for it to finish, then run again\n"
    )
    assert not (tmp_path / "r.xlsx").exists()


def test_a_damaged_history_says_what_to_do(tmp_path):
    path = tmp_path / "h.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(XltoolsError) as caught:
        History(path)
    assert str(caught.value) == (
        f"{path}: the history is damaged (not an SQLite database xltools can read): restore "
        "it from your backup, or give a new history file to start a new one"
    )
    # The library names no option; the command line adds the one that sets the history.
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_plan(inbox / "plan.xlsx", PLAN, [action("1")])
    out = tmp_path / "register.xlsx"
    result = CliRunner().invoke(
        cli, ["consolidate", str(inbox), "-o", str(out), "--history", str(path)]
    )
    assert (result.exit_code, result.output) == (
        2,
        f"xltools: error: {path}: the history is damaged (not an SQLite database xltools can "
        "read): restore it from your backup, or give a new history file to start a new one "
        "(--history)\n",
    )


# --------------------------------------------------------------------------
# Permissions
# --------------------------------------------------------------------------
def test_outputs_honour_the_umask_and_in_place_keeps_the_mode(tmp_path):
    inbox = _plans(tmp_path / "inbox")
    script = (
        "import os, sys; os.umask(int(sys.argv[1], 8)); from xltools.cli import main; "
        "sys.argv = ['xltools', *sys.argv[2:]]; main()"
    )

    def run(umask: str, *arguments: str) -> None:
        subprocess.run(
            [sys.executable, "-c", script, umask, *arguments], env=PYTHON_ENV, check=False,
            capture_output=True, timeout=120,
        )  # fmt: skip

    register = tmp_path / "out" / "register.xlsx"
    run("022", "consolidate", str(inbox), "-o", str(register))
    assert register.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "out" / "register.history.sqlite").stat().st_mode & 0o777 == 0o644
    run("027", "new", str(tmp_path / "plan.xlsx"))
    assert (tmp_path / "plan.xlsx").stat().st_mode & 0o777 == 0o640
    run("022", "colour", str(tmp_path / "plan.xlsx"), "-o", str(tmp_path / "coloured.xlsx"))
    assert (tmp_path / "coloured.xlsx").stat().st_mode & 0o777 == 0o644
    plan = inbox / "plan0.xlsx"
    plan.chmod(0o664)
    run("077", "colour", str(plan), "--in-place")
    assert plan.stat().st_mode & 0o777 == 0o664
    assert list(inbox.glob("plan0.backup-*.xlsx"))  # it was really rewritten


# --------------------------------------------------------------------------
# One bad file never stops the run
# --------------------------------------------------------------------------
def _aborting_plan(path: Path) -> Path:
    """A plan with a value typed at XFD1048576: with the limits set to let it through, the
    Rust reader tries to allocate the whole grid and aborts its process (SIGABRT)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Actions")
    for column, name in enumerate(["Ref", "Action", "Lead officer", "Status"]):
        sheet.write(0, column, name)
    sheet.write("XFD1048576", "typed here by mistake")
    book.close()
    return path


@pytest.mark.parametrize("workers", [1, 2], ids=["one-reader", "reader-pool"])
def test_a_reader_that_really_aborts_costs_only_its_file(tmp_path, workers):
    from xltools.read import Limits

    inbox = _plans(tmp_path / "inbox", count=3)
    aborts = _aborting_plan(inbox / "aborts.xlsx")
    let_through = Limits(max_sheet_cells=10**12)
    result = consolidate(inbox, WEEK1, limits=let_through, workers=workers)
    assert len(result.plans) == 3 and len(result.rows) == 9
    assert [(p.path, p.kind) for p in result.problems if p.kind == "unreadable"] == [
        (aborts, "unreadable")
    ]
    assert "stopped the reader" in next(p.reason for p in result.problems if p.path == aborts)
    # And a single file, as `validate PLAN.xlsx` reads it: this process lives on.
    from xltools.validate import validate

    report = validate([aborts], limits=let_through)
    assert report.files[0].status == "unreadable"


def test_a_corrupt_member_is_that_files_problem(tmp_path):
    from test_hostile import bad_crc, truncated_deflate

    inbox = _plans(tmp_path / "inbox", count=2)
    good = inbox / "plan0.xlsx"
    bad_crc(good, inbox)
    truncated_deflate(good, inbox)
    out = tmp_path / "register.xlsx"
    result = CliRunner().invoke(cli, ["consolidate", str(inbox), "-o", str(out)])
    assert result.exit_code == 1, result.output
    for name in ("crc.xlsx", "deflate.xlsx"):
        assert (
            f"problem: {inbox / name}: the workbook is damaged or incomplete (a part of it "
            "cannot be unpacked): ask for it to be saved and sent again" in result.output
        )
    assert openpyxl.load_workbook(out)["Register"].max_row == 2 * 3 + 1


def test_a_file_name_that_is_not_utf8_is_one_problem_line(tmp_path):
    inbox = _plans(tmp_path / "inbox", count=2)
    odd = Path(os.fsdecode(bytes(inbox) + b"/caf\xe9.xlsx"))
    (inbox / "plan0.xlsx").rename(odd)
    out = tmp_path / "register.xlsx"
    result = _cli("consolidate", str(inbox), "-o", str(out), "--reporting-date", "2003-11-24")
    assert result.returncode == 1, result.stderr
    problems = [line for line in result.stdout.splitlines() if "caf" in line]
    assert problems == [
        f"problem: {inbox}/caf\\xe9.xlsx: the file name is not valid text (it was probably made "
        "on another system): rename the file and run again"
    ]
    assert openpyxl.load_workbook(out)["Register"].max_row == 4
    assert _weeks(tmp_path / "register.history.sqlite") == [WEEK1]
    result = _cli("validate", os.fsdecode(odd))
    assert result.returncode == 2
    assert result.stdout.splitlines() == [
        f"{inbox}/caf\\xe9.xlsx: could not be read: the file name is not valid text (it was "
        "probably made on another system): rename the file and run again"
    ]


# --------------------------------------------------------------------------
# What the coordinator sees is what was read
# --------------------------------------------------------------------------
def _hidden_actions(path: Path, state: str, visible_copy: bool) -> Path:
    """Staff's visible sheet says 16 On track and 9 At risk; a hidden Actions sheet says
    all 25 are Complete."""
    statuses = ["On track"] * 16 + ["At risk"] * 9
    write_plan(path, PLAN, [action(str(i), status="Complete") for i in range(25)])
    book = openpyxl.load_workbook(path)
    hidden = book["Actions"]
    if visible_copy:
        seen = book.copy_worksheet(hidden)
        seen.title = "Actions (2)"
        header = [cell.value for cell in seen[1]]
        for row, status in enumerate(statuses, start=2):
            seen.cell(row, header.index("Status") + 1, status)
    hidden.sheet_state = state
    book.active = book.sheetnames.index("Plan")
    book.save(path)
    return path


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_a_hidden_actions_sheet_is_read_as_staff_see_it_and_is_an_error(tmp_path, state):
    from xltools.read import read_plan
    from xltools.validate import validate

    path = _hidden_actions(tmp_path / "plan.xlsx", state, visible_copy=True)
    table = read_plan(path)
    assert table.actions_sheet == "Actions (2)"
    statuses = [record["Status"] for record in table.records]
    assert (statuses.count("On track"), statuses.count("At risk")) == (16, 9)
    report = validate([path]).files[0]
    assert report.status == "invalid"
    [finding] = [f for f in report.findings if f.code == "hidden-actions-sheet"]
    assert (finding.severity, finding.sheet) == ("error", "Actions")
    how = "very hidden (only a macro can show it)" if state == "veryHidden" else "hidden"
    assert finding.message == (
        f"The 'Actions' sheet is {how}: the table staff see, on sheet 'Actions (2)', was read "
        "instead. Delete the hidden sheet or unhide it and move the actions onto it."
    )
    result = consolidate(path.parent, WEEK1)
    assert {row["Status"] for row in result.rows} == {"On track", "At risk"}
    assert result.outcome is Outcome.PROBLEMS


def test_a_hidden_actions_sheet_with_nothing_visible_instead_is_read_and_an_error(tmp_path):
    from xltools.validate import validate

    path = _hidden_actions(tmp_path / "plan.xlsx", "hidden", visible_copy=False)
    report = validate([path]).files[0]
    assert len(report.table.records) == 25
    [finding] = [f for f in report.findings if f.code == "hidden-actions-sheet"]
    assert finding.message.startswith(
        "The 'Actions' sheet is hidden: staff cannot see the actions that were read."
    )


# --------------------------------------------------------------------------
# Locks, kills and leftovers
# --------------------------------------------------------------------------
def _race(path: Path, start, tried, held, contenders: int) -> None:
    from xltools.locks import LockHeld
    from xltools.weekly import RunLock

    start.wait()
    try:
        with RunLock(path):
            with held.get_lock():
                held.value += 1
            # Hold it until every other contender has tried.
            while tried.value < contenders - 1:
                time.sleep(0.005)
    except LockHeld:
        with tried.get_lock():
            tried.value += 1


def test_the_weekly_lock_has_exactly_one_holder_when_eight_runs_race(tmp_path):
    import multiprocessing

    context = multiprocessing.get_context("fork")
    path = tmp_path / "registers" / ".xltools-weekly.lock"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for round_ in range(40):
        setup = round_ % 3
        path.parent.mkdir(exist_ok=True)
        if setup == 1:
            path.write_text("")  # an empty lock file (a run killed as it began)
        elif setup == 2:
            path.write_text(f"{dead.pid}\n")  # a dead run's lock
        start = context.Barrier(8)
        tried, held = context.Value("i", 0), context.Value("i", 0)
        racers = [
            context.Process(target=_race, args=(path, start, tried, held, 8)) for _ in range(8)
        ]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(60)
        assert [racer.exitcode for racer in racers] == [0] * 8
        assert (held.value, tried.value) == (1, 7), f"round {round_}"


KILLABLE = """
import sys
from xltools.rollup import consolidate_to
consolidate_to(sys.argv[1], sys.argv[3], workers=int(sys.argv[2]))
"""


def _children(pid: int) -> set[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return set()
    return {int(child) for child in text.split()}


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # a zombie has exited; only its parent's record is left


@pytest.mark.parametrize("workers", [1, 2], ids=["one-reader", "reader-pool"])
def test_kill_9_of_the_main_process_leaves_no_readers_and_the_next_run_cleans_up(tmp_path, workers):
    import tempfile

    inbox = _plans(tmp_path / "inbox", count=30, actions=30)
    out = tmp_path / "out"
    out.mkdir()
    main = subprocess.Popen(
        [sys.executable, "-c", KILLABLE, str(inbox), str(workers), str(out / "register.xlsx")],
        env=PYTHON_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        readers: set[int] = set()
        while not readers and time.monotonic() < deadline and main.poll() is None:
            readers = _children(main.pid)
            time.sleep(0.01)
        assert readers, "no reader process was seen"
        main.kill()
        main.wait()
        deadline = time.monotonic() + 10
        while not all(_gone(pid) for pid in readers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(_gone(pid) for pid in readers), "readers outlived the main process"
    finally:
        if main.poll() is None:
            main.kill()
            main.wait()
    # Leftovers: the killed run's, one of a process still running, one someone else made.
    temporary = Path(tempfile.gettempdir())
    ours = [
        temporary / f"xltools-{main.pid}-chunks-test",
        out / f".register.xltools-{main.pid}-x.tmp.xlsx",
    ]
    ours[0].mkdir(exist_ok=True)
    ours[1].write_bytes(b"half a register")
    alive = out / f".register.xltools-{os.getpid()}-y.tmp.xlsx"
    alive.write_bytes(b"a run still going")
    theirs = out / ".register.other-tool.tmp.xlsx"
    theirs.write_bytes(b"not ours")
    consolidate_to(inbox, out / "register.xlsx", WEEK1)
    assert not any(path.exists() for path in ours)
    assert not list(temporary.glob(f"xltools-{main.pid}-*"))
    assert alive.exists() and theirs.exists()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["register.xlsx", "register.history.sqlite", alive.name, theirs.name]
    )


@pytest.mark.parametrize("fault", ["disk full", "read-only folder"])
def test_every_output_that_cannot_be_written_is_one_line_naming_it(tmp_path, fault):
    plan = write_plan(tmp_path / "plan.xlsx", PLAN, [action(str(i)) for i in range(60)])
    options = "size=8k" if fault == "disk full" else "size=1m,ro"
    expected = "the disk is full" if fault == "disk full" else "the folder is on a read-only drive"
    with mounted(tmp_path / "out", options) as folder:
        for command in (
            ["new", str(folder / "new.xlsx")],
            ["colour", str(plan), "-o", str(folder / "coloured.xlsx")],
            ["validate", str(plan), "--annotate", str(folder)],
        ):
            result = _cli(*command)
            assert result.returncode == 2, (command, result.stderr)
            [line] = result.stderr.splitlines()
            assert line.startswith(f"xltools: error: {folder}/") and expected in line, line
            assert "Errno" not in line and "Error:" not in line and "xltools-" not in line
            assert os.listdir(folder) == []
