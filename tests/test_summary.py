"""Summaries, sending them to a real SMTP server on 127.0.0.1, and the weekly run."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging

import pytest
from click.testing import CliRunner
from conftest import PLAN, action, edit_actions

from xltools import model
from xltools.cli import cli
from xltools.consolidate import consolidate
from xltools.errors import XltoolsError
from xltools.mail import SmtpSettings, send, write_outbox
from xltools.register import read_register, write_register
from xltools.summary import summarise
from xltools.template import write_plan
from xltools.weekly import RunLock, guarded_run, load_config, run_on_timer

WEEK1 = dt.date(2003, 11, 24)
WEEK2 = dt.date(2003, 12, 1)
HOSTILE = "<script>alert('x')</script> {{ 7*7 }} {% if 1 %}yes{% endif %}"


def parts(message):
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content().replace("\r\n", "\n")
    return text, html


@pytest.fixture
def inbox(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_plan_rows = [
        action("1", due_date=dt.date(2003, 12, 5)),  # due soon (within a lead's 14 days)
        action("2", due_date=dt.date(2003, 11, 1), status="At risk"),
        action(
            "3",
            due_date=dt.date(2003, 10, 1),
            status="Off track",
            lead_officer="Pat Noaddress",
            lead_email=None,
            progress_update=HOSTILE,
        ),
    ]

    write_plan(inbox / "argyll.xlsx", PLAN, write_plan_rows)
    return inbox


def test_digest_and_lead_notes(inbox, tmp_path):
    result = consolidate(inbox, WEEK1)
    summaries = summarise(result, sender="coordinator@example.gov.uk", digest_to=["dmt@x.gov.uk"])
    digest = summaries.digest
    assert digest.subject == "Action plans: 2 overdue, 1 due soon (week of 24/11/2003)"
    assert summaries.leads_without_address == ["Pat Noaddress"]
    assert "Pat Noaddress" in digest.text and "Pat Noaddress" in digest.html
    assert "&lt;script&gt;" in digest.html and "<script>" not in digest.html
    assert "{{ 7*7 }}" in digest.text and "49" not in digest.text
    assert "<style" not in digest.html and "<img" not in digest.html and "src=" not in digest.html
    assert f"background-color:{model.RAG_COLOURS['Red'][0]}" in digest.html
    overdue_section = digest.text.split("OVERDUE, OLDEST FIRST (2)")[1].split("DUE IN")[0]
    assert overdue_section.index("Ref 3") < overdue_section.index("Ref 2")  # oldest first
    [note] = summaries.leads
    assert note.name == "leads/sandra-greer"
    assert note.to == ["Sandra Greer <sandra.greer@example.gov.uk>"]
    assert "Dear Sandra Greer" in note.text and "Ref 2" in note.text and "Ref 1" in note.text
    written = write_outbox(summaries.messages, tmp_path / "outbox")
    assert sorted(p.name for p in written) == ["digest.eml", "sandra-greer.eml"]
    for suffix in (".eml", ".html", ".txt"):
        assert (tmp_path / "outbox" / f"digest{suffix}").exists()
    parsed = email.message_from_bytes(
        (tmp_path / "outbox" / "digest.eml").read_bytes(), policy=email.policy.default
    )
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["Subject"] == digest.subject


def test_headers_never_carry_line_breaks(inbox):
    result = consolidate(inbox, WEEK1)
    summaries = summarise(
        result, leads={"sandra greer": "s@x.gov.uk\r\nBcc: victim@x.gov.uk"}, sender="c@x.gov.uk"
    )
    message = summaries.leads[0].to_email()
    assert "\n" not in message["To"] and "\r" not in message["To"]
    assert message["Bcc"] is None


def test_register_file_gives_the_same_digest(inbox, tmp_path):
    result = consolidate(inbox, WEEK1)
    register = write_register(result, tmp_path / "register.xlsx")
    from_file = summarise(read_register(register))
    from_library = summarise(result)
    assert (
        from_file.digest.text.replace("has findings: see the register's Problems sheet", "").split(
            "PLANS WITH PROBLEMS"
        )[0]
        == from_library.digest.text.split("PLANS WITH PROBLEMS")[0]
    )  # noqa: E501
    assert [m.name for m in from_file.leads] == [m.name for m in from_library.leads]


def test_the_steps_the_commands_and_weekly_share(inbox, tmp_path):
    import xltools

    result = xltools.consolidate_to(inbox, tmp_path / "week" / "register.xlsx", WEEK1)
    assert (tmp_path / "week" / "register.history.sqlite").is_file()  # kept beside it
    from_file = xltools.summarise_to(tmp_path / "week" / "register.xlsx", tmp_path / "a")
    from_result = xltools.summarise_to(result, tmp_path / "b")
    assert [p.relative_to(tmp_path / "a") for p in from_file.written] == [
        p.relative_to(tmp_path / "b") for p in from_result.written
    ]
    assert from_file.written[0] == tmp_path / "a" / "digest.eml"
    assert from_file.digest.subject == from_result.digest.subject


def test_send_reports_one_failure_and_sends_the_rest(inbox, smtp):
    result = consolidate(inbox, WEEK1)
    summaries = summarise(
        result,
        sender="coordinator@example.gov.uk",
        digest_to=["dmt@example.gov.uk", "chief@example.gov.uk"],
    )
    smtp.refuse = {"sandra.greer@example.gov.uk"}
    report = send(summaries.messages, SmtpSettings("127.0.0.1", smtp.port))
    assert report.sent == ["digest"]
    assert report.failed[0][0] == "leads/sandra-greer"
    assert "550" in report.failed[0][1]
    [(sender, recipients, message)] = smtp.messages
    assert sender == "coordinator@example.gov.uk"
    assert recipients == ["dmt@example.gov.uk", "chief@example.gov.uk"]
    text, html = parts(message)
    assert "Pat Noaddress" in text and "&lt;script&gt;" in html


def test_cli_summarise_sends_and_counts(inbox, tmp_path, smtp):
    result = consolidate(inbox, WEEK1)
    register = write_register(result, tmp_path / "register.xlsx")
    leads = tmp_path / "leads.csv"
    leads.write_text("name,email\nPat Noaddress,pat@example.gov.uk\n")
    outcome = CliRunner().invoke(
        cli,
        [
            "summarise",
            str(register),
            "-o",
            str(tmp_path / "outbox"),
            "--leads",
            str(leads),
            "--send",
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            str(smtp.port),
            "--from",
            "coordinator@example.gov.uk",
            "--to",
            "dmt@example.gov.uk",
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.splitlines()[-1] == "sent 3, failed 0"
    assert sorted(r[0] for _, r, _ in smtp.messages) == [
        "dmt@example.gov.uk",
        "pat@example.gov.uk",
        "sandra.greer@example.gov.uk",
    ]
    outcome = CliRunner().invoke(
        cli, ["summarise", str(register), "-o", str(tmp_path / "o2"), "--send"]
    )
    assert outcome.exit_code == 2 and "Error: --send needs --from" in outcome.output


def _config(tmp_path, port, send=True):
    config = tmp_path / "xltools.toml"
    config.write_text(
        "[weekly]\ninbox = 'inbox'\nregisters = 'registers'\noutbox = 'outbox'\n"
        "history = 'registers/history.sqlite'\nday = 'monday'\ntime = '08:00'\n"
        "rules = 'default'\n\n[email]\n"
        f"send = {'true' if send else 'false'}\nsmtp_host = '127.0.0.1'\nsmtp_port = {port}\n"
        "starttls = false\nfrom = 'coordinator@example.gov.uk'\n"
        "digest_to = ['dmt@example.gov.uk']\n"
    )
    return config


def _digest(smtp):
    digests = [m for _, to, m in smtp.messages if to == ["dmt@example.gov.uk"]]
    return digests[-1]


def test_a_whole_fortnight(inbox, tmp_path, smtp):
    config = _config(tmp_path, smtp.port)
    runner = CliRunner()
    first = runner.invoke(
        cli, ["weekly", "--config", str(config), "--once", "--reporting-date", "2003-11-24"]
    )
    assert first.exit_code == 0, first.output
    assert (tmp_path / "registers" / "register-2003-11-24.xlsx").exists()
    assert (tmp_path / "outbox" / "2003-11-24" / "digest.eml").exists()
    week1 = _digest(smtp)
    assert week1["Subject"] == "Action plans: 2 overdue, 1 due soon (week of 24/11/2003)"

    edit_actions(
        inbox / "argyll.xlsx",
        [("1", "Due date", dt.datetime(2004, 1, 31)), ("2", "Status", "Complete")],
    )
    second = runner.invoke(
        cli, ["weekly", "--config", str(config), "--once", "--reporting-date", "2003-12-01"]
    )
    assert second.exit_code == 0, second.output
    week2 = _digest(smtp)
    assert week2["Subject"] == "Action plans: 1 overdue, 0 due soon (week of 01/12/2003)"
    text, html = parts(week2)
    changed = text.split("WHAT CHANGED SINCE LAST WEEK (2 changes)\n")[1].split("\n\n")[0]
    plan = "Argyll and Bute Council / PMP audit improvement plan"
    assert changed.splitlines() == [
        "Due date slipped (1)",
        f"- {plan}, Ref 1 (Action 1): 05/12/2003 -> 31/01/2004 (57 days later; "
        "slipped once in all)",
        "Newly complete (1)",
        f"- {plan}, Ref 2 (Action 2): At risk -> Complete",
    ]
    assert "Pat Noaddress" in text and "Pat Noaddress" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "{{ 7*7 }}" in html and "{% if 1 %}yes{% endif %}" in html
    log = (tmp_path / "registers" / "xltools-weekly.log").read_text()
    assert "weekly run for 2003-12-01" in log and "no email address for lead officer" in log


def test_weekly_init_and_config_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outcome = CliRunner().invoke(cli, ["weekly", "--init"])
    assert outcome.exit_code == 0
    config = load_config(tmp_path / "xltools.toml")
    assert config.inbox == tmp_path / "inbox"
    assert config.history == tmp_path / "registers" / "history.sqlite"
    assert (config.day, config.time, config.email.send) == ("monday", "08:00", False)
    again = CliRunner().invoke(cli, ["weekly", "--init"])
    assert again.exit_code == 2 and "already exists" in again.output
    (tmp_path / "bad.toml").write_text("[weekly]\nday = 'someday'\n")
    outcome = CliRunner().invoke(cli, ["weekly", "--config", "bad.toml", "--once"])
    assert outcome.exit_code == 2
    assert "[weekly] day must be one of monday" in outcome.output


def test_lock_stops_overlapping_runs_and_stale_locks_are_taken_over(tmp_path):
    lock = tmp_path / "registers" / ".xltools-weekly.lock"
    with (
        RunLock(lock),
        pytest.raises(XltoolsError, match="another weekly run is in progress"),
        RunLock(lock),
    ):
        pass
    assert not lock.exists()
    lock.write_text("999999999\n")  # a process that cannot exist
    with RunLock(lock):
        assert lock.read_text().split()[0] != "999999999"


def test_failing_timed_run_is_logged_and_the_timer_keeps_going(tmp_path, caplog):
    config = load_config(_config(tmp_path, 1, send=False))  # no inbox folder: the run fails
    with caplog.at_level(logging.INFO, logger="xltools.weekly"):
        assert guarded_run(config) is None
        ticks = iter([False, False, True])
        run_on_timer(config, poll_seconds=0, stop=lambda: next(ticks))
    assert "weekly run failed" in caplog.text and "is not a folder" in caplog.text
    assert "waiting for monday at 08:00" in caplog.text


def _changes_sheet(register):
    import openpyxl

    sheet = openpyxl.load_workbook(register, read_only=True)["Changes"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    return [dict(zip(header, row, strict=False)) for row in rows[1:] if row[1]]


def _digest_changes(text):
    """The digest's change list as (label, plan, ref, was, now), and its 'more' lines."""
    import re

    section = text.split("WHAT CHANGED SINCE LAST WEEK")[1].split("\n\n")[0].splitlines()[1:]
    listed, more, label = [], {}, None
    for line in section:
        if heading := re.fullmatch(r"(.+) \((\d+)\)", line):
            label = heading[1]
        elif line.startswith("- "):
            found = re.fullmatch(
                r"- (.+), Ref (\S+) \(.*?\)(?:: (.*?)(?: -> (.*?))?)?(?: \(.*\))?", line
            )
            plan, ref, was, now = found.groups()
            if now is None and label == "New action":
                was, now = "", was
            listed.append((label, plan, ref, was or "", now or ""))
        elif found := re.fullmatch(
            r"  and (\d+) more: see the Changes sheet of the register\.", line
        ):
            more[label] = int(found[1])
    return listed, more


