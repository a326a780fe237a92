"""Email-ready summaries of the register: a digest for management, a note per lead officer.

``summarise`` turns a consolidation (or a register workbook read back with
:func:`xltools.register.read_register`) into messages: the digest (headline
counts, RAG by plan, overdue oldest first, due within ``model.DUE_SOON_DAYS``,
what changed, plans with problems, leads with no address) and, for every lead
officer with overdue or upcoming actions, a friendly note about their own. Each
message is plain text and HTML (tables and inline styles, no scripts, no
external CSS or images), and a ``.eml`` (multipart/alternative) a coordinator
can open or send.

Staff text is data, never markup: templates are files shipped with xltools,
rendered by jinja2 with autoescaping on for HTML; no template is ever built from
staff text, and CR/LF are stripped from anything that goes into a header.

``send`` delivers messages over SMTP, one at a time: one failure is reported
and the rest still go.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import smtplib
import ssl as ssl_module
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from xltools import __version__, model
from xltools.consolidate import Consolidation
from xltools.errors import XltoolsError
from xltools.fileio import write_bytes, write_text
from xltools.register import RegisterData, register_data
from xltools.register_sheets import DAYS_OVERDUE, RAG, RAG_COLUMNS, SOURCE_FILE
from xltools.words import plural

PASSWORD_ENVIRONMENT = "XLTOOLS_SMTP_PASSWORD"
DIGEST_KINDS = ("status-better", "status-worse", "status", "complete", "slipped")


@dataclass
class Message:
    """One email: who it is for, and its subject, plain text and HTML."""

    name: str  # file stem in the outbox: "digest" or "leads/<slug>"
    to: list[str]
    subject: str
    text: str
    html: str
    sender: str = ""

    def to_email(self, now: dt.datetime | None = None) -> EmailMessage:
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
        return message


@dataclass
class Summaries:
    digest: Message
    leads: list[Message]
    leads_without_address: list[str]

    @property
    def messages(self) -> list[Message]:
        return [self.digest, *self.leads]


def header_safe(value: object) -> str:
    """Text fit for an email header: no CR, LF or other control characters."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", str(value)).strip()


