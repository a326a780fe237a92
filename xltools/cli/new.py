"""``xltools new``: write the standard plan workbook."""

from __future__ import annotations

import click

from xltools import model
from xltools.cli import cli, force_option, refuse_overwrite, reporting_date_option


@cli.command("new")
@click.argument("output", type=click.Path(dir_okay=False))
@click.option("--organisation", help="The council or partner whose plan this is.")
@click.option("--service", help="The service the plan covers.")
@click.option("--title", help="The plan's title.")
@click.option("--source", help="The inspection or review the plan answers.")
@click.option("--owner", help="The plan owner's name.")
@click.option("--owner-email", help="The plan owner's email address.")
@reporting_date_option("The reporting date written on the Plan sheet, YYYY-MM-DD.")
@force_option("Overwrite OUTPUT if it exists.")
def new(output, organisation, service, title, source, owner, owner_email, reporting_date, force):
    """Write a new, empty standard plan workbook to OUTPUT.

    \b
    Example:
      xltools new plan.xlsx --organisation "Salford City Council" \\
        --title "Joint Review action plan" --reporting-date 2003-11-24
    """
    from pathlib import Path

    from xltools.rules import EMAIL
    from xltools.template import write_plan

    if Path(output).suffix.lower() != ".xlsx":
        raise click.UsageError(
            f"{output} does not end in .xlsx: the plan is an Excel workbook; name it like plan.xlsx"
        )
    folder = Path(output).parent
    if not folder.is_dir():
        raise click.UsageError(
            f"the folder {folder} does not exist: create it first, or write the plan elsewhere"
        )
    if owner_email is not None and not EMAIL.match(owner_email.strip()):
        raise click.UsageError(
            f"--owner-email '{owner_email}' is not an email address: write it like "
            "a.officer@council.gov.uk"
        )
    refuse_overwrite(output, force=force)
    plan = {
        model.ORGANISATION: organisation,
        model.SERVICE: service,
        model.PLAN_TITLE: title,
        model.PLAN_SOURCE: source,
        model.PLAN_OWNER: owner,
        model.OWNER_EMAIL: owner_email,
        model.REPORTING_DATE: reporting_date,
    }
    path = write_plan(output, plan)
    click.echo(f"wrote {path}")
