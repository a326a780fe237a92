"""Mail: a message, its files in an outbox, and sending it over SMTP.

:class:`Message` is one email (recipients, subject, plain text and HTML); the
summaries (:mod:`xltools.summary`) make them. :func:`write_outbox` writes each
as ``.txt``, ``.html`` and a ``.eml`` (multipart/alternative) a coordinator can
open or send. :func:`send` delivers them over SMTP, one at a time: one failure
is reported and the rest still go.

:class:`SmtpSettings` is the one description of a mail server, used by the
``summarise`` command's options and the weekly config's ``[email]`` section
alike. The port rule (:func:`default_port`) and the environment variable the
password is read from (``PASSWORD_ENVIRONMENT``) are written here only: a
password is never a command-line flag or a config setting.

Anything from staff that reaches a header has CR, LF and other control
characters removed first (:func:`header_safe`), so staff text cannot add a header.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from xltools.errors import XltoolsError
from xltools.outcome import Outcome

if TYPE_CHECKING:
    import smtplib
    from email.message import EmailMessage

# smtplib, ssl and email are imported where they are used: the command line reads the
# names above (for its help) and should not pay for them.

PASSWORD_ENVIRONMENT: Final = "XLTOOLS_SMTP_PASSWORD"

# How the connection is secured: not at all, upgraded with STARTTLS, or TLS from the start.
PLAIN: Final = "plain"
STARTTLS: Final = "starttls"
SSL: Final = "ssl"
SECURITIES: Final[tuple[str, ...]] = (PLAIN, STARTTLS, SSL)
# The port when none is given: SMTP's own, or SMTP over TLS's.
DEFAULT_PORTS: Final = {PLAIN: 25, STARTTLS: 25, SSL: 465}


def default_port(security: str) -> int:
    """The port used when none is given: 25, or 465 for TLS from the start."""
    return DEFAULT_PORTS[security]


def security_for(starttls: bool, ssl: bool) -> str:
    """The security a pair of yes/no settings asks for; both at once is a mistake."""
    if starttls and ssl:
        raise XltoolsError("choose one of STARTTLS and SSL, not both")
    return SSL if ssl else STARTTLS if starttls else PLAIN


@dataclass
class SmtpSettings:
    """A mail server and how to use it. ``port`` None means :func:`default_port`.

    ``sender`` is the From address; the password, when ``user`` is set, is read
    from the environment variable named by ``password_env`` at connection time.
    """

    host: str = "localhost"
    port: int | None = None
    security: str = PLAIN
    user: str | None = None
    sender: str = ""
    timeout: float = 30.0
    password_env: str = PASSWORD_ENVIRONMENT

    def __post_init__(self) -> None:
        if self.security not in SECURITIES:
            raise XltoolsError(
                f"SMTP security must be one of {', '.join(SECURITIES)}, not '{self.security}'"
            )
        if self.port is None:
            self.port = default_port(self.security)


def header_safe(value: object) -> str:
    """Text fit for an email header: no CR, LF or other control characters."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", str(value)).strip()


@dataclass
class Message:
    """One email: who it is for, and its subject, plain text and HTML."""

    name: str  # file stem in the outbox: "digest" or "leads/<slug>"
    to: list[str]
    subject: str
    text: str
    html: str
    sender: str = ""
    attachments: list[Path] = field(default_factory=list)  # workbooks (update packs)

    def message_id(self) -> str:
        """The Message-ID: fixed by what the message says (recipients, subject, both
        bodies, attachments), so writing the same message again keeps its Message-ID and
        the send log knows it was sent; a changed message is a new one."""
        import hashlib

        digest = hashlib.sha256()
        for part in (self.name, self.sender, *self.to, self.subject, self.text, self.html):
            digest.update(part.encode("utf-8") + b"\x00")
        for path in self.attachments:
            digest.update(Path(path).read_bytes() + b"\x00")
        domain = (self.sender.rpartition("@")[2] if self.sender else "") or "xltools.invalid"
        domain = re.sub(r"[^A-Za-z0-9.-]", "", domain) or "xltools.invalid"
        return f"<{digest.hexdigest()[:32]}.xltools@{domain}>"

    def to_email(self, now: dt.datetime | None = None) -> EmailMessage:
        from email.message import EmailMessage
        from email.policy import SMTP
        from email.utils import format_datetime

        message = EmailMessage(policy=SMTP)
        message["Subject"] = header_safe(self.subject)
        if self.sender:
            message["From"] = header_safe(self.sender)
        if self.to:
            message["To"] = ", ".join(header_safe(address) for address in self.to)
        message["Date"] = format_datetime(now or dt.datetime.now(dt.UTC))
        message["Message-ID"] = self.message_id()
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")
        for path in self.attachments:
            message.add_attachment(
                Path(path).read_bytes(),
                maintype="application",
                subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                filename=Path(path).name,
            )
        return message


