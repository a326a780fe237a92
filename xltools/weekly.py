"""The coordinator's weekly job, end to end, once or on a timer.

One run: consolidate the inbox (keeping the history), archive the register
as ``registers/register-YYYY-MM-DD.xlsx`` (the reporting date), write the
digest and the lead officers' notes into ``outbox/YYYY-MM-DD/``, and send them
if the config says so. A lock file stops two runs overlapping; every run is
logged to a file and the terminal. ``run_on_timer`` runs it every week with the
``schedule`` package; a failing run is logged with its reason and the timer
keeps going.

The config is TOML (``xltools weekly --init`` writes a commented example).
Paths in it are relative to the config file.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from xltools.errors import XltoolsError
from xltools.locks import FileLock
from xltools.mail import DEFAULT_TIME_LIMIT, PASSWORD_ENVIRONMENT, SmtpSettings, security_for
from xltools.outcome import Outcome
from xltools.words import plural

LOG = logging.getLogger("xltools.weekly")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
LOCK_NAME = ".xltools-weekly.lock"
LEAD_NOTES = ("on-change", "every-run")


class MissingConfig(XltoolsError):
    """The weekly config file named does not exist."""


@dataclass
class EmailConfig:
    """The config's ``[email]`` section: whether to send, the server (and From), who gets what."""

    send: bool = False
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    digest_to: list[str] = field(default_factory=list)
    leads_csv: Path | None = None
    time_limit: float = DEFAULT_TIME_LIMIT

    @property
    def sender(self) -> str:
        return self.smtp.sender


@dataclass
class PacksConfig:
    """The config's ``[packs]`` section: the weekly loop (update packs out, replies in)."""

    folder: Path
    reply_days: int = 5
    merge: bool = True


@dataclass
class WeeklyConfig:
    path: Path
    inbox: Path
    registers: Path
    outbox: Path
    history: Path
    log: Path
    day: str = "monday"
    time: str = "08:00"
    rules: str = "default"
    email: EmailConfig = field(default_factory=EmailConfig)
    packs: PacksConfig | None = None
    lead_due_days: int = 14  # a lead's note goes when an action falls due this soon
    # "on-change": a lead hears when an action comes within lead_due_days and again when it
    # becomes overdue (and with a pack or a reminder); "every-run": every run while any is.
    lead_notes: str = "on-change"


@dataclass
class WeeklyResult:
    reporting_date: dt.date
    register: Path
    outbox: Path
    outcome: Outcome  # the roll-up's, made worse if a message was not sent
    summary: str
    sent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def example_config() -> str:
    return (resources.files("xltools") / "data" / "xltools.toml").read_text("utf-8")


def init_config(folder: str | Path = ".", overwrite: bool = False) -> Path:
    """Write the commented example config into a folder; an existing one only when told."""
    path = Path(folder) / "xltools.toml"
    if path.exists() and not overwrite:
        raise XltoolsError("already exists: edit it, or move it aside first", path)
    from xltools.fileio import write_text

    return write_text(path, example_config())