def slug(name: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return text[:60] or "lead"


# --------------------------------------------------------------------------
# Building the messages
# --------------------------------------------------------------------------
def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=PackageLoader("xltools", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters["plural"] = plural
    return environment


def _display_date(value: object) -> str:
    return value.strftime("%d/%m/%Y") if isinstance(value, dt.date) else str(value or "")


def _action_view(row: dict[str, object]) -> dict[str, object]:
    return {
        "plan": str(row.get(model.PLAN_TITLE) or row.get(SOURCE_FILE) or ""),
        "ref": str(row.get(model.REF) or ""),
        "action": str(row.get(model.ACTION) or ""),
        "lead": str(row.get(model.LEAD) or ""),
        "due": _display_date(row.get(model.DUE_DATE)),
        "days_overdue": row.get(DAYS_OVERDUE) or 0,
        "status": str(row.get(model.STATUS) or ""),
        "rag": str(row.get(RAG) or ""),
        "progress": str(row.get(model.PROGRESS) or ""),
    }


def read_leads_csv(path: str | Path) -> dict[str, str]:
    """A coordinator's list of lead officers' addresses: name,email per line."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as error:
        raise XltoolsError(f"cannot read the leads list ({error})", path) from None
    leads: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        if not row or not row[0].strip() or row[0].strip().lower() in ("name", "lead"):
            continue
        if len(row) < 2 or "@" not in row[1]:
            raise XltoolsError(f"line {number} is not 'name,email'", path)
        leads[row[0].strip().lower()] = row[1].strip()
    return leads


def summarise(
    data: RegisterData | Consolidation,
    leads: dict[str, str] | None = None,
    sender: str = "",
    digest_to: list[str] | None = None,
) -> Summaries:
    """Build the digest and the lead officers' notes."""
    if isinstance(data, Consolidation):
        data = register_data(data)
    environment = _environment()
    week = data.reporting_date.strftime("%d/%m/%Y")
    overdue_rows, due_soon_rows = data.overdue, data.due_soon
    totals = {
        "plans_read": data.totals.get("plans_read", len(data.plans)),
        "plans_not_read": data.totals.get("plans_not_read", 0),
        "actions": len(data.rows),
        "overdue": len(overdue_rows),
        "due_soon": len(due_soon_rows),
    }
    # Lead officers: address from the leads list first, then the plans' Lead email column.
    addresses = {name.lower(): email for name, email in (leads or {}).items()}
    for row in data.rows:
        lead = str(row.get(model.LEAD) or "").strip()
        email = str(row.get(model.LEAD_EMAIL) or "").strip()
        if lead and "@" in email:
            addresses.setdefault(lead.lower(), email)
    by_lead: dict[str, tuple[list, list]] = {}
    for row in overdue_rows:
        by_lead.setdefault(str(row.get(model.LEAD) or "").strip(), ([], []))[0].append(row)
    for row in due_soon_rows:
        by_lead.setdefault(str(row.get(model.LEAD) or "").strip(), ([], []))[1].append(row)
    by_lead.pop("", None)

    notes: list[Message] = []
    without_address: list[str] = []
    used: set[str] = set()
    for lead in sorted(by_lead, key=str.lower):
        overdue, due_soon = by_lead[lead]
        address = addresses.get(lead.lower())
        if not address:
            without_address.append(lead)
            continue
        context = {
            "lead": lead,
            "week": week,
            "overdue": [_action_view(r) for r in overdue],
            "due_soon": [_action_view(r) for r in due_soon],
            "due_soon_days": model.DUE_SOON_DAYS,
            "colours": model.RAG_COLOURS,
        }
        subject = (
            f"Your improvement actions: {len(overdue)} overdue, {len(due_soon)} due soon "
            f"(week of {week})"
        )
        context["subject"] = subject
        name = slug(lead)
        while name in used:
            name += "-2"
        used.add(name)
        notes.append(
            Message(
                f"leads/{name}",
                [formataddr((header_safe(lead), header_safe(address)))],
                subject,
                environment.get_template("lead.txt.j2").render(context),
                environment.get_template("lead.html.j2").render(context),
                sender,
            )
        )

    subject = (
        f"Action plans: {totals['overdue']} overdue, {totals['due_soon']} due soon (week of {week})"  # noqa: E501
    )
    context = {
        "subject": subject,
        "week": week,
        "totals": totals,
        "plans": data.plans,
        "rag_labels": RAG_COLUMNS,
        "overdue": [_action_view(r) for r in overdue_rows],
        "due_soon": [_action_view(r) for r in due_soon_rows],
        "changes": [c for c in data.changes if c["kind"] in DIGEST_KINDS],
        "problems": data.problems,
        "leads_without_address": without_address,
        "due_soon_days": model.DUE_SOON_DAYS,
        "colours": model.RAG_COLOURS,
        "version": __version__,
    }
    digest = Message(
        "digest",
        list(digest_to or []),
        subject,
        environment.get_template("digest.txt.j2").render(context),
        environment.get_template("digest.html.j2").render(context),
        sender,
    )
    return Summaries(digest, notes, without_address)


def write_outbox(summaries: Summaries, outbox: str | Path) -> list[Path]:
    """Write each message as .eml, .html and .txt into the outbox."""
    outbox = Path(outbox)
    written: list[Path] = []
    for message in summaries.messages:
        stem = outbox / message.name
        write_text(stem.with_suffix(".txt"), message.text)
        write_text(stem.with_suffix(".html"), message.html)
        write_bytes(stem.with_suffix(".eml"), bytes(message.to_email()))
        written.append(stem.with_suffix(".eml"))
    return written


# --------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------
@dataclass
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    ssl: bool = False
    user: str | None = None
    password_env: str = PASSWORD_ENVIRONMENT
    timeout: float = 30.0


@dataclass
class SendReport:
    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (message name, reason)


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.ssl:
        connection: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=settings.timeout,
            context=ssl_module.create_default_context(),
        )
    else:
        connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.starttls:
            connection.starttls(context=ssl_module.create_default_context())
    if settings.user:
        password = os.environ.get(settings.password_env)
        if password is None:
            connection.close()
            raise XltoolsError(
                f"--smtp-user is set but the password is not: put it in the environment "
                f"variable {settings.password_env}"
            )
        connection.login(settings.user, password)
    return connection


def send(messages: list[Message], settings: SmtpSettings) -> SendReport:
    """Send each message; a failure is recorded and the rest still go."""
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
    if connection is not None:
        try:
            connection.rset()
            return connection
        except (smtplib.SMTPException, OSError):
            connection.close()
    return None
