"""Mail: the settings, the outbox files, and sending to a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy

import pytest
from smtp_server import Collector, free_port, message

from xltools.errors import XltoolsError
from xltools.mail import (
    PASSWORD_ENVIRONMENT,
    PLAIN,
    SSL,
    STARTTLS,
    Message,
    SmtpSettings,
    default_port,
    security_for,
    send,
    write_outbox,
)


def test_the_port_rule_and_the_security():
    assert (default_port(PLAIN), default_port(STARTTLS), default_port(SSL)) == (25, 25, 465)
    assert SmtpSettings().port == 25
    assert SmtpSettings(security=SSL).port == 465
    assert SmtpSettings("mail.example.gov.uk", 2525, SSL).port == 2525
    assert SmtpSettings().password_env == PASSWORD_ENVIRONMENT == "XLTOOLS_SMTP_PASSWORD"
    assert (security_for(False, False), security_for(True, False)) == (PLAIN, STARTTLS)
    assert security_for(False, True) == SSL
    with pytest.raises(XltoolsError, match="not both"):
        security_for(True, True)
    with pytest.raises(XltoolsError, match="must be one of"):
        SmtpSettings(security="tls-please")


def test_outbox_files_and_headers_that_cannot_be_forged(tmp_path):
    forged = Message(
        "leads/pat",
        ["Pat <pat@example.gov.uk>"],
        "Your actions\r\nBcc: everyone@example.gov.uk",
        "text",
        "<p>html</p>",
        "coordinator@example.gov.uk\nX-Injected: yes",
    )
    written = write_outbox([message("digest", "dmt@example.gov.uk"), forged], tmp_path)
    assert written == [tmp_path / "digest.eml", tmp_path / "leads" / "pat.eml"]
    for suffix in (".eml", ".html", ".txt"):
        assert (tmp_path / "leads" / f"pat{suffix}").exists()
    parsed = email.message_from_bytes(written[1].read_bytes(), policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed["X-Injected"] is None
    assert parsed["Subject"] == "Your actions Bcc: everyone@example.gov.uk"
    assert parsed.get_content_type() == "multipart/alternative"
    raw = written[1].read_bytes()
    assert b"\nX-Injected" not in raw and b"\nBcc" not in raw  # no header starts a line


def test_one_refusal_and_one_deferral_do_not_stop_the_rest(smtp):
    smtp.refuse = {"gone@example.gov.uk"}
    smtp.defer_data = 1  # the first message's DATA is answered 451; the server then recovers
    report = send(
        [
            message("first", "a@example.gov.uk"),
            message("refused", "gone@example.gov.uk"),
            message("nobody"),
            message("last", "b@example.gov.uk"),
        ],
        SmtpSettings("127.0.0.1", smtp.port),
    )
    assert report.sent == ["last"]
    failed = dict(report.failed)
    assert list(failed) == ["first", "refused", "nobody"]
    assert "451" in failed["first"]
    assert failed["refused"].startswith("recipient refused (gone@example.gov.uk: 550")
    assert failed["nobody"] == "no recipients"
    [(sender, recipients, received)] = smtp.messages
    assert (sender, recipients) == ("coordinator@example.gov.uk", ["b@example.gov.uk"])
    assert received["Subject"] == "Subject of last"


def test_no_server_listening_fails_each_message_and_raises_nothing():
    port = free_port()
    report = send(
        [message("one", "a@example.gov.uk"), message("two", "b@example.gov.uk")],
        SmtpSettings("127.0.0.1", port, timeout=5),
    )
    assert report.sent == []
    assert [name for name, _ in report.failed] == ["one", "two"]
    # One line naming the server and what to check, never an exception's name.
    expected = f"127.0.0.1:{port} refused the connection: check the SMTP host and the SMTP port"
    assert [reason for _, reason in report.failed] == [expected, expected]


def test_login_takes_the_password_from_the_environment(monkeypatch):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret"
        seen.append((auth_data.login, ok))
        return AuthResult(success=ok)

    collector = Collector()
    controller = Controller(
        collector,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        settings = SmtpSettings("127.0.0.1", controller.port, user="coordinator")
        monkeypatch.delenv(PASSWORD_ENVIRONMENT, raising=False)
        with pytest.raises(XltoolsError, match="XLTOOLS_SMTP_PASSWORD") as refused:
            send([message("digest", "dmt@example.gov.uk")], settings)
        assert "--" not in str(refused.value)  # the library names no command-line flag
        monkeypatch.setenv(PASSWORD_ENVIRONMENT, "s3cret")
        report = send([message("digest", "dmt@example.gov.uk")], settings)
    finally:
        controller.stop()
    assert report.sent == ["digest"]
    assert seen == [(b"coordinator", True)]
    assert len(collector.messages) == 1


def test_the_weekly_config_reuses_the_settings(tmp_path):
    from xltools.weekly import load_config

    config = tmp_path / "xltools.toml"
    config.write_text(
        "[email]\nsend = true\nsmtp_host = 'mail.example.gov.uk'\nssl = true\n"
        "smtp_user = 'coordinator'\nfrom = 'c@example.gov.uk'\n"
    )
    smtp = load_config(config).email.smtp
    assert smtp == SmtpSettings("mail.example.gov.uk", 465, SSL, "coordinator", "c@example.gov.uk")
    config.write_text("[email]\nstarttls = true\nssl = true\n")
    with pytest.raises(XltoolsError, match=r"\[email\] set one of starttls and ssl"):
        load_config(config)
