"""``xltools summarise``: email-ready summaries of a register, optionally sent."""

from __future__ import annotations

import click

from xltools.cli import cli, exit_with, force_option, refuse_overwrite
from xltools.mail import DEFAULT_TIME_LIMIT, PASSWORD_ENVIRONMENT, PLAIN, SSL, default_port

# How a sending failure's "check ..." is said on the command line.
FLAG_WORDS = {
    "host": "--smtp-host",
    "port": "--smtp-port",
    "security": "--starttls or --ssl",
    "user": "--smtp-user",
    "password": f"the password in {PASSWORD_ENVIRONMENT}",
}


def smtp_options(function):
    """The SMTP options, shared by every command that sends mail."""
    options = [
        click.option("--send", is_flag=True, help="Send the messages (default: only write them)."),
        click.option("--smtp-host", default="localhost", show_default=True),
        click.option(
            "--smtp-port",
            type=int,
            default=None,
            help=f"Default {default_port(PLAIN)}, or {default_port(SSL)} with --ssl.",
        ),
        click.option("--starttls", is_flag=True, help="Upgrade the connection with STARTTLS."),
        click.option("--ssl", "use_ssl", is_flag=True, help="Connect with TLS from the start."),
        click.option(
            "--smtp-user",
            help="Log in as this user; the password is read from the environment variable "
            f"{PASSWORD_ENVIRONMENT}, never from a flag.",
        ),
        click.option("--from", "sender", default="", help="The From address."),
        click.option("--to", "digest_to", multiple=True, help="Digest recipient (repeatable)."),
        click.option(
            "--resend",
            is_flag=True,
            help="Send again messages the outbox's send log says were sent already.",
        ),
        click.option(
            "--time-limit",
            type=click.FloatRange(min=1),
            default=DEFAULT_TIME_LIMIT,
            show_default=True,
            metavar="SECONDS",
            help="The longest a whole sending run may take; the rest is left for a re-run.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def report_sending(report, words: dict[str, str] | None = None) -> None:
    """One line per failure (one for all the messages a server problem stopped), then counts."""
    from xltools.words import plural

    lines: dict[str, list[str]] = {}
    for failure in report.failures:
        lines.setdefault(failure.line(words or FLAG_WORDS), []).append(failure.name)
    for line, names in lines.items():
        which = names[0] if len(names) == 1 else f"{plural(len(names), 'message')}"
        click.echo(f"not sent: {which}: {line}", err=True)
    already = f", {len(report.already_sent)} sent before" if report.already_sent else ""
    click.echo(f"sent {len(report.sent)}{already}, failed {len(report.failures)}")


@cli.command("summarise")
@click.argument("register", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--outbox",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder to write digest.* and leads/*.eml into.",
)
@click.option(
    "--leads",
    "leads_csv",
    type=click.Path(dir_okay=False),
    help="CSV of lead officers' addresses: name,email (used before any address in the plans).",
)
@click.option(
    "--packs",
    "packdir",
    type=click.Path(file_okay=False, exists=True),
    help="The update packs' folder: each lead's pack for the register's reporting date is "
    "attached to their note.",
)
@click.option(
    "--lead-due-days",
    type=click.IntRange(min=0),
    default=14,
    show_default=True,
    help="A lead's note goes when one of their actions falls due within this many days.",
)
@click.option(
    "--cadence-days",
    type=click.IntRange(min=1),
    default=None,
    metavar="DAYS",
    help="The days between runs: a lead's note then goes only when an action came within "
    "--lead-due-days or became overdue in that time (or with a pack or a reminder). "
    "Default: every run while any action is due or overdue.",
)
@smtp_options
@force_option("Write over the messages an earlier run left in OUTBOX.")
def summarise(
    register,
    outbox,
    leads_csv,
    packdir,
    lead_due_days,
    cadence_days,
    send,
    smtp_host,
    smtp_port,
    starttls,
    use_ssl,
    smtp_user,
    sender,
    digest_to,
    resend,
    time_limit,
    force,
):
    """Write the management digest and a note per lead officer from REGISTER.

    \b
    Examples:
      xltools summarise register.xlsx -o outbox/
      XLTOOLS_SMTP_PASSWORD=... xltools summarise register.xlsx -o outbox/ --send \\
        --smtp-host mail.council.gov.uk --starttls --smtp-user coordinator \\
        --from coordinator@council.gov.uk --to dmt@council.gov.uk --packs packs/

    Sending is once only: the outbox keeps a send log, and a re-run sends only
    what did not go (--resend sends again on purpose).
    """
    from pathlib import Path

    from xltools import mail, summary
    from xltools.packs import pack_notes
    from xltools.register import read_register
    from xltools.words import plural

    if starttls and use_ssl:
        raise click.UsageError("choose one of --starttls and --ssl")
    if send and not sender:
        raise click.UsageError("--send needs --from")
    refuse_overwrite(Path(outbox) / "digest.eml", force=force)
    data = read_register(register)
    packs = pack_notes(packdir, data.reporting_date) if packdir else []
    summaries = summary.summarise_to(
        data, outbox, leads_csv, sender, list(digest_to), packs, lead_due_days, cadence_days
    )
    click.echo(f"wrote {plural(len(summaries.written), 'message')} to {outbox}")
    for lead, note in zip(summaries.leads_without_address, summaries.unaddressed, strict=True):
        click.echo(
            f"no address for lead officer: {lead} (note written to print or forward: "
            f"{Path(outbox) / note.name}.html)"
        )
    for line in summaries.address_problems:
        click.echo(f"address not used: {line}")
    if send:
        settings = mail.SmtpSettings(
            smtp_host, smtp_port, mail.security_for(starttls, use_ssl), smtp_user, sender
        )
        report = mail.send(summaries.messages, settings, outbox, resend, time_limit)
        report_sending(report)
        exit_with(report.outcome)
