"""Exit statuses: the same event gets the same status in every command, decided by the CLI.

The rule (README, "Exit status"): a file among the inputs that cannot be read is a
problem reported (1) and the run goes on; 2 only when the command could not do its
job at all: bad arguments, a path that does not exist, no workbook to read, not one
of them readable, an output that cannot be written.
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from conftest import PLAN, action

from xltools.cli import EXIT_STATUS, cli
from xltools.consolidate import consolidate
from xltools.errors import UnreadableWorkbook
from xltools.outcome import Outcome
from xltools.read import read_plan
from xltools.template import write_plan
from xltools.validate import validate


def run(*arguments: str):
    return CliRunner().invoke(cli, list(arguments))


@pytest.fixture
def folders(tmp_path):
    """mixed/ (one good plan, one unreadable), bad/ (only the unreadable one), empty/."""
    mixed, bad, empty = (tmp_path / name for name in ("mixed", "bad", "empty"))
    for folder in (mixed, bad, empty):
        folder.mkdir()
    good = write_plan(mixed / "good.xlsx", PLAN, [action("1"), action("2")])
    for folder in (mixed, bad):
        (folder / "broken.xlsx").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(UnreadableWorkbook) as caught:
        read_plan(bad / "broken.xlsx")
    return mixed, bad, empty, caught.value.message


def test_one_table_maps_outcomes_to_exit_statuses():
    assert EXIT_STATUS == {Outcome.OK: 0, Outcome.PROBLEMS: 1, Outcome.CANNOT_RUN: 2}
    assert Outcome.worst() is Outcome.OK
    assert Outcome.worst(Outcome.PROBLEMS, Outcome.OK) is Outcome.PROBLEMS
    assert Outcome.worst(Outcome.CANNOT_RUN, Outcome.PROBLEMS) is Outcome.CANNOT_RUN


def test_an_unreadable_file_among_others_is_a_problem_in_validate_and_consolidate(
    folders, tmp_path
):
    mixed, _, _, reason = folders
    broken = mixed / "broken.xlsx"
    assert validate([mixed]).outcome is Outcome.PROBLEMS
    result = run("validate", str(mixed))
    assert result.exit_code == 1
    assert f"{broken}: could not be read: {reason}" in result.output.splitlines()

    assert consolidate(mixed).outcome is Outcome.PROBLEMS
    result = run("consolidate", str(mixed), "-o", str(tmp_path / "register.xlsx"))
    assert result.exit_code == 1
    assert f"problem: {broken}: {reason}" in result.output.splitlines()
    assert (tmp_path / "register.xlsx").exists()  # the good plan still reached the register


def test_no_readable_workbook_at_all_means_the_command_could_not_run(folders, tmp_path):
    _, bad, _, reason = folders
    broken = bad / "broken.xlsx"
    assert validate([bad]).outcome is Outcome.CANNOT_RUN
    result = run("validate", str(bad))
    assert (result.exit_code, result.output) == (2, f"{broken}: could not be read: {reason}\n")

    assert consolidate(bad).outcome is Outcome.CANNOT_RUN
    result = run("consolidate", str(bad), "-o", str(tmp_path / "register.xlsx"))
    assert result.exit_code == 2
    assert result.output.splitlines()[0] == f"problem: {broken}: {reason}"


def test_no_workbook_found_is_the_same_one_line_in_validate_and_consolidate(folders, tmp_path):
    _, _, empty, _ = folders
    line = f"xltools: error: {empty}: no plan workbooks (.xlsx, .xlsm) in this folder"
    result = run("validate", str(empty))
    assert (result.exit_code, result.output) == (2, line + "\n")
    result = run("consolidate", str(empty), "-o", str(tmp_path / "register.xlsx"))
    assert (result.exit_code, result.output) == (
        2,
        line + ": check the inbox path (is the shared drive mounted?); nothing was written\n",
    )
    assert not (tmp_path / "register.xlsx").exists()
    lock = empty / "~$plan.xlsx"
    lock.write_bytes(b"\x00" * 165)
    result = run("validate", str(empty))
    assert (result.exit_code, result.output.splitlines()) == (
        2,
        [
            f"{lock}: skipped (Office lock file (the workbook is open))",
            "xltools: error: nothing to check: every file named or found was skipped",
        ],
    )


def test_a_path_that_does_not_exist_is_a_bad_argument(tmp_path):
    missing = tmp_path / "missing.xlsx"
    result = run("validate", str(missing))
    assert (result.exit_code, result.output) == (
        2,
        f"xltools: error: {missing}: no such file or folder\n",
    )
    plan = write_plan(tmp_path / "plan.xlsx", PLAN, [action("1")])
    result = run("validate", str(plan), str(missing))  # even beside a good file: a typo
    assert (result.exit_code, result.output) == (
        2,
        f"xltools: error: {missing}: no such file or folder\n",
    )
    result = run("consolidate", str(tmp_path / "nope"), "-o", str(tmp_path / "r.xlsx"))
    assert (result.exit_code, result.output) == (
        2,
        f"xltools: error: {tmp_path / 'nope'}: is not a folder (or does not exist): give the "
        "folder the plans are collected in; nothing was written\n",
    )
    result = run("verify", str(missing))
    assert (result.exit_code, result.output) == (2, f"xltools: error: {missing}: no such file\n")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["validate"], "Error: Missing argument 'PATHS...'."),
        (["consolidate", "inbox"], "Error: Missing option '-o' / '--output'."),
        (
            ["validate", "x.xlsx", "--reporting-date", "24/11/2003"],
            "Error: Invalid value for '--reporting-date': '24/11/2003' is not a date in the "
            "form YYYY-MM-DD",
        ),
        (
            ["consolidate", "inbox", "-o", "r.xlsx", "--reporting-date", "2003-13-01"],
            "Error: Invalid value for '--reporting-date': '2003-13-01' is not a date in the "
            "form YYYY-MM-DD",
        ),
        (["validate", "--xyzzy", "x.xlsx"], "Error: No such option '--xyzzy'."),
    ],
)
def test_argument_errors_exit_2_with_one_message(arguments, message):
    result = run(*arguments)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == message


def test_json_is_the_library_result_with_its_outcome(folders, tmp_path):
    mixed, _, _, _ = folders
    result = run("validate", str(mixed), "--json")
    library = validate([mixed]).to_dict()
    assert json.loads(result.output) == library
    assert (library["outcome"], result.exit_code) == ("problems", 1)

    history = tmp_path / "h.sqlite"
    result = run(
        "consolidate",
        str(mixed),
        "-o",
        str(tmp_path / "register.xlsx"),
        "--history",
        str(history),
        "--reporting-date",
        "2003-11-24",
        "--json",
    )
    import datetime as dt

    library = consolidate(mixed, dt.date(2003, 11, 24), history=history).to_dict()
    assert json.loads(result.output) == json.loads(json.dumps(library))
    assert (library["outcome"], result.exit_code) == ("problems", 1)


def test_only_the_cli_table_turns_an_outcome_into_a_number():
    from conftest import REPO

    for path in sorted((REPO / "xltools").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "exit_status" not in text, path
        if path.parent.name == "cli" and path.name != "__init__.py":
            assert not re.search(r"\.exit\(|sys\.exit", text), f"{path}: use exit_with(outcome)"