def load_config(path: str | Path) -> WeeklyConfig:
    """Read and check a weekly config. Errors name the file and the setting."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MissingConfig("no such config file", path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise XltoolsError(f"the config is not valid TOML: {error}", path) from None
    base = path.parent.resolve()
    weekly = data.get("weekly", {})
    email = data.get("email", {})
    packs = data.get("packs", {})

    def folder(key: str, default: str) -> Path:
        value = weekly.get(key, default)
        if not isinstance(value, str) or not value:
            raise XltoolsError(f"[weekly] {key} must be a path", path)
        return (base / value).resolve()

    day = str(weekly.get("day", "monday")).lower()
    if day not in DAYS:
        raise XltoolsError(f"[weekly] day must be one of {', '.join(DAYS)}, not '{day}'", path)
    at = str(weekly.get("time", "08:00"))
    try:
        dt.time.fromisoformat(at)
    except ValueError:
        raise XltoolsError(f"[weekly] time must be HH:MM, not '{at}'", path) from None
    registers = folder("registers", "registers")
    digest_to = email.get("digest_to", [])
    if isinstance(digest_to, str):
        digest_to = [digest_to]
    leads_csv = email.get("leads_csv")
    config = WeeklyConfig(
        path=path,
        inbox=folder("inbox", "inbox"),
        registers=registers,
        outbox=folder("outbox", "outbox"),
        history=folder("history", "registers/history.sqlite"),
        log=folder("log", "registers/xltools-weekly.log"),
        day=day,
        time=at,
        rules=str(weekly.get("rules", "default")),
        email=EmailConfig(
            send=bool(email.get("send", False)),
            smtp=_smtp_settings(email, path),
            digest_to=[str(a) for a in digest_to],
            leads_csv=(base / leads_csv).resolve() if leads_csv else None,
            time_limit=_number(email, "time_limit", DEFAULT_TIME_LIMIT, "[email]", path),
        ),
        packs=PacksConfig(
            (base / str(packs["folder"])).resolve(),
            int(_number(packs, "reply_days", 5, "[packs]", path)),
            bool(packs.get("merge", True)),
        )
        if packs.get("folder")
        else None,
        lead_due_days=int(_number(weekly, "lead_due_days", 14, "[weekly]", path)),
        lead_notes=str(weekly.get("lead_notes", "on-change")),
    )
    if config.lead_notes not in LEAD_NOTES:
        raise XltoolsError(
            f"[weekly] lead_notes must be one of {', '.join(LEAD_NOTES)}, not "
            f"'{config.lead_notes}'",
            path,
        )
    if config.rules not in ("default", "audit"):
        config.rules = str((base / config.rules).resolve())
    if config.email.send and not config.email.sender:
        raise XltoolsError("[email] send = true needs a 'from' address", path)
    return config


def _number(section: dict, key: str, default: float, name: str, path: Path) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise XltoolsError(f"{name} {key} must be a number of at least 0, not '{value}'", path)
    return value


def _smtp_settings(email: dict, path: Path) -> SmtpSettings:
    """The ``[email]`` section's mail server settings."""
    starttls, ssl = bool(email.get("starttls", False)), bool(email.get("ssl", False))
    if starttls and ssl:
        raise XltoolsError("[email] set one of starttls and ssl, not both", path)
    security = security_for(starttls, ssl)
    port = email.get("smtp_port")
    return SmtpSettings(
        host=str(email.get("smtp_host", "localhost")),
        port=None if port is None else int(port),
        security=security,
        user=email.get("smtp_user") or None,
        sender=str(email.get("from", "")),
        password_env=str(email.get("password_env", PASSWORD_ENVIRONMENT)),
    )


def setup_logging(config: WeeklyConfig) -> None:
    """Log to the config's log file and to the terminal (set up once per process and log
    file: a second config in the same process moves the log to its own file)."""
    ours = [h for h in LOG.handlers if getattr(h, "_xltools", False)]
    wanted = str(config.log.resolve())
    if any(getattr(h, "baseFilename", None) == wanted for h in ours):
        return
    for handler in ours:
        LOG.removeHandler(handler)
        handler.close()
    config.log.parent.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    for handler in (logging.FileHandler(config.log, encoding="utf-8"), logging.StreamHandler()):
        handler.setFormatter(formatter)
        handler._xltools = True  # type: ignore[attr-defined]
        LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)


