"""Two weeks of the weekly loop, end to end, through the command line, with real SMTP
servers on 127.0.0.1 (aiosmtpd, and a raw-socket server that drops the connection after
storing a message) and a reply saved by a real LibreOffice."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil

import openpyxl
from click.testing import CliRunner
from conftest import PLAN, action, lo_convert
from smtp_faults import FaultyServer
from test_packs import edit_pack, plan_values

from xltools import model
from xltools.cli import cli
from xltools.history import History
from xltools.packs import PROPOSED_DUE, REASON
from xltools.template import write_plan

BUTE = {**PLAN, model.ORGANISATION: "Bute Council", model.PLAN_TITLE: "Bute plan"}
SANDRA = "sandra.greer@example.gov.uk"


def run(*args) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def received(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_two_weeks_of_packs_replies_merges_chasing_and_mail_sent_once(tmp_path, smtp, soffice):
    inbox, packs, outbox = tmp_path / "inbox", tmp_path / "packs", tmp_path / "outbox"
    inbox.mkdir()
    write_plan(
        inbox / "argyll.xlsx",
        PLAN,
        [
            action("1", due_date=dt.date(2003, 12, 5), lead_email=SANDRA),
            action("2", status="At risk", due_date=dt.date(2004, 2, 27), lead_email=SANDRA),
            action("3", lead_officer="Pat Jones", lead_email="pat@example.gov.uk"),
        ],
    )
    # Another organisation's valid plan names the same leads with addresses of its own.
    write_plan(
        inbox / "bute.xlsx",
        BUTE,
        [
            action("7", due_date=dt.date(2004, 1, 31), lead_email="sandra@hijack.example"),
            action("8", lead_officer="Lee Ward", lead_email="lee@example.gov.uk"),
            action("9", lead_officer="Pat Jones", lead_email="pat@hijack.example"),
        ],
    )
    leads = tmp_path / "leads.csv"
    leads.write_text(f"name,email\nSandra Greer,{SANDRA}\n")
    registers = tmp_path / "registers"
    history = registers / "history.sqlite"

    # Week 1: packs out, the register, the notes with the packs attached.
    code, out = run(
        "packs", inbox, "-o", packs, "--reporting-date", "2003-11-24",
        "--reply-by", "2003-11-28", "--leads", leads,
    )  # fmt: skip
    assert code == 0, out
    week1 = registers / "register-2003-11-24.xlsx"
    code, out = run(
        "consolidate", inbox, "-o", week1, "--reporting-date", "2003-11-24",
        "--history", history, "--packs", packs,
    )  # fmt: skip
    assert code == 0, out
    code, out = run(
        "summarise", week1, "-o", outbox / "2003-11-24", "--leads", leads, "--packs", packs,
        "--send", "--smtp-host", "127.0.0.1", "--smtp-port", smtp.port,
        "--from", "coordinator@example.gov.uk", "--to", "dmt@example.gov.uk",
    )  # fmt: skip
    assert code == 0, out
    by_recipient = {tuple(r): m for _, r, m in smtp.messages}
    everyone = sorted(r for _, rs, _ in smtp.messages for r in rs)
    assert everyone == ["dmt@example.gov.uk", "lee@example.gov.uk", SANDRA]
    assert not any("hijack" in r for r in everyone)  # nobody's note redirected
    sandra = by_recipient[(SANDRA,)]
    assert sandra["Subject"].startswith("Update pack: please reply by 28/11/2003.")
    [attached] = list(sandra.iter_attachments())
    assert attached.get_filename() == "sandra-greer.xlsx"
    text = sandra.get_body(("plain",)).get_content()
    assert "send it back by 28/11/2003" in text
    assert "Bute plan, Ref 7" not in text  # not due within 14 days, not overdue
    digest = by_recipient[("dmt@example.gov.uk",)].get_body(("plain",)).get_content()
    assert "Pat Jones: the plans disagree about the address" in digest
    assert "pat@hijack.example (bute.xlsx)" in digest

    # The replies: Sandra (saved in LibreOffice) updates, changes a status and asks for
    # time; Pat edits a locked cell; Lee does not reply.
    returned = packs / "returned"
    returned.mkdir()
    reply = edit_pack(
        packs / "2003-11-24" / "sandra-greer.xlsx",
        {
            ("1", model.PROGRESS): "Draft strategy went to DMT on 27 November",
            ("2", model.STATUS): "Off track",
            ("7", PROPOSED_DUE): dt.datetime(2004, 4, 30),
            ("7", REASON): "The audit report is late",
        },
        tmp_path / "sandra-reply.xlsx",
    )
    shutil.copy(lo_convert(soffice, reply, "xlsx", tmp_path / "lo"), returned / "sandra.xlsx")
    edit_pack(
        packs / "2003-11-24" / "pat-jones.xlsx",
        {("3", model.DUE_DATE): dt.datetime(2005, 1, 1), ("3", model.PROGRESS): "Going well"},
        returned / "pat.xlsx",
    )
    code, out = run("merge", packs, "--into", inbox, "--reporting-date", "2003-11-28")
    assert code == 1, out  # merged, with a conflict listed
    changed = [line for line in out.splitlines() if line.startswith("changed ")]
    assert changed == [
        "changed argyll.xlsx J2 (Progress update, Ref 1): '' -> "
        "'Draft strategy went to DMT on 27 November'",
        "changed argyll.xlsx L3 (Status, Ref 2): 'At risk' -> 'Off track'",
    ]
    assert "conflict: Locked cell edited (locked-cell-edited): argyll.xlsx Ref 3 [pat.xlsx]" in out
    assert (
        "extension requested: bute.xlsx:7 from 2004-01-31 to 2004-04-30 (Sandra Greer: "
        "The audit report is late)" in out
    )
    assert plan_values(inbox / "argyll.xlsx", "3")[model.PROGRESS] is None  # not applied
    assert plan_values(inbox / "bute.xlsx", "7")[model.DUE_DATE] == dt.date(2004, 1, 31)
    code, again = run("merge", packs, "--into", inbox, "--reporting-date", "2003-11-28")
    assert "0 cells changed" in again and "0 new extension requests" in again

    # Week 2: the register shows the request and the non-return; the mail server falls
    # over after storing the first message; the re-run delivers the rest once each.
    week2 = registers / "register-2003-12-01.xlsx"
    code, out = run(
        "consolidate", inbox, "-o", week2, "--reporting-date", "2003-12-01",
        "--history", history, "--packs", packs,
    )  # fmt: skip
    assert "not returned by 2003-11-28: Lee Ward (2003-11-24/lee-ward.xlsx)" in out
    book = openpyxl.load_workbook(week2)
    requests = [[c.value for c in row] for row in book["Extension requests"].iter_rows()]
    assert requests[1][:2] == ["bute.xlsx", "7"] and requests[1][6] == "The audit report is late"
    assert requests[1][8] == 0 and requests[1][9] == "requested"  # slipped 0 times before
    states = {r[0].value: r[4].value for r in book["Update packs"].iter_rows(min_row=2)}
    assert states == {
        "Lee Ward": "not returned by the reply-by date",
        "Pat Jones": "returned",
        "Sandra Greer": "returned",
    }
    with FaultyServer("drop-after-data") as server:
        send = [
            "summarise", week2, "-o", outbox / "2003-12-01", "--leads", leads, "--send",
            "--smtp-host", "127.0.0.1", "--smtp-port", server.port,
            "--from", "coordinator@example.gov.uk", "--to", "dmt@example.gov.uk",
        ]  # fmt: skip
        code, out = run(*send)
        assert code == 1
        assert len(server.stored) == 1
        assert f"127.0.0.1:{server.port} dropped the connection after the message was sent" in out
        assert f"127.0.0.1:{server.port} closed the connection: check --smtp-host" in out
        server.heal()
        code, out = run(*send, "--force")  # the outbox written again, the same messages
        assert code == 0, out
        messages = [received(raw) for raw in server.stored]
    ids = [m["Message-ID"] for m in messages]
    assert len(ids) == len(set(ids)) == 3  # digest, Sandra, Lee: each exactly once
    by_to = {m["To"]: m for m in messages}
    lee = by_to["Lee Ward <lee@example.gov.uk>"]
    assert lee["Subject"].startswith("Reminder: ")
    assert "THIS IS A REMINDER" in lee.get_body(("plain",)).get_content()
    digest = by_to["dmt@example.gov.uk"].get_body(("plain",)).get_content()
    assert "EXTENSION REQUESTS WAITING FOR A DECISION (1)" in digest
    assert "--grant bute.xlsx:7" in digest and "Slipped 0 times before" in digest
    assert "- Lee Ward: 2003-11-24/lee-ward.xlsx (reply by 28/11/2003)" in digest
    assert not any("hijack" in (m["To"] or "") for m in messages)

    # The coordinator grants the request; the history records it as granted, not a slip.
    code, out = run(
        "merge", packs, "--into", inbox, "--reporting-date", "2003-12-01",
        "--grant", "bute.xlsx:7",
    )  # fmt: skip
    assert "changed bute.xlsx F2 (Due date, Ref 7): '2004-01-31' -> '2004-04-30' (granted)" in out
    week3 = registers / "register-2003-12-08.xlsx"
    code, out = run(
        "consolidate", inbox, "-o", week3, "--reporting-date", "2003-12-08",
        "--history", history, "--packs", packs,
    )  # fmt: skip
    with History(history) as store:
        [change] = [c for c in store.changes(dt.date(2003, 12, 8)) if c.ref == "7"]
    assert change.kind == "extension-granted"
    assert "extension granted on 01/12/2003" in change.detail
    changes = [[c.value for c in r] for r in openpyxl.load_workbook(week3)["Changes"].iter_rows()]
    assert any(r[0] == "Due date extended (granted)" and r[2] == "7" for r in changes)


def test_the_weekly_job_runs_the_loop_from_its_config_and_sends_once(tmp_path, smtp, caplog):
    caplog.set_level("INFO", logger="xltools.weekly")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_plan(inbox / "argyll.xlsx", PLAN, [action("1", due_date=dt.date(2003, 12, 5))])
    config = tmp_path / "xltools.toml"
    config.write_text(
        "[weekly]\nlead_due_days = 14\n[packs]\nfolder = 'packs'\nreply_days = 4\n"
        f"[email]\nsend = true\nsmtp_host = '127.0.0.1'\nsmtp_port = {smtp.port}\n"
        "from = 'coordinator@example.gov.uk'\ndigest_to = ['dmt@example.gov.uk']\n"
    )
    once = ["weekly", "--config", config, "--once", "--reporting-date", "2003-11-24"]
    code, out = run(*once)
    assert code == 0, out
    assert (tmp_path / "packs" / "2003-11-24" / "sandra-greer.xlsx").exists()
    note = next(m for _, to, m in smtp.messages if to == ["sandra.greer@example.gov.uk"])
    assert [a.get_filename() for a in note.iter_attachments()] == ["sandra-greer.xlsx"]
    assert "send it back by 28/11/2003" in note.get_body(("plain",)).get_content()
    code, out = run(*once)  # the same week again: nothing is sent twice
    assert code == 0, out
    assert len(smtp.messages) == 2
    assert "sent 0, 2 sent before, failed 0" in caplog.text


def test_on_change_a_lead_hears_when_an_action_falls_due_soon_and_again_when_overdue(tmp_path):
    from xltools.consolidate import consolidate
    from xltools.summary import summarise

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_plan(inbox / "argyll.xlsx", PLAN, [action("1", due_date=dt.date(2003, 12, 5))])
    heard = []
    for day in (17, 24, 31, 38, 45):  # five Mondays from 17/11/2003
        monday = dt.date(2003, 11, 1) + dt.timedelta(days=day - 1)
        notes = summarise(consolidate(inbox, monday), cadence_days=7).leads
        every = summarise(consolidate(inbox, monday)).leads
        heard.append((monday.isoformat(), len(notes), len(every)))
    assert heard == [
        ("2003-11-17", 0, 0),  # due in 18 days: not yet
        ("2003-11-24", 1, 1),  # now due within 14 days
        ("2003-12-01", 0, 1),  # still due soon: nothing new
        ("2003-12-08", 1, 1),  # became overdue
        ("2003-12-15", 0, 1),  # still overdue: nothing new
    ]
