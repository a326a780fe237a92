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
    consolidate(inbox, WEEK1, history=history, register=tmp_path / "week1.xlsx")
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
    changes = openpyxl.load_workbook(out)["Changes"]
    assert any(
        row[0] == "Plan not returned this week (actions carried at their last state)"
        for row in changes.iter_rows(values_only=True)
    )
    # Back again: compared with its carried state, so nothing is new and nothing gone.
    _plans(inbox, count=2, actions=3)
    result = consolidate(inbox, week3 + dt.timedelta(days=7), history=history)
    assert result.changes == [] and result.not_returned == []


@pytest.mark.parametrize("fault", ["disk full", "read-only folder"])
def test_a_register_that_cannot_be_written_leaves_the_history_at_last_week(tmp_path, fault):
    inbox = _plans(tmp_path / "inbox", count=3, actions=40)
    history = tmp_path / "h.sqlite"
    consolidate(inbox, WEEK1, history=history, register=tmp_path / "week1.xlsx")
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
with FileLock(sys.argv[1], "another xltools consolidate on the same history"):
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
        f"xltools: error: {tmp_path / '.h.sqlite.lock'}: another xltools consolidate on the "
        f"same history (process {holder.pid}) is using this: wait for it to finish, then run "
        "again\n"
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