def test_the_digest_lists_every_kind_of_change_the_register_has(tmp_path):
    """Three weeks: every kind of change, the digest matching the register's Changes sheet;
    a stale progress note reported in the week it goes stale, then only counted."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    plan_file = inbox / "argyll.xlsx"
    history = tmp_path / "history.sqlite"
    first = [
        action("1", due_date=dt.date(2004, 1, 31)),
        action("2"),
        action("3", status="At risk"),
        action("4", progress_update="Drafting the policy"),
        action("5"),
    ]
    weeks = [dt.date(2003, 10, 27), dt.date(2003, 11, 24), dt.date(2003, 12, 1)]
    write_plan(plan_file, PLAN, first)
    write_register(consolidate(inbox, weeks[0], history=history), tmp_path / "r1.xlsx")
    second = [
        action("1", due_date=dt.date(2004, 3, 31)),  # slipped
        action("2", status="Off track"),  # worse
        action("3", status="Complete", evidence="Minutes"),  # newly complete
        action("4", progress_update="Drafting the policy"),  # unchanged for 28 days
        *(action(f"N{n}") for n in range(12)),  # 12 new actions; 5 gone
    ]
    plan_file.unlink()
    write_plan(plan_file, PLAN, second)
    register = write_register(consolidate(inbox, weeks[1], history=history), tmp_path / "r2.xlsx")
    text = summarise(read_register(register)).digest.text
    sheet = _changes_sheet(register)
    listed, more = _digest_changes(text)
    plan = "Argyll and Bute Council / PMP audit improvement plan"
    on_sheet = [
        (r["Change"], r["Plan"], str(r["Ref"]), r["Was"] or "", r["Now"] or "") for r in sheet
    ]
    kinds = {r[0] for r in on_sheet}
    assert kinds == {
        "Due date slipped",
        "Status worsened",
        "Newly complete",
        "Progress update now unchanged for four weeks",
        "New action",
        "Action no longer in the plan",
    }
    assert {r[0] for r in listed} == kinds  # every kind the register has
    assert set(listed) <= set(on_sheet)  # each line is a row of the Changes sheet
    left_out = set(on_sheet) - set(listed)
    assert len(left_out) == sum(more.values()) == 2  # and the digest says how many, and where
    assert more == {"New action": 2}
    assert ("Due date slipped", plan, "1", "31/01/2004", "31/03/2004") in listed
    assert f"WHAT CHANGED SINCE LAST WEEK ({len(on_sheet)} changes)" in text

    # The next week the same note is still unchanged: counted, not listed again.
    register = write_register(consolidate(inbox, weeks[2], history=history), tmp_path / "r3.xlsx")
    text = summarise(read_register(register)).digest.text
    assert "unchanged for four weeks" not in text
    assert _changes_sheet(register) == []
    assert "No changes since the last run." in text
    assert (
        "1 progress update reported stale in an earlier week is still unchanged "
        "(counted, not listed again)." in text
    )


def test_a_register_with_no_problems_says_so_in_the_digest(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_plan(inbox / "argyll.xlsx", PLAN, [action("1"), action("2")])
    register = write_register(consolidate(inbox, WEEK1), tmp_path / "register.xlsx")
    text = summarise(read_register(register)).digest.text
    problems = text.split("PLANS WITH PROBLEMS (0)\n")[1].split("\n\n")[0]
    assert problems == "Every plan was read and passed its checks."
