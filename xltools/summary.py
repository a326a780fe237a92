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

The messages are :class:`xltools.mail.Message`; :mod:`xltools.mail` writes
them to the outbox and sends them.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from email.utils import formataddr
from pathlib import Path
from typing import TYPE_CHECKING

from xltools import __version__, model
from xltools.consolidate import Consolidation
from xltools.errors import XltoolsError
from xltools.history import CHANGE_KINDS
from xltools.mail import Message, header_safe, write_outbox
from xltools.register import RegisterData, read_register, register_data
from xltools.register_sheets import DAYS_OVERDUE, RAG, RAG_COLUMNS, SOURCE_FILE
from xltools.words import plural, times

if TYPE_CHECKING:
    from xltools.packs import PackNote

# The digest lists every kind of change, in this order (most pressing first), at most
# CHANGES_PER_KIND of each; it says how many more of a kind are on the Changes sheet.
DIGEST_CHANGE_ORDER = (
    "status-worse",
    "slipped",
    "extension-granted",
    "complete",
    "status-better",
    "status",
    "new",
    "gone",
    "brought-forward",
    "stale-progress",
    "not-returned",
)
CHANGES_PER_KIND = 10
# Where in the outbox the notes of leads with no email address go, to print or forward.
NO_ADDRESS_FOLDER = "no-address"


@dataclass
class Summaries:
    digest: Message
    leads: list[Message]
    leads_without_address: list[str]
    address_problems: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)  # the .eml files, once written
    # Notes for the leads with no address: written to the outbox (leads/no-address/) for
    # the coordinator to print or forward, never sent.
    unaddressed: list[Message] = field(default_factory=list)

    @property
    def messages(self) -> list[Message]:
        """The messages to send: the digest and the notes of leads with an address."""
        return [self.digest, *self.leads]

    @property
    def to_write(self) -> list[Message]:
        """Every message written to the outbox: those to send and those to print."""
        return [*self.messages, *self.unaddressed]


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
    environment.filters["times_said"] = times
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


# The headline figures the digest compares with the last run ("overdue 8 -> 13"), in order.
SINCE_FIGURES = (("overdue", "overdue"), ("due_soon", "due soon"), ("open", "open"),
                 ("complete", "complete"))  # fmt: skip


def _since_last_run(data: RegisterData) -> dict[str, object] | None:
    """The last run's date and each headline figure then and now, from the register's
    trend (None when there is no earlier run)."""
    from xltools.history import previous_counts

    figures = data.since_last_run()
    before = previous_counts(data.trend, data.reporting_date)
    if not figures or before is None:
        return None
    return {
        "date": _display_date(before.reporting_date),
        "figures": [(label, *figures[name]) for name, label in SINCE_FIGURES],
    }


def change_groups(changes: list[dict[str, str]], per_kind: int = CHANGES_PER_KIND) -> list[dict]:
    """The register's changes by kind for the digest: every kind there is, most pressing
    first, each with its count, at most ``per_kind`` listed and how many are left out."""
    groups: dict[str, list[dict[str, str]]] = {}
    for change in changes:
        groups.setdefault(change["label"], []).append(change)
    order = [CHANGE_KINDS[kind] for kind in DIGEST_CHANGE_ORDER]
    labels = sorted(groups, key=lambda label: order.index(label) if label in order else 99)
    return [
        {
            "label": label,
            "count": len(groups[label]),
            "listed": groups[label][:per_kind],
            "left_out": max(0, len(groups[label]) - per_kind),
        }
        for label in labels
    ]