class RunLock(FileLock):
    """The lock that stops two weekly runs overlapping (see :mod:`xltools.locks`): taken
    atomically, and gone with the run that held it, so a crash never leaves it behind."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            path,
            "another weekly run is in progress",
            "wait for it to finish (its lock goes when it ends; there is nothing to delete)",
        )


def run_once(config: WeeklyConfig, reporting_date: dt.date | None = None) -> WeeklyResult:
    """One weekly run (see the module docstring)."""
    from xltools.mail import send
    from xltools.rollup import consolidate_to
    from xltools.summary import read_leads_csv, summarise_to

    reporting_date = reporting_date or dt.date.today()
    with RunLock(config.registers / LOCK_NAME):
        LOG.info("weekly run for %s: reading %s", reporting_date.isoformat(), config.inbox)
        register = config.registers / f"register-{reporting_date.isoformat()}.xlsx"
        if config.packs and config.packs.merge and config.packs.folder.exists():
            _merge_returns(config, reporting_date)
        result = consolidate_to(
            config.inbox,
            register,
            reporting_date,
            config.rules,
            config.history,
            packs=config.packs.folder if config.packs else None,
        )
        totals = result.totals()
        text = (
            f"{plural(totals['plans_read'], 'plan')}, {plural(totals['actions'], 'action')}, "
            f"{totals['overdue']} overdue, {totals['due_soon']} due soon, "
            f"{plural(totals['problems'], 'problem')}, {plural(totals['changes'], 'change')}"
        )
        LOG.info("register written to %s: %s", register, text)
        leads = read_leads_csv(config.email.leads_csv) if config.email.leads_csv else {}
        notes = _packs_out(config, reporting_date, leads) if config.packs else []
        outbox = config.outbox / reporting_date.isoformat()
        email = config.email
        summaries = summarise_to(
            result,
            outbox,
            email.leads_csv,
            email.sender,
            email.digest_to,
            notes,
            config.lead_due_days,
            7 if config.lead_notes == "on-change" else None,  # the timer runs weekly
        )
        LOG.info("%s written to %s", plural(len(summaries.written), "message"), outbox)
        for lead, note in zip(summaries.leads_without_address, summaries.unaddressed, strict=True):
            LOG.warning(
                "no email address for lead officer %s: note written to print or forward (%s)",
                lead,
                outbox / f"{note.name}.html",
            )
        for line in summaries.address_problems:
            LOG.warning("lead officer's address not used: %s", line)
        weekly = WeeklyResult(reporting_date, register, outbox, result.outcome, text)
        if config.email.send:
            report = send(
                summaries.messages,
                config.email.smtp,
                outbox,
                time_limit=config.email.time_limit,
            )
            weekly.sent = len(report.sent)
            weekly.failed = [(f.name, f.line(CONFIG_WORDS)) for f in report.failures]
            for name, reason in weekly.failed:
                LOG.error("message %s not sent: %s", name, reason)
            LOG.info(
                "sent %d, %d sent before, failed %d",
                len(report.sent),
                len(report.already_sent),
                len(report.failures),
            )
            weekly.outcome = Outcome.worst(weekly.outcome, report.outcome)
        return weekly


# How a sending failure's "check ..." is said to the coordinator who wrote the config.
CONFIG_WORDS = {
    "host": "smtp_host in the config",
    "port": "smtp_port in the config",
    "security": "starttls or ssl in the config",
    "user": "smtp_user in the config",
    "password": "the password in the environment variable named by password_env",
}


def _merge_returns(config: WeeklyConfig, reporting_date: dt.date) -> None:
    """Returned packs into the plans before the roll-up (grants stay the coordinator's)."""
    from xltools.merge import merge
    from xltools.packs import Ledger

    if not Ledger.load(config.packs.folder).packs:
        return
    result = merge(config.packs.folder, config.inbox, reporting_date, rules=config.rules)
    for change in result.changes:
        LOG.info(
            "merged %s %s (%s, Ref %s): %s",
            change.plan,
            change.cell,
            change.column,
            change.ref,
            change.new,
        )
    for conflict in result.conflicts:
        LOG.warning(
            "merge conflict (%s): %s Ref %s [%s]: %s",
            conflict.code,
            conflict.plan,
            conflict.ref,
            conflict.pack,
            conflict.message,
        )
    for request in result.requests:
        LOG.info(
            "extension requested: %s:%s to %s", request["plan"], request["ref"], request["proposed"]
        )


def _packs_out(config: WeeklyConfig, reporting_date: dt.date, leads: dict[str, str]) -> list:
    """This week's update packs: written for every lead, to go with their notes."""
    from xltools.packs import pack_notes, write_packs

    reply_by = reporting_date + dt.timedelta(days=config.packs.reply_days)
    run = write_packs(config.inbox, config.packs.folder, reporting_date, reply_by, leads)
    LOG.info(
        "%s written to %s, reply by %s",
        plural(len(run.packs), "update pack"),
        config.packs.folder,
        reply_by.isoformat(),
    )
    for path, reason in run.problems:
        LOG.warning("no pack rows from %s: %s", path, reason)
    return pack_notes(config.packs.folder, reporting_date)


def guarded_run(config: WeeklyConfig) -> WeeklyResult | None:
    """A timed run: any failure is logged with its reason and the timer keeps going."""
    try:
        return run_once(config)
    except XltoolsError as error:
        LOG.error("weekly run failed: %s", error)
    except Exception:
        LOG.exception("weekly run failed unexpectedly")
    return None


def run_on_timer(config: WeeklyConfig, poll_seconds: float = 30.0, stop=None) -> None:
    """Run every week at the config's day and time until ``stop()`` says so (or forever)."""
    import schedule

    scheduler = schedule.Scheduler()
    getattr(scheduler.every(), config.day).at(config.time).do(guarded_run, config)
    LOG.info("waiting for %s at %s (next run %s)", config.day, config.time, scheduler.next_run)
    while stop is None or not stop():
        scheduler.run_pending()
        time.sleep(poll_seconds)
