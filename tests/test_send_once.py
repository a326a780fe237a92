"""Every email sent once: a fixed Message-ID, a send log, partial refusals, dropped
connections, a refusing and a stalling server (real servers on 127.0.0.1)."""

from __future__ import annotations

import email
import email.policy
import json

from smtp_faults import FaultyServer
from smtp_server import free_port, message

from xltools.mail import SmtpSettings, send, write_outbox


def ids_stored(raw: list[bytes]) -> list[str]:
    return [email.message_from_bytes(m, policy=email.policy.default)["Message-ID"] for m in raw]


def test_message_id_is_fixed_and_a_rerun_sends_nothing_again(smtp, tmp_path):
    messages = [message("digest", "dmt@example.gov.uk"), message("leads/pat", "pat@example.gov.uk")]
    [digest_eml, _] = write_outbox(messages, tmp_path)
    written_id = email.message_from_bytes(digest_eml.read_bytes())["Message-ID"]
    settings = SmtpSettings("127.0.0.1", smtp.port)
    first = send(messages, settings, tmp_path)
    assert first.sent == ["digest", "leads/pat"] and first.failures == []
    assert smtp.messages[0][2]["Message-ID"] == written_id  # the outbox's, as written
    write_outbox(messages, tmp_path)  # the weekly job writes the outbox again
    assert email.message_from_bytes(digest_eml.read_bytes())["Message-ID"] == written_id
    second = send(messages, settings, tmp_path)
    assert second.sent == [] and second.already_sent == ["digest", "leads/pat"]
    assert len(smtp.messages) == 2
    log = [json.loads(line) for line in (tmp_path / "send-log.jsonl").read_text().splitlines()]
    assert [(e["message"], e["outcome"]) for e in log] == [
        ("digest", "accepted"),
        ("leads/pat", "accepted"),
    ]
    again = send(messages[:1], settings, tmp_path, resend=True)
    assert again.sent == ["digest"] and len(smtp.messages) == 3


def test_a_partial_refusal_fails_for_that_recipient_and_the_rerun_sends_only_to_it(smtp, tmp_path):
    both = message("digest", "dmt@example.gov.uk", "gone@example.gov.uk")
    write_outbox([both], tmp_path)
    smtp.refuse = {"gone@example.gov.uk"}
    settings = SmtpSettings("127.0.0.1", smtp.port)
    first = send([both], settings, tmp_path)
    assert first.sent == []
    [failure] = first.failures
    assert failure.recipients == ("gone@example.gov.uk",)
    assert failure.line().startswith("recipient refused (gone@example.gov.uk: 550")
    assert [m[1] for m in smtp.messages] == [["dmt@example.gov.uk"]]
    smtp.refuse = set()
    second = send([both], settings, tmp_path)
    assert second.sent == ["digest"]
    assert [m[1] for m in smtp.messages] == [["dmt@example.gov.uk"], ["gone@example.gov.uk"]]


def test_a_message_stored_before_the_connection_dropped_is_not_sent_twice(tmp_path):
    messages = [message(f"m{i}", f"lead{i}@example.gov.uk") for i in range(3)]
    write_outbox(messages, tmp_path)
    with FaultyServer("drop-after-data") as server:
        settings = SmtpSettings("127.0.0.1", server.port, timeout=10)
        first = send(messages, settings, tmp_path)
        assert first.sent == []
        lines = [f.line() for f in first.failures]
        assert lines[0] == (
            f"127.0.0.1:{server.port} dropped the connection after the message was sent: "
            "it may have been delivered, so it is not sent again: ask the recipient, and send "
            "it again on purpose if it did not arrive"
        )
        assert lines[1].startswith(f"127.0.0.1:{server.port} closed the connection: check")
        assert len(server.stored) == 1
        server.heal()
        second = send(messages, settings, tmp_path)
        assert second.sent == ["m1", "m2"] and second.failures == []
        ids = ids_stored(server.stored)
        assert sorted(ids) == sorted(m.message_id() for m in messages)  # each exactly once


def test_a_refusing_server_and_no_server_are_one_line_each(tmp_path):
    messages = [message("a", "a@example.gov.uk"), message("b", "b@example.gov.uk")]
    with FaultyServer("refuse") as server:
        report = send(messages, SmtpSettings("127.0.0.1", server.port, timeout=10), tmp_path)
    assert {f.line() for f in report.failures} == {
        f"127.0.0.1:{server.port} refused to take mail (554 5.3.2 no service here): "
        "check the SMTP host and the SMTP port"
    }
    port = free_port()
    report = send(messages, SmtpSettings("127.0.0.1", port), tmp_path)
    words = {"host": "--smtp-host", "port": "--smtp-port"}
    assert {f.line(words) for f in report.failures} == {
        f"127.0.0.1:{port} refused the connection: check --smtp-host and --smtp-port"
    }


def test_a_stalling_server_costs_the_run_its_time_limit_not_30_s_a_message(tmp_path):
    messages = [message(f"m{i}", f"lead{i}@example.gov.uk") for i in range(4)]
    with FaultyServer("stall") as server:
        settings = SmtpSettings("127.0.0.1", server.port, timeout=30)
        report = send(messages, settings, tmp_path, time_limit=1)
    assert report.sent == []
    assert [f.name for f in report.failures] == ["m0", "m1", "m2", "m3"]
    assert {f.line() for f in report.failures} == {
        f"127.0.0.1:{server.port} did not answer within 1 s: check the SMTP host and the "
        "SMTP port; or try again later: a re-run sends only what was not sent"
    }
    assert not (tmp_path / "send-log.jsonl").exists()  # nothing went, nothing is logged
