"""``xltools summarise``: email-ready summaries of a register, optionally sent."""

from __future__ import annotations

import click

from xltools.cli import cli, exit_with, force_option, refuse_overwrite
from xltools.mail import PASSWORD_ENVIRONMENT, PLAIN, SSL, default_port


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
    ]
    for option in reversed(options):
        function = option(function)
    return function


def report_sending(report) -> None:
    for name, reason in report.failed:
        click.echo(f"failed: {name}: {reason}", err=True)
    click.echo(f"sent {len(report.sent)}, failed {len(report.failed)}")


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
    help="CSV of lead officers' addresses: name,email.",
)
@smtp_options
@force_option("Write over the messages an earlier run left in OUTBOX.")
def summarise(
    register,
    outbox,
    leads_csv,
    send,
    smtp_host,
    smtp_port,
    starttls,
    use_ssl,
    smtp_user,
    sender,
    digest_to,
    force,
):
    """Write the management digest and a note per lead officer from REGISTER.

    \b
    Examples:
      xltools summarise register.xlsx -o outbox/
      XLTOOLS_SMTP_PASSWORD=... xltools summarise register.xlsx -o outbox/ --send \\
        --smtp-host mail.council.gov.uk --starttls --smtp-user coordinator \\
        --from coordinator@council.gov.uk --to dmt@council.gov.uk
    """
    from pathlib import Path

    from xltools import mail, summary
    from xltools.words import plural

    if starttls and use_ssl:
        raise click.UsageError("choose one of --starttls and --ssl")
    if send and not sender:
        raise click.UsageError("--send needs --from")
    refuse_overwrite(Path(outbox) / "digest.eml", force=force)
    summaries = summary.summarise_to(register, outbox, leads_csv, sender, list(digest_to))
    click.echo(f"wrote {plural(len(summaries.written), 'message')} to {outbox}")
    for lead, note in zip(summaries.leads_without_address, summaries.unaddressed, strict=True):
        click.echo(
            f"no address for lead officer: {lead} (note written to print or forward: "
            f"{Path(outbox) / note.name}.html)"
        )
    if send:
        settings = mail.SmtpSettings(
            smtp_host, smtp_port, mail.security_for(starttls, use_ssl), smtp_user, sender
        )
        report = mail.send(summaries.messages, settings)
        report_sending(report)
        exit_with(report.outcome)
