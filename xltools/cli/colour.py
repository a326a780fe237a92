"""``xltools colour``: add or refresh live status colouring on an edited workbook."""

from __future__ import annotations

import click

from xltools.cli import cli, force_option, refuse_overwrite


@cli.command("colour")
@click.argument("source", type=click.Path(dir_okay=False))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write the coloured copy here."
)
@click.option("--in-place", is_flag=True, help="Change SOURCE itself (a backup copy is kept).")
@force_option("Overwrite OUTPUT if it exists, and colour even if parts are lost.")
def colour(source, output, in_place, force):
    """Add or refresh the status colouring of SOURCE's Actions sheet.

    Columns are found by their headings, so reordered, extra and inserted
    columns and rows are fine. Running it again replaces the colouring; it
    never adds a second set.

    \b
    Examples:
      xltools colour returned/plan.xlsx -o coloured/plan.xlsx
      xltools colour plan.xlsx --in-place
    """
    from xltools.colour import colour_workbook

    if in_place == bool(output):
        raise click.UsageError("give either -o OUTPUT or --in-place")
    refuse_overwrite(output, force=force)
    from xltools.errors import UnsafeToEdit

    try:
        result = colour_workbook(source, output, in_place=in_place, force=force)
    except UnsafeToEdit as error:
        error.message += ", or use --force to colour it anyway and lose them"
        raise
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if result.backup:
        click.echo(f"backup kept at {result.backup}")
    click.echo(
        f"coloured {result.output}: {result.rules_added} rules on rows {result.rows}"
        + (f" ({result.rules_removed} earlier rules replaced)" if result.rules_removed else "")
        + (
            f"; {result.dropdowns_extended} dropdowns and checks extended to match"
            if result.dropdowns_extended
            else ""
        )
    )
