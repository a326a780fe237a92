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

    def to_email(self, now: dt.datetime | None = None) -> EmailMessage:
        from email.message import EmailMessage
        from email.policy import SMTP
        from email.utils import format_datetime, make_msgid

        message = EmailMessage(policy=SMTP)
        message["Subject"] = header_safe(self.subject)
        if self.sender:
            message["From"] = header_safe(self.sender)
            domain = self.sender.rpartition("@")[2] or "xltools.invalid"
        else:
            domain = "xltools.invalid"
        if self.to:
            message["To"] = ", ".join(header_safe(address) for address in self.to)
        message["Date"] = format_datetime(now or dt.datetime.now(dt.UTC))
        message["Message-ID"] = make_msgid("xltools", domain=header_safe(domain))
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
    """Write each message as .eml, .html and .txt into the outbox; the .eml paths."""
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


@dataclass
class SendReport:
    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (message name, reason)

    @property
    def outcome(self) -> Outcome:
        """PROBLEMS when some message was not sent (the rest still went), else OK."""
        return Outcome.PROBLEMS if self.failed else Outcome.OK


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    import smtplib
    import ssl as ssl_module

    if settings.security == SSL:
        connection: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=settings.timeout,
            context=ssl_module.create_default_context(),
        )
    else:
        connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
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


def send(messages: list[Message], settings: SmtpSettings) -> SendReport:
    """Send each message; a failure is recorded and the rest still go."""
    import smtplib

    report = SendReport()
    connection: smtplib.SMTP | None = None
    try:
        for message in messages:
            if not message.to:
                report.failed.append((message.name, "no recipients"))
                continue
            try:
                if connection is None:
                    connection = _connect(settings)
                connection.send_message(message.to_email())
                report.sent.append(message.name)
            except smtplib.SMTPRecipientsRefused as error:
                reasons = "; ".join(
                    f"{address}: {code} {text.decode(errors='replace')}"
                    for address, (code, text) in error.recipients.items()
                )
                report.failed.append((message.name, f"recipient refused ({reasons})"))
                connection = _reset(connection)
            except (smtplib.SMTPException, OSError) as error:
                report.failed.append((message.name, f"{type(error).__name__}: {error}"))
                connection = _reset(connection)
    finally:
        if connection is not None:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()
    return report


def _reset(connection: smtplib.SMTP | None) -> smtplib.SMTP | None:
    """After a failure, start the next message on a fresh connection."""
    import smtplib

    if connection is not None:
        try:
            connection.rset()
            return connection
        except (smtplib.SMTPException, OSError):
            connection.close()
    return None
