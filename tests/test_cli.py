"""The command line as a whole: entry points, speed of --help, argument errors."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from xltools import __version__
from xltools.cli import cli


def test_python_dash_m_and_version():
    result = subprocess.run(
        [sys.executable, "-m", "xltools", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout == f"xltools, version {__version__}\n"


def test_help_imports_no_heavy_library():
    code = (
        "import sys, xltools.cli; "
        "print(sorted(m for m in ('pandas', 'pandera', 'openpyxl', 'xlsxwriter', "
        "'python_calamine', 'jinja2') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout == "[]\n"


def test_every_command_has_help_with_an_example():
    names = [
        "colour",
        "consolidate",
        "history",
        "import",
        "keys",
        "merge",
        "new",
        "packs",
        "summarise",
        "trail",
        "validate",
        "verify",
        "weekly",
    ]
    assert sorted(cli.commands) == names
    for name in names:
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example" in result.output, name


def test_argument_errors_exit_2_with_their_message(tmp_path):
    result = CliRunner().invoke(cli, ["consolidate", str(tmp_path)])
    assert result.exit_code == 2
    assert "Error: Missing option '-o' / '--output'." in result.output
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2 and "No such command 'frobnicate'" in result.output
    (tmp_path / "plan.xlsx").write_bytes(b"")
    result = CliRunner().invoke(cli, ["new", str(tmp_path / "plan.xlsx")])
    assert result.exit_code == 2
    assert (
        f"Error: {tmp_path / 'plan.xlsx'} already exists: choose another name or use --force"
        in result.output
    )


def test_consolidate_on_a_terminal_shows_progress_while_workers_read(tmp_path):
    """On a terminal the roll-up draws a progress bar; with enough plans it forks workers."""
    import os
    import pty
    import shutil

    from conftest import PLAN, action

    from xltools.template import write_plan
    from xltools.validate import PARALLEL_FROM_FILES

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    plan = write_plan(tmp_path / "plan.xlsx", PLAN, [action("1"), action("2")])
    for number in range(PARALLEL_FROM_FILES):
        shutil.copy(plan, inbox / f"plan-{number:03d}.xlsx")
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "xltools",
            "consolidate",
            str(inbox),
            "-o",
            str(tmp_path / "register.xlsx"),
            "--reporting-date",
            "2003-11-24",
        ],
        stdout=subprocess.PIPE,
        stderr=secondary,
        text=True,
    )
    os.close(secondary)
    terminal = b""
    while True:  # drain the terminal as it is written, or the program blocks on it
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the program has closed its end
            break
        if not chunk:
            break
        terminal += chunk
    os.close(primary)
    stdout, _ = process.communicate(timeout=120)
    run = subprocess.CompletedProcess(process.args, process.returncode, stdout)
    assert run.returncode == 0, terminal.decode(errors="replace")
    assert f"wrote {tmp_path / 'register.xlsx'}: {PARALLEL_FROM_FILES} plans read" in run.stdout
    assert b"reading plan-" in terminal  # the bar named the files as they were read