def write_outbox(messages: Iterable[Message], outbox: str | Path) -> list[Path]:
    """Write each message as .eml, .html and .txt into the outbox; the .eml paths.

    The .eml is what :func:`send` sends, so its Message-ID (fixed here) is the one
    the recipient sees and the send log records.
    """
    from xltools.fileio import write_bytes, write_text

    outbox = Path(outbox)
    written: list[Path] = []
    for message in messages:
        stem = outbox / message.name
        write_text(stem.with_suffix(".txt"), message.text)
        write_text(stem.with_suffix(".html"), message.html)
        write_bytes(stem.with_suffix(".eml"), bytes(message.to_email()))
        written.append(stem.with_suffix(".eml"))
    return written


# --------------------------------------------------------------------------
# Sending, once
# --------------------------------------------------------------------------
SEND_LOG_NAME: Final = "send-log.jsonl"
DEFAULT_TIME_LIMIT: Final = 300.0  # seconds for a whole sending run
ACCEPTED, REFUSED, UNKNOWN = "accepted", "refused", "unknown"

# What to check, by the settings a failure points at; the command line and the weekly
# config each say it in their own words (a flag, a config key).
SETTING_WORDS: Final = {
    "host": "the SMTP host",
    "port": "the SMTP port",
    "security": "STARTTLS or SSL",
    "user": "the SMTP user",
    "password": "the password",
    "address": "the recipient's address",
}


@dataclass(frozen=True)
class SendFailure:
    """Why one message (or some of its recipients) did not go: one line, no exception.

    ``what`` names the server and what happened; ``check`` the settings to look at
    (keys of :data:`SETTING_WORDS`); ``advice`` what else to do.
    """

    name: str
    recipients: tuple[str, ...]
    what: str
    check: tuple[str, ...] = ()
    advice: str = ""

    def line(self, words: dict[str, str] | None = None) -> str:
        words = {**SETTING_WORDS, **(words or {})}
        todo = []
        if self.check:
            todo.append("check " + " and ".join(words[c] for c in self.check))
        if self.advice:
            todo.append(self.advice)
        return self.what + (": " + "; ".join(todo) if todo else "")


@dataclass
class SendReport:
    """A sending run: messages sent, already sent before (by the send log), and failures."""

    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    failures: list[SendFailure] = field(default_factory=list)

    @property
    def failed(self) -> list[tuple[str, str]]:
        """(message name, reason) for each failure, in the library's own words."""
        return [(f.name, f.line()) for f in self.failures]

    @property
    def outcome(self) -> Outcome:
        """PROBLEMS when some message was not sent (the rest still went), else OK."""
        return Outcome.PROBLEMS if self.failed else Outcome.OK