def read_leads_csv(path: str | Path) -> dict[str, str]:
    """A coordinator's list of lead officers' addresses: name,email per line."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise XltoolsError(
            "no such leads list: give the file of lead officers' addresses (name,email on each "
            "line)",
            path,
        ) from None
    except UnicodeDecodeError:
        raise XltoolsError(
            "the leads list is not UTF-8 text: save it from Excel as 'CSV UTF-8' and try again",
            path,
        ) from None
    except OSError as error:
        raise XltoolsError(
            f"cannot read the leads list ({error.strerror or 'refused'}): check the file and "
            "its permissions",
            path,
        ) from None
    leads: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        if not row or not row[0].strip() or row[0].strip().lower() in ("name", "lead"):
            continue
        if len(row) < 2 or "@" not in row[1]:
            raise XltoolsError(f"line {number} is not 'name,email'", path)
        leads[row[0].strip().lower()] = row[1].strip()
    return leads


LEAD_DUE_DAYS = 14  # a lead's note goes when one of their actions falls due this soon


def _loop_views(loop) -> tuple[list[dict], list[dict]]:
    """The digest's lists of the weekly loop: packs not returned (by lead) and requests."""
    if loop is None:
        return [], []
    late = [
        {
            "lead": p["lead"],
            "file": p["file"],
            "reply_by": _display_date(dt.date.fromisoformat(p["reply_by"])),
        }
        for p in loop.not_returned
    ]
    requests = [
        {
            "plan": r["plan"],
            "ref": r["ref"],
            "action": r["action"],
            "lead": r["lead"],
            "due": _display_date(_iso_date(r.get("due"))),
            "proposed": _display_date(_iso_date(r["proposed"])),
            "reason": r.get("reason") or "",
            "times_slipped": r.get("times_slipped"),
        }
        for r in loop.requests
    ]
    return late, requests


def _iso_date(text: object) -> object:
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        return text


