"""``xltools packs``: one update pack per lead officer, with only their open actions."""

from __future__ import annotations

import click

from xltools.cli import cli, exit_with, parse_date, reporting_date_option


@cli.command("packs")
@click.argument("inbox", type=click.Path(file_okay=False))
@click.option(
    "-o",
    "--output",
    "packdir",
    required=True,
    type=click.Path(file_okay=False),
    help="The pack folder (outside the inbox): packs go in a folder per reporting date, "
    "and the ledger beside them.",
)
@reporting_date_option()
@click.option(
    "--reply-by",
    callback=parse_date,
    metavar="YYYY-MM-DD",
    help="The date leads should reply by (default: a week after the reporting date).",
)
@click.option(
    "--leads",
    "leads_csv",
    type=click.Path(dir_okay=False),
    help="CSV of lead officers (name,email): each lead's address, kept in the ledger.",
)
def packs(inbox, packdir, reporting_date, reply_by, leads_csv):
    """Write one update pack per lead officer from the plans under INBOX.

    Each pack holds the lead's open actions from every plan, pre-filled; Status,
    Progress update, Evidence and Last updated are editable, the rest locked;
    Proposed due date and Reason ask for more time. 'xltools merge' reads the
    returned packs back. Exit status: 0 packs written, 1 written but some plans
    could not be read, 2 could not run.

    \b
    Example:
      xltools packs inbox/ -o packs/ --reporting-date 2003-11-24 --reply-by 2003-11-28
    """
    from xltools.packs import write_packs
    from xltools.summary import read_leads_csv
    from xltools.words import plural

    leads = read_leads_csv(leads_csv) if leads_csv else {}
    run = write_packs(inbox, packdir, reporting_date, reply_by, leads)
    for path, reason in run.problems:
        click.echo(f"problem: {path}: {reason}")
    for pack in run.packs:
        click.echo(
            f"{pack.path}: {pack.lead}, {plural(pack.rows, 'action')} from "
            f"{plural(pack.plans, 'plan')}"
        )
    if run.without_lead:
        click.echo(
            f"warning: {plural(run.without_lead, 'open action')} without a lead officer", err=True
        )
    click.echo(
        f"wrote {plural(len(run.packs), 'pack')}, reply by {run.reply_by:%d/%m/%Y}; "
        f"ledger in {packdir}"
    )
    exit_with(run.outcome)