class SendLog:
    """The outbox's send log: one JSON line per recipient per attempt, appended as it
    happens (flushed to disk), so a run that is killed still knows what went."""

    def __init__(self, outbox: Path | None) -> None:
        self.path = outbox / SEND_LOG_NAME if outbox is not None else None
        self.outcomes: dict[tuple[str, str], str] = {}
        if self.path is not None and self.path.exists():
            import json

            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                    self.outcomes[(entry["message_id"], entry["recipient"])] = entry["outcome"]
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a crash: that attempt counts as not made

    def done(self, message_id: str, recipient: str) -> bool:
        """Sent already, or possibly sent (the connection was lost after the message)."""
        return self.outcomes.get((message_id, recipient)) in (ACCEPTED, UNKNOWN)

    def record(self, name: str, message_id: str, recipient: str, outcome: str, detail="") -> None:
        self.outcomes[(message_id, recipient)] = outcome
        if self.path is None:
            return
        import json

        entry = {
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "message": name,
            "message_id": message_id,
            "recipient": recipient,
            "outcome": outcome,
            "detail": detail,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as log:
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            log.flush()
            os.fsync(log.fileno())


class _Failed(Exception):
    """A failure already put in words (internal: never leaves this module)."""

    def __init__(self, what: str, check: tuple[str, ...] = (), advice: str = "") -> None:
        super().__init__(what)
        self.what, self.check, self.advice = what, check, advice


def _server(settings: SmtpSettings) -> str:
    return f"{settings.host}:{settings.port}"


def _explain(error: BaseException, settings: SmtpSettings, timeout: float) -> _Failed:
    """An SMTP or network error as one line naming the server and what to check."""
    import smtplib
    import socket
    import ssl as ssl_module

    server = _server(settings)
    if isinstance(error, _Failed):
        return error
    if isinstance(error, ConnectionRefusedError):
        return _Failed(f"{server} refused the connection", ("host", "port"))
    if isinstance(error, socket.gaierror):
        return _Failed(f"{settings.host}: no mail server by that name", ("host",))
    if isinstance(error, TimeoutError) or "timed out" in str(error):
        return _Failed(
            f"{server} did not answer within {timeout:.0f} s",
            ("host", "port"),
            "or try again later: a re-run sends only what was not sent",
        )
    if isinstance(error, smtplib.SMTPConnectError):
        return _Failed(f"{server} refused to take mail ({_reply(error)})", ("host", "port"))
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return _Failed(f"{server} refused the login of {settings.user}", ("user", "password"))
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return _Failed(f"{server} does not offer {error}", ("security", "port"))
    if isinstance(error, ssl_module.SSLError):
        return _Failed(f"{server}: the TLS connection failed ({error.reason})", ("security",))
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return _Failed(
            f"{server} closed the connection",
            ("host", "port"),
            "or try again later: a re-run sends only what was not sent",
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return _Failed(f"{server} answered {_reply(error)}", (), "try again later")
    if isinstance(error, OSError):
        return _Failed(f"{server}: {error.strerror or error}", ("host", "port"))
    return _Failed(f"{server}: {type(error).__name__}: {error}", ("host", "port"))


def _reply(error) -> str:
    text = error.smtp_error
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return f"{error.smtp_code} {header_safe(text)}"


def _recipients(message: Message) -> list[str]:
    from email.utils import getaddresses

    return [address for _, address in getaddresses(message.to) if address]


def send(
    messages: list[Message],
    settings: SmtpSettings,
    outbox: str | Path | None = None,
    resend: bool = False,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> SendReport:
    """Send each message once; a failure is recorded and the rest still go.

    With ``outbox`` (where :func:`write_outbox` put them) the .eml written there is
    sent, Message-ID and all, and the outbox's send log says who each message
    reached: a re-run sends only to recipients not yet reached (``resend`` sends
    again on purpose). A recipient the server refuses is a failure even when others
    got the message. When the connection is lost after the whole message went, the
    server may have stored it: that is a failure, logged as unknown, and not sent
    again without ``resend``. ``time_limit`` bounds the whole run (seconds); what
    is left when it runs out is reported as not sent. Nothing here raises for an
    SMTP or network problem: each becomes a :class:`SendFailure` with one line.
    """
    import time

    outbox = Path(outbox) if outbox is not None else None
    log = SendLog(outbox)
    report = SendReport()
    deadline = time.monotonic() + time_limit
    connection = None
    broken: _Failed | None = None  # a connection problem that would fail every message
    try:
        for message in messages:
            recipients = _recipients(message)
            message_id = message.message_id()
            if not recipients:
                report.failures.append(SendFailure(message.name, (), "no recipients"))
                continue
            todo = [r for r in recipients if resend or not log.done(message_id, r)]
            if not todo:
                report.already_sent.append(message.name)
                continue
            remaining = deadline - time.monotonic()
            if broken is None and remaining <= 0:
                broken = _Failed(
                    f"not tried: the sending run's time limit of {time_limit:.0f} s ran out",
                    (),
                    "run again to send the rest",
                )
            if broken is not None:
                report.failures.append(
                    SendFailure(message.name, tuple(todo), broken.what, broken.check, broken.advice)
                )
                continue
            timeout = min(settings.timeout, remaining)
            connecting = connection is None
            try:
                if connection is None:
                    connection = _connect(settings, timeout)
                connection.sock.settimeout(timeout)
                accepted, failures, lost = _transaction(
                    connection, message, todo, outbox, settings, log
                )
            except XltoolsError:
                raise
            except Exception as error:  # every SMTP and network error, put in words
                failure = _explain(error, settings, timeout)
                connection = _drop(connection)
                if connecting:
                    broken = failure  # no connection to be had: the rest would fail alike
                report.failures.append(
                    SendFailure(
                        message.name, tuple(todo), failure.what, failure.check, failure.advice
                    )
                )
                continue
            report.failures.extend(failures)
            if accepted and not failures:
                report.sent.append(message.name)
            if lost:
                connection = _drop(connection)  # it went mid-reply: start afresh
    finally:
        _drop(connection, politely=True)
    return report


def _transaction(connection, message, todo, outbox, settings, log):
    """One message over an open connection: MAIL, RCPT each, DATA. Returns the recipients
    it reached, the failures, and whether the connection was lost after the message went;
    raises for anything that went wrong before the message itself was sent."""
    import smtplib

    message_id = message.message_id()
    if outbox is not None and (outbox / message.name).with_suffix(".eml").exists():
        data = (outbox / message.name).with_suffix(".eml").read_bytes()
    else:
        data = bytes(message.to_email())
    server = _server(settings)
    envelope_from = settings.sender or message.sender
    connection.ehlo_or_helo_if_needed()
    code, reply = connection.mail(envelope_from)
    if code != 250:
        connection.rset()
        raise _Failed(f"{server} refused the sender {envelope_from} ({code} {_text(reply)})")
    accepted, failures = [], []
    for recipient in todo:
        code, reply = connection.rcpt(recipient)
        if code in (250, 251):
            accepted.append(recipient)
            continue
        detail = f"{code} {_text(reply)}"
        log.record(message.name, message_id, recipient, REFUSED, detail)
        failures.append(
            SendFailure(
                message.name,
                (recipient,),
                f"recipient refused ({recipient}: {detail}) by {server}",
                ("address",),
            )
        )
    if not accepted:
        connection.rset()
        return [], failures, False
    code, reply = connection.docmd("DATA")
    if code != 354:
        connection.rset()
        raise smtplib.SMTPDataError(code, reply)
    body = re.sub(rb"(?m)^\.", b"..", data)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    connection.send(body + b".\r\n")
    # From here the server has the whole message: losing the connection now leaves us
    # not knowing whether it was stored, so it must not be sent again blindly.
    try:
        code, reply = connection.getreply()
    except (smtplib.SMTPException, OSError) as error:
        for recipient in accepted:
            log.record(message.name, message_id, recipient, UNKNOWN, str(error))
        failures.append(
            SendFailure(
                message.name,
                tuple(accepted),
                f"{server} dropped the connection after the message was sent",
                (),
                "it may have been delivered, so it is not sent again: ask the recipient, "
                "and send it again on purpose if it did not arrive",
            )
        )
        return [], failures, True
    if code != 250:
        failures.append(
            SendFailure(
                message.name,
                tuple(accepted),
                f"{server} did not take the message ({code} {_text(reply)})",
                (),
                "try again later: a re-run sends only what was not sent",
            )
        )
        return [], failures, False
    for recipient in accepted:
        log.record(message.name, message_id, recipient, ACCEPTED, f"{code} {_text(reply)}")
    return accepted, failures, False


def _text(reply: object) -> str:
    return header_safe(reply.decode(errors="replace") if isinstance(reply, bytes) else reply)


def _connect(settings: SmtpSettings, timeout: float | None = None) -> smtplib.SMTP:
    import smtplib
    import ssl as ssl_module

    timeout = settings.timeout if timeout is None else timeout
    if settings.security == SSL:
        connection: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=timeout,
            context=ssl_module.create_default_context(),
        )
    else:
        connection = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        if settings.security == STARTTLS:
            connection.starttls(context=ssl_module.create_default_context())
    if settings.user:
        password = os.environ.get(settings.password_env)
        if password is None:
            connection.close()
            raise XltoolsError(
                f"an SMTP user is set but the password is not: put it in the environment "
                f"variable {settings.password_env}"
            )
        connection.login(settings.user, password)
    return connection


def _drop(connection, politely: bool = False) -> None:
    """Close a connection (after a failure the next message starts on a fresh one)."""
    import smtplib

    if connection is None:
        return None
    try:
        if politely:
            connection.quit()
        else:
            connection.close()
    except (smtplib.SMTPException, OSError):
        connection.close()
    return None