def summarise(
    data: RegisterData | Consolidation,
    leads: dict[str, str] | None = None,
    sender: str = "",
    digest_to: list[str] | None = None,
    packs: list[PackNote] | None = None,
    lead_due_days: int = LEAD_DUE_DAYS,
    cadence_days: int | None = None,
) -> Summaries:
    """Build the digest and the lead officers' notes.

    A lead gets a note when one of their actions is overdue or falls due within
    ``lead_due_days``, when an update pack is going to them (``packs``: attached, with the
    date to reply by), or when their last pack was not returned by its reply-by date
    (the note says it is a reminder). With ``cadence_days`` (the days between runs,
    7 for the weekly job) the overdue and falling-due reasons count only when they
    arose since the run before: an action that came within ``lead_due_days``, or
    became overdue, in that time; so a lead hears once when an action falls due soon
    and again when it becomes overdue, not every week. The note lists all their
    overdue and upcoming actions either way. Addresses:
    :func:`leads.resolve_addresses` (the leads list first; plans only when they all
    agree; disagreements listed in the digest).
    """
    from xltools.leads import lead_key, resolve_addresses, slug

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
    addresses = resolve_addresses(data.rows, leads)
    horizon = data.reporting_date + dt.timedelta(days=lead_due_days)
    names: dict[str, str] = {}
    by_lead: dict[str, tuple[list, list]] = {}
    for row in overdue_rows:
        key = lead_key(row.get(model.LEAD))
        names.setdefault(key, " ".join(str(row.get(model.LEAD) or "").split()))
        by_lead.setdefault(key, ([], []))[0].append(row)
    for row in due_soon_rows:
        due = row.get(model.DUE_DATE)
        if isinstance(due, dt.date) and due <= horizon:
            key = lead_key(row.get(model.LEAD))
            names.setdefault(key, " ".join(str(row.get(model.LEAD) or "").split()))
            by_lead.setdefault(key, ([], []))[1].append(row)
    loop = getattr(data, "loop", None)
    late_packs, requests = _loop_views(loop)
    reminders = {lead_key(p["lead"]) for p in late_packs}
    packs = {lead_key(pack.lead): pack for pack in packs or ()}
    if cadence_days is not None:
        # Only leads with something new since the last run: an action newly within the
        # window or newly overdue (the other reasons, packs and reminders, are added below).
        day, step = data.reporting_date, dt.timedelta(days=cadence_days)

        def news(overdue: list, due_soon: list) -> bool:
            return any(day - step <= _due(r) < day for r in overdue) or any(
                horizon - step < _due(r) <= horizon for r in due_soon
            )

        # A lead with no address stays listed every run, for the coordinator to chase.
        by_lead = {
            key: rows
            for key, rows in by_lead.items()
            if news(*rows) or not addresses.address(names[key])
        }
    for key in (*reminders, *packs):
        by_lead.setdefault(key, ([], []))
    for pack in late_packs:
        names.setdefault(lead_key(pack["lead"]), pack["lead"])
    for key, pack in packs.items():
        names.setdefault(key, pack.lead)
    by_lead.pop("", None)

    notes: list[Message] = []
    unaddressed: list[Message] = []
    without_address: list[str] = []
    used: set[str] = set()
    for key in sorted(by_lead):
        lead = names[key]
        overdue, due_soon = by_lead[key]
        address = addresses.address(lead)
        if not address:
            without_address.append(lead)
        pack = packs.get(key)
        reminder = key in reminders
        context = {
            "lead": lead,
            "week": week,
            "overdue": [_action_view(r) for r in overdue],
            "due_soon": [_action_view(r) for r in due_soon],
            "due_soon_days": lead_due_days,
            "colours": model.RAG_COLOURS,
            "reminder": reminder,
            "late": [p for p in late_packs if lead_key(p["lead"]) == key],
            "pack": pack.path.name if pack else "",
            "reply_by": _display_date(pack.reply_by) if pack else "",
            "no_address": not address,
        }
        subject = (
            f"Your improvement actions: {len(overdue)} overdue, {len(due_soon)} due soon "
            f"(week of {week})"
        )
        if pack:
            subject = f"Update pack: please reply by {context['reply_by']}. {subject}"
        if reminder:
            subject = f"Reminder: {subject}"
        context["subject"] = subject
        name = slug(lead)
        while name in used:
            name += "-2"
        used.add(name)
        (notes if address else unaddressed).append(
            Message(
                f"leads/{name}" if address else f"leads/{NO_ADDRESS_FOLDER}/{name}",
                [formataddr((header_safe(lead), header_safe(address)))] if address else [],
                subject,
                environment.get_template("lead.txt.j2").render(context),
                environment.get_template("lead.html.j2").render(context),
                sender,
                attachments=[pack.path] if pack else [],
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
        "since": _since_last_run(data),
        "changes": change_groups(data.changes),
        "changes_count": len(data.changes),
        "still_stale": data.totals.get("still_stale", 0),
        # Files not read and plans with errors; plans with warnings only are not called
        # problems; files the search skipped are not plans at all.
        "problems": [p for p in data.problems if p["kind"] != "warnings"],
        "warned": [p for p in data.problems if p["kind"] == "warnings"],
        "skipped": data.skipped,
        "leads_without_address": [
            {"lead": lead, "note": f"{note.name}.html"}
            for lead, note in zip(without_address, unaddressed, strict=True)
        ],
        "address_problems": addresses.problems(),
        "not_returned": late_packs,
        "requests": requests,
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
    return Summaries(digest, notes, without_address, addresses.problems(), unaddressed=unaddressed)


def _due(row: dict[str, object]) -> dt.date:
    due = row.get(model.DUE_DATE)
    return due.date() if isinstance(due, dt.datetime) else due


def summarise_to(
    register: RegisterData | Consolidation | str | Path,
    outbox: str | Path,
    leads_csv: str | Path | None = None,
    sender: str = "",
    digest_to: list[str] | None = None,
    packs: list[PackNote] | None = None,
    lead_due_days: int = LEAD_DUE_DAYS,
    cadence_days: int | None = None,
) -> Summaries:
    """The summarising step: the digest and lead notes of a register, written to the outbox.

    ``register`` is a consolidation, its contents, or a register workbook to read.
    The one composition of :func:`read_leads_csv`, :func:`summarise` and
    :func:`xltools.mail.write_outbox`, run by ``xltools summarise`` and the weekly
    job alike; sending is :func:`xltools.mail.send` of ``messages``.
    """
    if isinstance(register, (str, Path)):
        register = read_register(register)
    leads = read_leads_csv(leads_csv) if leads_csv else {}
    summaries = summarise(register, leads, sender, digest_to, packs, lead_due_days, cadence_days)
    summaries.written = write_outbox(summaries.to_write, outbox)
    return summaries
